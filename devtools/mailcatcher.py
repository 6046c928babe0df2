"""A local SMTP server that accepts every message and keeps it as an .eml file.

`make run` starts it beside web, worker and beat so that demo mailboxes and
system mail have somewhere to send on loopback; open the files with any mail
client or read them as text. Run alone with `make catcher` or::

    python -m devtools.mailcatcher [--host 127.0.0.1] [--port $MAIL_CATCHER_PORT or 1025] [--dir var/mail]

It takes mail with or without AUTH: PLAIN and LOGIN succeed with any
credentials and without TLS, because demo mailboxes carry usernames and
passwords. Never expose it beyond loopback.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import uuid
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

log = logging.getLogger("mailcatcher")

DEFAULT_DIR = Path(os.environ.get("NUDGE_VAR_DIR", Path(__file__).resolve().parent.parent / "var")) / "mail"


class SaveToFolder:
    """aiosmtpd handler: write each message to `<folder>/<UTC timestamp>-<uuid>.eml`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content: bytes = envelope.original_content or b""
        # The envelope is not in the message (Bcc recipients, bounce address), so
        # keep it in front as headers, as a delivering MTA adds Return-Path.
        recipients = ", ".join(envelope.rcpt_tos)
        header = f"X-Envelope-From: <{envelope.mail_from}>\r\nX-Envelope-To: {recipients}\r\n".encode()
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S.%fZ}-{uuid.uuid4().hex}.eml"
        path = self.folder / name
        # Write then rename, so a reader polling the folder never sees half a message.
        partial = path.with_suffix(".part")
        partial.write_bytes(header + content)
        partial.replace(path)
        subject = message_from_bytes(content, policy=policy.default).get("Subject", "")
        log.info("caught from=%s to=%s subject=%r -> %s", envelope.mail_from, recipients, subject, path)
        return "250 Message accepted for delivery"


def accept_any_login(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: object
) -> AuthResult:
    return AuthResult(success=True)


def smtp_factory(handler: SaveToFolder) -> SMTP:
    return SMTP(
        handler,
        enable_SMTPUTF8=True,
        auth_require_tls=False,
        authenticator=accept_any_login,
        loop=asyncio.get_running_loop(),
    )


async def serve(host: str, port: int, folder: Path) -> None:
    """Listen until SIGINT or SIGTERM."""
    folder.mkdir(parents=True, exist_ok=True)
    handler = SaveToFolder(folder)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: smtp_factory(handler), host=host, port=port)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    log.info("listening on %s:%d, saving .eml files to %s", host, port, folder.resolve())
    async with server:
        await stop.wait()
    log.info("stopped")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("MAILCATCHER_HOST", "127.0.0.1"))
    # The same variable as config/settings.py's MAIL_CATCHER_PORT, where seed_demo's mailboxes send.
    parser.add_argument("--port", type=int, default=int(os.environ.get("MAIL_CATCHER_PORT", "1025")))
    parser.add_argument("--dir", type=Path, default=Path(os.environ.get("MAILCATCHER_DIR", DEFAULT_DIR)))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # aiosmtpd logs every SMTP command at INFO and a deprecation warning on every
    # AUTH it performs itself; one line per caught message is what a developer wants.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    asyncio.run(serve(args.host, args.port, args.dir))


if __name__ == "__main__":
    main()
