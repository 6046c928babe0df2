"""The scheduler as it runs in production: a real Celery worker and beat, a real broker, a real SMTP server.

Time is moved by seeding timestamps (emails sent "24 hours minus 20 s ago")
and by short leases and retry bases in the environment, never by sleeping
for the real delays.
"""
from __future__ import annotations

import os
import random
import subprocess
import time
from itertools import pairwise

import pytest

from tests.integration.stack import FAST, MailServer, Stack

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("processes")]


@pytest.fixture
def mailserver():
    server = MailServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stack(tmp_path):
    running = Stack(tmp_path, **FAST)
    running.manage("migrate", "--noinput", "-v", "0")
    yield running
    running.stop()


def test_journeys_run_end_to_end_on_a_real_worker_and_beat(stack, mailserver):
    """Seeds five journeys at once and watches them finish on one worker and beat.

    - email → call task → (completed) → threaded follow-up;
    - 7 bulk-enrolled contacts leave about 20 s apart (3 a minute, in every 60 s);
    - a sender at the limit gets the next email deferred, then sent when the window frees;
    - SMTP 4xx → retried and delivered once; 5xx → failed with the reason;
    - a refused login → mailbox disconnected; after verify the enrollment continues.
    """
    for kind, count in (("journey", 1), ("errors", 1), ("auth", 1)):
        stack.scenario("seed", str(mailserver.port), kind, str(count))
    stack.start("worker")
    stack.start("beat")
    handler = mailserver.handler

    first = stack.wait_for(lambda: handler.to("journey0@acme.example"), timeout=60, what="the journey's first email")
    stack.wait_for(lambda: stack.scenario("state")["tasks"].get("open"), timeout=30, what="the call task")
    assert stack.scenario("complete-tasks") == {"completed": 1}
    stack.wait_for(lambda: len(handler.to("journey0@acme.example")) == 2, timeout=30, what="the follow-up")
    follow_up = handler.to("journey0@acme.example")[1].message
    assert follow_up["Subject"] == "Re: Hello Person0"
    assert follow_up["In-Reply-To"] == first[0].message["Message-ID"]

    # Seeded only now: its old emails leave the window 45 s after seeding, so the follow-up is still
    # deferred however long the journey above took on a loaded machine.
    stack.scenario("seed", str(mailserver.port), "limit", "3")
    state = stack.wait_for(
        lambda: (s := stack.scenario("state"))["by_contact"]["limit0@acme.example"]["steps"] == ["sent", "deferred"]
        and s,
        timeout=30,
        what="the limit follow-up to be deferred",
    )
    assert any("send limit" in detail for detail in state["step_details"])
    stack.wait_for(lambda: len(handler.to("limit0@acme.example")) == 2, timeout=90, what="the deferred email")

    stack.wait_for(lambda: handler.to("tempfail@acme.example"), timeout=60, what="the retried email")
    state = stack.wait_for(
        lambda: (s := stack.scenario("state"))["by_contact"]["permfail@acme.example"]["status"] == "failed" and s,
        timeout=30,
        what="the refused email to fail",
    )
    assert state["by_contact"]["permfail@acme.example"]["reason"] == "SEND_FAILED"
    assert any("550" in detail for detail in state["step_details"])

    state = stack.wait_for(
        lambda: (s := stack.scenario("state"))["by_contact"]["auth0@acme.example"]["reason"] == "INBOX_DISCONNECTED"
        and s,
        timeout=30,
        what="the inbox to be disconnected",
    )
    assert state["mailboxes"]["disconnected"] == 1
    handler.refused_logins.clear()
    stack.scenario("verify-mailboxes")
    stack.wait_for(lambda: handler.to("auth0@acme.example"), timeout=30, what="the email after reconnecting")

    stack.scenario("seed", str(mailserver.port), "bulk", "7")
    bulk = stack.wait_for(
        lambda: len(r := [item for item in handler.received if item.rcpt.startswith("bulk")]) == 7 and r,
        timeout=200,
        what="all 7 bulk emails",
    )
    arrivals = sorted(item.at for item in bulk)
    # Each claim is 20 s after the one before (the SMTP exchange adds a little jitter on arrival).
    assert all(later - earlier > 19 for earlier, later in pairwise(arrivals)), arrivals

    ids = handler.message_ids()
    assert len(ids) == len(set(ids)), "a Message-ID arrived twice"
    assert len(handler.to("tempfail@acme.example")) == 1


def test_chaos_kills_restarts_and_an_outage_never_duplicate_or_lose_an_email(stack, mailserver):
    """500 due emails; the worker SIGKILLed at random moments and restarted; the SMTP server down for a
    while; Redis restarted once when it is the broker. The receiving server sees no Message-ID twice and
    every step ends sent, failed or unknown — unknown no more than kills."""
    rng = random.Random(int(os.environ.get("CHAOS_SEED", "20261127")))
    mailserver.handler.delay = 0.01
    stack.scenario("seed", str(mailserver.port), "chaos", "500", timeout=600)
    stack.start("beat")
    stack.start("worker")
    uses_redis = stack.env.get("CELERY_BROKER_URL", "").startswith("redis")

    for round_number in range(4):
        time.sleep(rng.uniform(1.5, 4.0))
        stack.kill("worker")
        if round_number == 1:
            mailserver.stop()
        if round_number == 2:
            mailserver.start()
            if uses_redis:
                _restart_redis()
        time.sleep(rng.uniform(0.2, 1.0))
        stack.start("worker")
    if mailserver.controller is None:
        mailserver.start()

    terminal = {"sent", "failed", "unknown"}
    state = stack.wait_for(
        lambda: set((s := stack.scenario("state"))["messages"]) <= terminal and sum(s["messages"].values()) == 500
        and s,
        timeout=300,
        every=2,
        what="every message to reach sent, failed or unknown",
    )
    ids = mailserver.handler.message_ids()
    assert len(ids) == len(set(ids)), "a Message-ID arrived twice"
    sent = {mid for mid, message_state in state["message_ids"].items() if message_state == "sent"}
    assert sent <= set(ids), "a message recorded as sent never arrived"
    assert state["messages"].get("unknown", 0) <= stack.kills
    assert set(state["steps"]) <= terminal
    assert state["enrollments"].get("finished", 0) + state["enrollments"].get("failed", 0) == 500


def _restart_redis() -> None:
    subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", "6379", "shutdown", "nosave"], check=False,
                   capture_output=True)
    subprocess.run(
        ["redis-server", "--daemonize", "yes", "--port", "6379", "--save", "", "--appendonly", "no"],
        check=True, capture_output=True,
    )
    for _ in range(50):
        if subprocess.run(["redis-cli", "-h", "127.0.0.1", "ping"], capture_output=True, check=False).returncode == 0:
            return
        time.sleep(0.1)
