"""The `make run` stack boots: web answers, worker and beat start, mail gets caught.

Pure subprocesses, each in its own process group, against a temporary SQLite
file and a temporary filesystem-broker folder: no pytest-django database, so
it runs beside the rest of the suite under xdist and on any DATABASE_URL.
"""
from __future__ import annotations

import contextlib
import http.client
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
BOOT_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


class Stack:
    """Starts the stack's processes with one environment and stops them all, whatever happened."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.env = {
            **os.environ,
            "NUDGE_VAR_DIR": str(tmp),
            "DJANGO_DEBUG": "1",
            "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
            # The default embedded broker, whatever the suite itself runs on.
            "CELERY_BROKER_URL": "filesystem://",
            "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("CELERY_BROKER_DIR", None)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def manage(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout, check=False,
        )
        assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return result

    def start(self, name: str, *args: str) -> None:
        with self.log_path(name).open("wb") as log:
            self.processes[name] = subprocess.Popen(
                [sys.executable, *args],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )

    def log_path(self, name: str) -> Path:
        return self.tmp / f"{name}.log"

    def log(self, name: str) -> str:
        return self.log_path(name).read_text(errors="replace")

    def wait_until(self, what: str, condition: Callable[[], bool]) -> None:
        """Poll `condition` for up to BOOT_TIMEOUT seconds, failing early if a process died."""
        deadline = time.monotonic() + BOOT_TIMEOUT
        while time.monotonic() < deadline:
            if condition():
                return
            for name, process in self.processes.items():
                if process.poll() is not None:
                    pytest.fail(f"{name} exited with {process.returncode} before {what}:\n{self.log(name)}")
            time.sleep(0.25)
        logs = "\n".join(f"--- {name}\n{self.log(name)}" for name in self.processes)
        pytest.fail(f"timed out after {BOOT_TIMEOUT:.0f}s waiting until {what}\n{logs}")

    def stop(self) -> None:
        """SIGTERM each process (a worker shuts its pool down warmly), then SIGKILL what is left of its group."""
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(STOP_TIMEOUT)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_status(port: int, path: str) -> int | None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    (tmp_path / "broker" / "queue").mkdir(parents=True)
    (tmp_path / "broker" / "control").mkdir(parents=True)
    stack = Stack(tmp_path)
    try:
        yield stack
    finally:
        stack.stop()


def test_the_local_stack_boots_serves_the_login_page_runs_a_task_and_catches_mail(stack: Stack) -> None:
    web_port, mail_port = free_port(), free_port()
    stack.env["SITE_URL"] = f"http://127.0.0.1:{web_port}"
    stack.manage("migrate", "--noinput")
    stack.manage("seed_demo")

    stack.start("web", "manage.py", "runserver", "--noreload", f"127.0.0.1:{web_port}")
    stack.start("worker", "-m", "celery", "-A", "config", "worker", "-l", "info", "--concurrency", "1")
    stack.start(
        "beat", "-m", "celery", "-A", "config", "beat", "-l", "info",
        "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler",
    )
    mail_dir = stack.tmp / "mail"
    stack.start("mail", "-m", "devtools.mailcatcher", "--port", str(mail_port), "--dir", str(mail_dir))

    # The product's /login/ page once it exists, the admin's until then.
    stack.wait_until("the login page answers 200", lambda: 200 in {http_status(web_port, "/login/"),
                                                                   http_status(web_port, "/admin/login/")})
    stack.wait_until("the worker is ready", lambda: " ready." in stack.log("worker"))
    stack.wait_until("beat starts", lambda: "beat: Starting..." in stack.log("beat"))

    # A task sent through the on-disk broker reaches the worker and runs.
    sent = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "config", "call", "celery.backend_cleanup"],
        cwd=ROOT, env=stack.env, capture_output=True, text=True, timeout=60, check=True,
    )
    task_id = sent.stdout.strip()
    stack.wait_until("the worker runs the task", lambda: f"[{task_id}] succeeded" in stack.log("worker"))

    # Demo mailboxes log in with a username and password, without TLS.
    stack.wait_until("the mail catcher listens", lambda: "listening on" in stack.log("mail"))
    message = EmailMessage()
    message["From"] = "rep@demo.test"
    message["To"] = "lead@example.test"
    message["Subject"] = "Quick question"
    message.set_content("Hi there")
    with smtplib.SMTP("127.0.0.1", mail_port, timeout=10) as smtp:
        smtp.login("rep@demo.test", "any password")
        smtp.send_message(message)
    caught = list(mail_dir.glob("*.eml"))
    assert len(caught) == 1
    assert "Subject: Quick question" in caught[0].read_text()
    assert "subject='Quick question'" in stack.log("mail")
