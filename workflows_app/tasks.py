"""Celery tasks: thin wrappers that take ids and call the workflow services."""
from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

from config.logs import log_tick
from workflows_app.runner import CHUNK, workflow_run_advance, workflows_tick
from workflows_app.triggers import workflow_event_process

logger = logging.getLogger(__name__)
# A database that is briefly busy (SQLite's lock, a PostgreSQL failover) is worth a retry; the work
# is idempotent (state lives in the rows), and the tick hands out anything still undone anyway.
RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": 5, "max_retries": 3}


@shared_task(name="nudge.workflows_tick", ignore_result=True, time_limit=120, soft_time_limit=100, expires=30)
def tick() -> None:
    report = workflows_tick(
        process_events=lambda ids: [process_event.delay(event_id) for event_id in ids],
        run_actions=lambda pairs: run_actions.delay(pairs),
    )
    log_tick(logger, "workflows tick", {"events": report.events, "runs": report.runs})


@shared_task(name="nudge.workflow_event", ignore_result=True, time_limit=300, soft_time_limit=240, **RETRY)
def process_event(event_id: int) -> None:
    started = workflow_event_process(event_id=event_id)
    for start in range(0, len(started), CHUNK):
        run_actions.delay(started[start : start + CHUNK])
    logger.info("workflow event %s: %s runs started", event_id, len(started))


@shared_task(name="nudge.workflow_run_actions", ignore_result=True, time_limit=300, soft_time_limit=240, **RETRY)
def run_actions(pairs: list[list[int]]) -> None:
    for run_id, action_index in pairs:
        outcome = workflow_run_advance(run_id=run_id, action_index=action_index)
        logger.info("workflow run %s action %s: %s", run_id, action_index, outcome)
