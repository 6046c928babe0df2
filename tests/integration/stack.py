"""A Nudge stack in subprocesses — Celery worker and beat on their own database and broker queue —
plus a scriptable SMTP server in this process, for the process tests.

Under `make test` the database is a SQLite file and the broker kombu's
on-disk transport; when DATABASE_URL / CELERY_BROKER_URL point at PostgreSQL
and Redis (the second run of .ci/run), the stack gets a fresh PostgreSQL
database and its own Redis queue.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email import policy as email_policy
from email.message import Message
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    message: Message
    at: float
    rcpt: str


@dataclass
class RecordingHandler:
    """The receiving mail server: keeps what it accepted; some addresses and logins get scripted answers."""

    received: list[Received] = field(default_factory=list)
    temp_failures: dict[str, int] = field(default_factory=lambda: {"tempfail@acme.example": 1})
    refused_logins: set[str] = field(default_factory=lambda: {"authfail@nudge.example"})
    delay: float = 0.0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.startswith("permfail@"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        rcpt = envelope.rcpt_tos[0]
        if self.temp_failures.get(rcpt, 0) > 0:
            self.temp_failures[rcpt] -= 1
            return "451 4.3.0 Please try again later"
        if self.delay:
            await asyncio.sleep(self.delay)
        parsed = message_from_bytes(envelope.content, policy=email_policy.default)
        self.received.append(Received(parsed, time.time(), rcpt))
        return "250 2.0.0 Ok: queued"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        login = auth_data.login.decode() if hasattr(auth_data, "login") else ""
        return AuthResult(success=login not in self.refused_logins, handled=False)

    def message_ids(self) -> list[str]:
        return [item.message["Message-ID"] for item in self.received]

    def to(self, address: str) -> list[Received]:
        return [item for item in self.received if item.rcpt == address]


class MailServer:
    def __init__(self) -> None:
        self.handler = RecordingHandler()
        self.port = free_port()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=self.handler.authenticate,
            auth_require_tls=False,
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


class Stack:
    def __init__(self, tmp: Path, **settings: str) -> None:
        self.tmp = tmp
        self.env = {**os.environ, "NUDGE_VAR_DIR": str(tmp), "DJANGO_DEBUG": "0", "PYTHONUNBUFFERED": "1"}
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        self.database = None
        if os.environ.get("DATABASE_URL", "").startswith("postgres"):
            base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
            self.database = f"nudge_proc_{uuid.uuid4().hex[:10]}"
            self._psql(base, f'CREATE DATABASE "{self.database}"')
            self.env["DATABASE_URL"] = f"{base}/{self.database}"
        else:
            self.env["DATABASE_URL"] = f"sqlite:///{tmp / 'stack.sqlite3'}"
        self.env["CELERY_QUEUE"] = f"nudge-test-{uuid.uuid4().hex[:10]}"
        self.env.update(settings)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: dict[str, Path] = {}
        self.kills = 0

    def _psql(self, base: str, sql: str) -> None:
        import psycopg

        with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
            connection.execute(sql)

    def manage(self, *args: str, timeout: float = 180) -> str:
        result = subprocess.run(
            [PYTHON, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def scenario(self, *args: str, timeout: float = 300) -> dict[str, Any]:
        result = subprocess.run(
            [PYTHON, "-m", "tests.integration.scenario", *args], cwd=ROOT, env=self.env, capture_output=True,
            text=True, timeout=timeout, check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return json.loads(result.stdout.strip().splitlines()[-1])

    def start(self, name: str) -> None:
        commands = {
            "worker": ["-m", "celery", "-A", "config", "worker", "-l", "info", "--concurrency", "1",
                       "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{name}@%h"],
            "beat": ["-m", "celery", "-A", "config", "beat", "-l", "info",
                     "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler",
                     "--schedule", str(self.tmp / "beat-schedule")],
        }
        log = self.tmp / f"{name}.log"
        self.logs[name] = log
        handle = open(log, "ab")  # noqa: SIM115  (owned by the process, closed with it)
        self.processes[name] = subprocess.Popen(
            [PYTHON, *commands[name]], cwd=ROOT, env=self.env, stdout=handle, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self, name: str) -> None:
        """SIGKILL the process and its children (a worker's pool) at once, as a crash would."""
        process = self.processes.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        self.kills += name == "worker"

    def stop(self) -> None:
        for name in list(self.processes):
            process = self.processes.pop(name)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=15)
            # Whatever is left of the group (a worker's pool child outliving its parent) goes too.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)
        if self.database:
            base = self.env["DATABASE_URL"].rsplit("/", 1)[0]
            self._psql(base, f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.logs.get(name)
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path and path.exists() else ""

    def wait_for(self, condition: Callable[[], Any], *, timeout: float, every: float = 1.0, what: str = "") -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(every)
        raise AssertionError(
            f"timed out waiting for {what or condition}\n--- worker ---\n{self.log_tail('worker')}"
            f"\n--- beat ---\n{self.log_tail('beat')}"
        )


FAST = {
    "SCHEDULER_TICK_SECONDS": "1",
    "SCHEDULER_CLAIM_LEASE_SECONDS": "5",
    "SEND_LEASE_SECONDS": "15",
    "SMTP_RETRY_BASE_SECONDS": "1",
}
