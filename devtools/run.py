"""`make run`'s process manager: honcho running Procfile.dev, with time for a warm shutdown.

On Ctrl-C honcho sends SIGTERM to every process and SIGKILLs what is left
after 5 seconds. A Celery worker on the on-disk broker needs longer for its
warm shutdown (it notices the signal at its next 2-second poll of the broker
folder, then closes its pool and connections: 5–10 s in all), so it would be
killed mid-shutdown. Here the wait is STOP_GRACE_SECONDS, and a stop asked
for with Ctrl-C or SIGTERM exits 0, not 130 or 143: it is how `make run`
ends, not an error (`make: *** [run] Error 130`).
"""
from __future__ import annotations

import sys

from honcho import manager
from honcho.command import main as honcho_main

STOP_GRACE_SECONDS = 30
# honcho's exit statuses when it was stopped by SIGINT or SIGTERM.
ASKED_TO_STOP = {manager.SIGNALS[signum]["rc"] for signum in manager.SIGNALS}


def main(argv: list[str] | None = None) -> None:
    manager.KILL_WAIT = STOP_GRACE_SECONDS
    try:
        honcho_main(["start", "-f", "Procfile.dev", *(sys.argv[1:] if argv is None else argv)])
    except SystemExit as stop:
        sys.exit(0 if stop.code in ASKED_TO_STOP else stop.code)


if __name__ == "__main__":
    main()
