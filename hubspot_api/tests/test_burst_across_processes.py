"""The burst limit holds across web processes: two gunicorn servers on one database share each token's count."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from tests.integration.stack import PYTHON, ROOT, Stack, free_port

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("processes")]

LIMIT = 6
MAKE_TOKEN = """
from accounts_app.models import User
from accounts_app.private_apps import private_app_create
user = User.objects.create(username="integrator", email="integrator@nudge.example")
print(private_app_create(user=user, name="Sync", scopes=["automation.sequences.read"])[1], user.pk)
"""


def _get(url: str, token: str) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 (http://127.0.0.1 only)
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def _answers(url: str) -> bool:
    try:
        return _get(url, "none")[0] == 401
    except urllib.error.URLError:
        return False


@pytest.fixture
def two_web_processes(tmp_path):
    stack = Stack(tmp_path, PRIVATE_APP_BURST_LIMIT=str(LIMIT), PRIVATE_APP_BURST_INTERVAL_SECONDS="600")
    stack.manage("migrate", "--noinput", "-v", "0")
    token, user_id = stack.manage("shell", "-c", MAKE_TOKEN).strip().splitlines()[-1].split()
    ports = [free_port(), free_port()]
    servers = [
        subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1"],
            cwd=ROOT, env=stack.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        for port in ports
    ]
    try:
        for port in ports:
            deadline = time.monotonic() + 60
            while not _answers(f"http://127.0.0.1:{port}/automation/v4/sequences"):
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.3)
        yield token, user_id, ports
    finally:
        for server in servers:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        stack.stop()


def test_two_web_processes_share_one_tokens_burst_count(two_web_processes):
    token, user_id, ports = two_web_processes
    answers = [
        _get(f"http://127.0.0.1:{ports[n % 2]}/automation/v4/sequences?userId={user_id}", token)
        for n in range(LIMIT + 2)
    ]
    assert [status for status, _ in answers] == [200] * LIMIT + [429, 429]
    assert [headers["X-HubSpot-RateLimit-Remaining"] for _, headers in answers] == [
        str(LIMIT - 1 - n) for n in range(LIMIT)
    ] + ["0", "0"]
    assert json.dumps(answers).count(token) == 0
