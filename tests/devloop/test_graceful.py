"""devtools/graceful.py: a stop reaches the command's main process alone, and its status is passed on."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# A main process with a child in its process group: on SIGTERM the main one says whether its child
# is still alive (a group-wide signal would have killed it), then exits 3.
MAIN = """
import signal, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
def stop(signum, frame):
    time.sleep(0.2)
    print("child alive" if child.poll() is None else "child killed", flush=True)
    child.kill()
    sys.exit(3)
signal.signal(signal.SIGTERM, stop)
print("ready", flush=True)
time.sleep(60)
"""


def test_a_group_wide_sigterm_reaches_only_the_main_process_which_stops_its_children_itself() -> None:
    wrapper = subprocess.Popen(
        [sys.executable, "-m", "devtools.graceful", sys.executable, "-c", MAIN],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True,
    )
    assert wrapper.stdout is not None
    assert wrapper.stdout.readline().strip() == "ready"
    # What honcho does to stop a Procfile process: signal its whole process group.
    subprocess.run(["kill", "-TERM", "--", f"-{wrapper.pid}"], check=True)
    assert wrapper.wait(timeout=30) == 3
    assert wrapper.stdout.read().strip() == "child alive"


def test_a_command_killed_by_a_signal_exits_as_a_shell_reports_it() -> None:
    wrapper = subprocess.Popen(
        [sys.executable, "-m", "devtools.graceful", sys.executable, "-c", "import time; time.sleep(60)"],
        cwd=ROOT, start_new_session=True,
    )
    time.sleep(1)
    wrapper.send_signal(signal.SIGTERM)
    assert wrapper.wait(timeout=30) == 128 + signal.SIGTERM
