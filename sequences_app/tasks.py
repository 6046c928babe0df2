"""Celery tasks: thin wrappers that take ids and call the scheduler's services."""

from __future__ import annotations

import logging

from celery import shared_task

from config.logs import log_tick
from sequences_app.scheduling.dispatch import scheduler_tick
from sequences_app.scheduling.runner import enrollments_run_steps
from sequences_app.scheduling.sender import messages_send

logger = logging.getLogger(__name__)


@shared_task(name="nudge.scheduler_tick", ignore_result=True, time_limit=120, soft_time_limit=100, expires=30)
def tick() -> None:
    report = scheduler_tick(
        run_steps=lambda pairs: run_steps.delay(pairs),
        send_messages=lambda ids: send_messages.delay(ids),
    )
    log_tick(logger, "scheduler tick", {
        "steps": report.steps, "messages": report.messages, "unknown": report.unknown,
        "resumed": report.resumed, "reminders": report.reminders,
    })


@shared_task(name="nudge.run_steps", ignore_result=True, time_limit=300, soft_time_limit=240)
def run_steps(pairs: list[list[int]]) -> None:
    result = enrollments_run_steps([(enrollment_id, step_order) for enrollment_id, step_order in pairs])
    logger.info("steps %s: %s", pairs, result["outcomes"])
    for batch in result["batches"]:
        send_messages.delay(batch)


@shared_task(name="nudge.send_messages", ignore_result=True, time_limit=300, soft_time_limit=280)
def send_messages(message_ids: list[int]) -> None:
    outcomes = messages_send(message_ids)
    logger.info("messages %s: %s", message_ids, outcomes)
