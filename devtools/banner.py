"""The last thing `make run` prints: where Nudge is and how to log in.

A Procfile process of its own: it waits until the web server answers, a
worker answers a ping and the mail catcher listens, so the start-up chatter
of web, worker and beat is above it; then it prints the address, the demo
logins and where caught mail goes, and waits to be stopped. With the ticks'
routine lines at DEBUG (config/logs.py) nothing else is printed until
something happens, so the banner stays on screen.
"""
from __future__ import annotations

import os
import signal
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable

STARTUP_TIMEOUT = 120.0


def web_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own loopback URL)
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def port_listens(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def worker_answers() -> bool:
    from config.celery import app

    return bool(app.control.ping(timeout=1.0))


def wait_for(checks: dict[str, Callable[[], bool]], timeout: float) -> list[str]:
    """Poll each check until it passes or `timeout` runs out; returns what never answered."""
    deadline = time.monotonic() + timeout
    waiting = dict(checks)
    while waiting and time.monotonic() < deadline:
        waiting = {name: check for name, check in waiting.items() if not check()}
        if waiting:
            time.sleep(0.5)
    return list(waiting)


def banner(*, site_url: str, logins: list[str], password: str, mail_port: int, mail_dir: str,
           missing: list[str]) -> str:
    lines = [
        "",
        "=" * 64,
        f"  Nudge is running at  {site_url}/",
        f"  Log in as            {', '.join(logins)} (password {password})",
        f"  Caught mail          {mail_dir}/ (the catcher listens on 127.0.0.1:{mail_port})",
        "  Ctrl-C stops everything.",
    ]
    if missing:
        lines.append(f"  Not answering yet:   {', '.join(missing)} (see its lines above)")
    lines += ["=" * 64, ""]
    return "\n".join(lines)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings

    from accounts_app.management.commands.seed_demo import DEMO_PASSWORD, MAIL_CATCHER_HOST, USERS

    # Stopping is normal: honcho sends SIGTERM to every process when one stops or on Ctrl-C.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    signal.signal(signal.SIGINT, lambda signum, frame: sys.exit(0))
    missing = wait_for(
        {
            "web": lambda: web_answers(f"{settings.SITE_URL}/login/"),
            "worker": worker_answers,
            "mail catcher": lambda: port_listens(MAIL_CATCHER_HOST, settings.MAIL_CATCHER_PORT),
        },
        STARTUP_TIMEOUT,
    )
    # The web server logs the check's request just after answering it: let that line go first.
    time.sleep(1)
    print(
        banner(
            site_url=settings.SITE_URL,
            logins=[username for username, *_ in USERS],
            password=DEMO_PASSWORD,
            mail_port=settings.MAIL_CATCHER_PORT,
            mail_dir=str(settings.VAR_DIR.resolve() / "mail"),
            missing=missing,
        ),
        flush=True,
    )
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
