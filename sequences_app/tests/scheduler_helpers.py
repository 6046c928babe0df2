"""A scriptable SMTP server on loopback and a way to drive the scheduler in-process."""
from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from sequences_app.scheduling.dispatch import TickReport, scheduler_tick
from sequences_app.scheduling.runner import enrollments_run_steps
from sequences_app.scheduling.sender import messages_send
from sequences_app.tasks import task_reminders


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ScriptedHandler:
    """Accepts mail and remembers it; `replies` (FIFO) override the answer to DATA, e.g. "451 try later"."""

    received: list[Message] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    refuse_login: bool = False
    # The SMTP sessions that tried to log in (kept, so each is counted once even if it tried several mechanisms).
    login_sessions: list[Any] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.replies:
            return self.replies.pop(0)
        self.received.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 2.0.0 Ok: queued"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        if not any(seen is session for seen in self.login_sessions):
            self.login_sessions.append(session)
        return AuthResult(success=not self.refuse_login, handled=False)

    def message_ids(self) -> list[str]:
        return [message["Message-ID"] for message in self.received]


@dataclass
class Mailserver:
    host: str
    port: int
    handler: ScriptedHandler
    controller: Controller


def start_mailserver() -> Mailserver:
    handler = ScriptedHandler()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=handler.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    return Mailserver("127.0.0.1", port, handler, controller)


def run_scheduler(now: datetime | None = None, *, rounds: int = 5) -> list[TickReport]:
    """Ticks in-process (as beat and workers would) until a tick finds nothing to do."""
    reports = []
    for _ in range(rounds):
        report = scheduler_tick(
            now=now,
            run_steps=lambda pairs: [
                messages_send(batch, now=now) for batch in enrollments_run_steps(pairs, now=now)["batches"]
            ],
            send_messages=lambda ids: messages_send(ids, now=now),
            send_reminders=lambda ids: task_reminders.apply(args=[ids]),
        )
        reports.append(report)
        if not (report.steps or report.messages or report.unknown or report.resumed):
            break
    return reports


def mailserver_fixture() -> Iterator[Mailserver]:
    server = start_mailserver()
    try:
        yield server
    finally:
        server.controller.stop()
