"""An aiosmtpd server that accepts everything (AUTH accepted too) and logs each message as it arrives.

Run by the benchmarks in its own process, so the receiving side never
competes for the sender's GIL:

    .venv/bin/python benchmarks/smtp_sink.py --port 2525 --log /tmp/sink.log

Each accepted message appends one line, `<unix time accepted> <Message-ID>`,
to the log (line-buffered, so a reader sees it at once).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import signal
import time
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult

MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)


class Handler:
    def __init__(self, log: Any) -> None:
        self.log = log

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content: bytes = envelope.content
        head = content[: content.find(b"\r\n\r\n")]
        found = MESSAGE_ID.search(head)
        message_id = found.group(1).decode(errors="replace") if found else "-"
        self.log.write(f"{time.time():.6f} {message_id}\n")
        return "250 2.0.0 Ok: queued"


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    return AuthResult(success=True)


async def main(port: int, log_path: str) -> None:
    with open(log_path, "a", buffering=1) as log:
        handler = Handler(log)
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(handler, authenticator=authenticate, auth_require_tls=False, hostname="sink.local"),
            host="127.0.0.1",
            port=port,
        )
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        async with server:
            await stop.wait()


if __name__ == "__main__":
    # aiosmtpd logs a deprecation warning on every AUTH (about an API it uses itself): a line per login.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    asyncio.run(main(args.port, args.log))
