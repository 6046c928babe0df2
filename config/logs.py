"""Logging for the ticks: a tick that found nothing to do says so at DEBUG, not INFO.

Beat ticks the scheduler every 2 seconds; at INFO each tick would write three
lines (beat's "Sending due task", the worker's "received" and "succeeded")
and bury everything a developer wants to read — `make run`'s address and
logins first of all. Work a tick hands out is still logged at INFO, by the
tick itself (`log_tick`) and by the tasks it enqueues.
"""
from __future__ import annotations

import logging

from django.conf import settings


def log_tick(logger: logging.Logger, what: str, counts: dict[str, int]) -> None:
    """One line per tick: INFO when it handed out or changed anything, DEBUG when it was empty."""
    done = {name: count for name, count in counts.items() if count}
    if done:
        logger.info("%s: %s", what, ", ".join(f"{count} {name}" for name, count in done.items()))
    else:
        logger.debug("%s: nothing due", what)


def _task_name(record: logging.LogRecord) -> str | None:
    # The worker's "received"/"succeeded" lines carry their context in `record.data`;
    # beat's "Sending due task %s (%s)" has the task's name as its second argument.
    data = getattr(record, "data", None)
    if isinstance(data, dict):
        name = data.get("name")
        return name if isinstance(name, str) else None
    if record.name == "celery.beat" and isinstance(record.args, tuple) and len(record.args) == 2:
        name = record.args[1]
        return name if isinstance(name, str) else None
    return None


class TickChatterToDebug(logging.Filter):
    """Demote Celery's INFO lines about the tick tasks (settings.TICK_TASKS) to DEBUG.

    Attached to Celery's loggers in settings.LOGGING. A logger's filter runs
    after its level check, so the demoted record is kept only when DEBUG is on.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or _task_name(record) not in settings.TICK_TASKS:
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
