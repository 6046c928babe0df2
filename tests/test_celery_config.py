"""How workers are wired: beat's ticks have a queue of their own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

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
