"""Empty ticks say so at DEBUG: `make run`'s output stays readable (config/logs.py)."""
from __future__ import annotations

import logging

import pytest
from celery.app.trace import LOG_RECEIVED, LOG_SUCCESS

from config.logs import log_tick
from mailboxes_app.tasks import inbox_sync_tick
from sequences_app.tasks import tick as scheduler_tick_task
from workflows_app.tasks import tick as workflows_tick_task

logger = logging.getLogger("tests.devloop")


def _context(name: str) -> dict[str, object]:
    return {"id": "abc", "name": name, "return_value": "None", "runtime": 0.01, "args": "()", "kwargs": "{}",
            "eta": None}


def test_a_tick_that_did_something_logs_what_it_did_at_info(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="tests.devloop"):
        log_tick(logger, "scheduler tick", {"steps": 3, "messages": 0, "reminders": 1})
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.INFO, "scheduler tick: 3 steps, 1 reminders")
    ]


def test_a_tick_that_found_nothing_logs_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="tests.devloop"):
        log_tick(logger, "scheduler tick", {"steps": 0, "messages": 0})
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [(logging.DEBUG, "scheduler tick: nothing due")]


@pytest.mark.django_db
@pytest.mark.parametrize("task", [scheduler_tick_task, workflows_tick_task, inbox_sync_tick])
def test_each_empty_tick_task_writes_nothing_at_info(task, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        task.run()
    assert caplog.records == []
    with caplog.at_level(logging.DEBUG):
        task.run()
    assert [r.getMessage() for r in caplog.records if r.name.endswith(".tasks")][-1].endswith(": nothing due")


@pytest.mark.parametrize(
    ("logger_name", "message", "args"),
    [
        ("celery.worker.strategy", LOG_RECEIVED, None),
        ("celery.app.trace", LOG_SUCCESS, None),
        ("celery.beat", "Scheduler: Sending due task %s (%s)", ("scheduler-tick", "nudge.scheduler_tick")),
    ],
)
def test_celerys_lines_about_a_tick_are_debug_not_info(
    logger_name: str, message: str, args: tuple[str, str] | None, caplog: pytest.LogCaptureFixture
) -> None:
    celery_logger = logging.getLogger(logger_name)

    def emit(task_name: str) -> None:
        if args is None:
            context = _context(task_name)
            celery_logger.info(message, context, extra={"data": context})
        else:
            celery_logger.info(message, args[0], task_name)

    with caplog.at_level(logging.INFO, logger=logger_name):
        emit("nudge.scheduler_tick")
        emit("nudge.workflows_tick")
        emit("nudge.inbox_sync_tick")
        emit("nudge.send_messages")
    # Only the task that is not a tick is still at INFO.
    assert [(r.levelno, "nudge.send_messages" in r.getMessage()) for r in caplog.records] == [(logging.INFO, True)]
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger=logger_name):
        emit("nudge.scheduler_tick")
    assert [r.levelname for r in caplog.records] == ["DEBUG"]
