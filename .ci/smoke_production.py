"""Production-shape smoke run: what `pip install -r requirements.txt` alone (the Dockerfile) can run.

Run with the Python of a fresh virtualenv that has only requirements.txt, from
the repository root, with DATABASE_URL (an empty PostgreSQL database) and
CELERY_BROKER_URL (a Redis database nobody else uses) set:
1. `migrate` (which also installs beat's periodic tasks);
2. gunicorn, a Celery worker and beat, each its own process group;
3. through the REST API: an admin creates a rep with a seat, the rep connects
   a mailbox on an SMTP server on loopback (aiosmtpd, in this process) and
   verifies it (a task the worker runs), creates a contact and a sequence, and enrolls the contact;
4. the email must reach the SMTP server within DEADLINE seconds.
Exits non-zero, with the processes' logs, on any failure; stops what it started.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
DEADLINE = 60.0
PASSWORD = "Smoke-Run-Passw0rd-42"  # noqa: S105  (a throwaway database's users)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Catcher:
    """An SMTP server's handler that keeps what it received."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((list(envelope.rcpt_tos), envelope.content))
        return "250 2.0.0 Ok: queued"


class Api:
    def __init__(self, base: str) -> None:
        self.base = base
        self.token = ""

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, *, expect: int = 200) -> Any:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        request = urllib.request.Request(  # noqa: S310  (http on loopback)
            self.base + path, method=method, data=json.dumps(body).encode() if body is not None else None,
            headers=headers,
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  (http on loopback)
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode()
        if status != expect:
            raise SystemExit(f"{method} {path}: expected {expect}, got {status}: {text[:2000]}")
        return json.loads(text) if text else None

    def login(self, username: str) -> None:
        self.token = ""
        self.token = self.call("POST", "/api/v1/auth/token/", {"username": username, "password": PASSWORD})["token"]


def main() -> int:
    for name in ("DATABASE_URL", "CELERY_BROKER_URL"):
        if not os.environ.get(name):
            raise SystemExit(f"{name} must be set")
    tmp = Path(tempfile.mkdtemp(prefix="nudge-smoke-"))
    web_port, smtp_port = free_port(), free_port()
    env = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "SECRET_KEY": "smoke-run-" + os.urandom(16).hex(),
        # Outside DEBUG settings refuse to start without these too (nothing is derived from SECRET_KEY).
        "FIELD_ENCRYPTION_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "LINK_SIGNING_KEYS": "smoke-links-" + os.urandom(16).hex(),
        "NUDGE_VAR_DIR": str(tmp),
        "SITE_URL": f"http://127.0.0.1:{web_port}",
        "SCHEDULER_TICK_SECONDS": "1",
        # The test's SMTP server is on loopback, which production refuses by default.
        "MAILBOX_ALLOW_PRIVATE_HOSTS": "1",
        # Queue names of its own: another stack on the same Redis must not take these tasks.
        "CELERY_QUEUE": f"smoke-{os.getpid()}",
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    python = sys.executable
    processes: dict[str, subprocess.Popen[bytes]] = {}
    catcher = Catcher()
    controller = Controller(catcher, hostname="127.0.0.1", port=smtp_port)
    controller.start()

    def run(*args: str) -> None:
        result = subprocess.run([python, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        if result.returncode:
            raise SystemExit(f"{' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")

    def start(name: str, *args: str) -> None:
        log = (tmp / f"{name}.log").open("wb")
        processes[name] = subprocess.Popen(
            [python, *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def logs() -> str:
        return "\n".join(
            f"--- {name} ---\n" + "\n".join((tmp / f"{name}.log").read_text(errors="replace").splitlines()[-40:])
            for name in processes
        )

    try:
        started = time.monotonic()
        run("manage.py", "migrate", "--noinput", "-v", "0")
        run("manage.py", "createsuperuser", "--noinput", "--username", "smoke-admin", "--email", "admin@smoke.example")
        start("web", "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{web_port}", "--workers", "1")
        start("worker", "-m", "celery", "-A", "config", "worker", "-l", "info", "--concurrency", "1",
              "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"smoke-{os.getpid()}@%h")
        start("beat", "-m", "celery", "-A", "config", "beat", "-l", "info",
              "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler", "--schedule", str(tmp / "beat"))

        api = Api(f"http://127.0.0.1:{web_port}")
        for _ in range(60):
            if any(process.poll() is not None for process in processes.values()):
                raise SystemExit("a process exited at start:\n" + logs())
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", web_port), timeout=1).close()
                break
            time.sleep(0.5)
        api.login("smoke-admin")
        api.call("POST", "/api/v1/users/", {
            "username": "smoke-rep", "email": "rep@smoke.example", "first_name": "Sam", "last_name": "Smoke",
            "password": PASSWORD, "seat": {"hub": "sales", "tier": "professional"},
        }, expect=201)
        api.login("smoke-rep")
        mailbox = api.call("POST", "/api/v1/mailboxes/", {
            "email": "rep@smoke.example", "smtp_host": "127.0.0.1", "smtp_port": smtp_port, "smtp_security": "none",
        }, expect=201)
        api.call("POST", f"/api/v1/mailboxes/{mailbox['id']}/verify/", expect=202)  # a task on the worker
        deadline = time.monotonic() + DEADLINE
        while (verified := api.call("GET", f"/api/v1/mailboxes/{mailbox['id']}/verify/"))["status"] != "connected":
            if time.monotonic() > deadline:
                raise SystemExit(f"the mailbox did not connect within {DEADLINE:.0f} s: {verified}\n" + logs())
            time.sleep(0.5)
        contact = api.call("POST", "/api/v1/contacts/", {"email": "ada@customer.example", "first_name": "Ada"},
                           expect=201)
        sequence = api.call("POST", "/api/v1/sequences/", {
            "name": "Smoke", "steps": [{"order": 1, "type": "automated_email", "delay_days": 0,
                                        "subject": "Hello {{ contact.first_name }}", "body_html": "<p>Hi</p>"}],
        }, expect=201)
        enrolled = api.call("POST", f"/api/v1/sequences/{sequence['id']}/enrollments/",
                            {"contacts": [contact["id"]], "time_zone": "UTC"}, expect=201)
        if enrolled["rejected"] or len(enrolled["enrolled"]) != 1:
            raise SystemExit(f"the enrollment was refused: {enrolled}")

        deadline = time.monotonic() + DEADLINE
        while not catcher.received:
            if time.monotonic() > deadline:
                raise SystemExit(f"no email reached the SMTP server within {DEADLINE:.0f} s:\n" + logs())
            if any(process.poll() is not None for process in processes.values()):
                raise SystemExit("a process died:\n" + logs())
            time.sleep(0.5)
        [(recipients, content)] = catcher.received
        if recipients != ["ada@customer.example"] or b"Subject: Hello Ada" not in content:
            raise SystemExit(f"unexpected email to {recipients}:\n{content[:2000]!r}")
        print(f"smoke run: the enrollment's email arrived; {time.monotonic() - started:.0f} s in all")
        return 0
    finally:
        for process in processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=15)
            # Whatever is left of the group (a worker's pool child outliving its parent) goes too.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        controller.stop()


if __name__ == "__main__":
    sys.exit(main())
