"""How workers are wired: beat's ticks have a queue of their own; stale database connections are dropped."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery.signals import task_postrun, task_prerun
from django.conf import settings
from django.db import connection, connections

from config import celery as celery_config
from config.celery import app

ROOT = Path(__file__).resolve().parents[1]


def routed_queue(task_name: str) -> str:
    return app.amqp.router.route({}, task_name)["queue"].name


def test_every_task_beat_sends_goes_to_the_ticks_queue():
    assert settings.TICKS_QUEUE != settings.CELERY_TASK_DEFAULT_QUEUE
    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert tasks == {"nudge.scheduler_tick", "nudge.inbox_sync_tick", "nudge.workflows_tick"}
    assert {task: routed_queue(task) for task in tasks} == dict.fromkeys(tasks, settings.TICKS_QUEUE)


@pytest.mark.parametrize(
    "task", ["nudge.run_steps", "nudge.send_messages", "nudge.inbox_sync_mailbox", "nudge.workflow_event"]
)
def test_the_work_a_tick_hands_out_stays_on_the_default_queue(task):
    assert routed_queue(task) == settings.CELERY_TASK_DEFAULT_QUEUE


def test_a_worker_started_without_q_consumes_both_queues():
    queues = app.amqp.Queues(app.conf.task_queues)
    queues.select([])  # what `celery worker` does when no -Q is given
    assert set(queues.consume_from) == {settings.CELERY_TASK_DEFAULT_QUEUE, settings.TICKS_QUEUE}


def test_an_installation_with_its_own_queue_gets_its_own_ticks_queue():
    """Installations sharing a broker must not take each other's ticks."""
    env = {**os.environ, "CELERY_QUEUE": "acme", "DJANGO_SETTINGS_MODULE": "config.settings"}
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "from config.celery import app; print(app.amqp.router.route({}, "
            "'nudge.scheduler_tick')['queue'].name, *sorted(app.amqp.queues.consume_from))",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert shown.stdout.split() == ["acme-ticks", "acme", "acme-ticks"]


@pytest.fixture
def closes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    monkeypatch.setattr(celery_config, "close_old_connections", lambda: calls.append("closed"))
    return calls


@pytest.mark.parametrize("signal", [task_prerun, task_postrun], ids=["before", "after"])
def test_a_worker_drops_stale_database_connections_around_each_task(closes, signal):
    task = app.tasks["celery.backend_cleanup"]
    signal.send(sender=task, task_id="t-1", task=task, args=(), kwargs={})
    assert closes == ["closed"]


def test_an_eager_task_leaves_its_callers_connection_alone(closes):
    task = app.tasks["celery.backend_cleanup"]
    task.push_request(is_eager=True)
    try:
        task_prerun.send(sender=task, task_id="t-1", task=task, args=(), kwargs={})
        task_postrun.send(sender=task, task_id="t-1", task=task, args=(), kwargs={})
    finally:
        task.pop_request()
    assert closes == []


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a server-side disconnect needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_connection_the_database_dropped_between_tasks_is_replaced_before_the_next_task():
    task = app.tasks["celery.backend_cleanup"]
    task_prerun.send(sender=task, task_id="t-1", task=task, args=(), kwargs={})
    dropped = backend_pid()
    task_postrun.send(sender=task, task_id="t-1", task=task, args=(), kwargs={})

    # What a database restart does to an idle worker's connection.
    admin = connections.create_connection("default")
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [dropped])
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [dropped])
                if cursor.fetchone()[0] == 0:
                    break
                time.sleep(0.05)
    finally:
        admin.close()

    task_prerun.send(sender=task, task_id="t-2", task=task, args=(), kwargs={})
    assert backend_pid() != dropped
