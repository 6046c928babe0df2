"""Run a command so that stopping it reaches its main process only.

honcho (`make run`) stops a Procfile process by signalling its whole process
group. A Celery worker's pool processes are in that group, so they die at
once ("Process 'ForkPoolWorker-1' exited with 'signal 15 (SIGTERM)'") while
the main process is still asking them to finish their tasks — no warm
shutdown, and honcho SIGKILLs the worker five seconds later. Here the command
runs in a process group of its own; SIGINT and SIGTERM are passed to its main
process alone, which then stops its children as it would under docker or
systemd, and the command's exit status becomes this one's. If this wrapper is
killed outright, Linux sends the command SIGTERM (PR_SET_PDEATHSIG), so no
worker outlives `make run`::

    python -m devtools.graceful celery -A config worker -l info
"""
from __future__ import annotations

import ctypes
import ctypes.util
import signal
import subprocess
import sys
from types import FrameType

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the wrapper dies (Linux; elsewhere nothing happens)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def run(command: list[str]) -> int:
    child = subprocess.Popen(command, process_group=0, preexec_fn=_die_with_parent)

    def forward(signum: int, frame: FrameType | None) -> None:
        child.send_signal(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, forward)
    return child.wait()


def main(argv: list[str] | None = None) -> None:
    command = sys.argv[1:] if argv is None else argv
    if not command:
        sys.exit(f"usage: python -m {__spec__.name if __spec__ else 'devtools.graceful'} COMMAND [ARG ...]")
    status = run(command)
    # A command killed by a signal reports -N; a shell would say 128+N.
    sys.exit(128 - status if status < 0 else status)


if __name__ == "__main__":
    main()
