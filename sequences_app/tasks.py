"""Celery tasks: thin wrappers that take ids and call the scheduler's services."""

from __future__ import annotations

import logging
import smtplib

from celery import Task, shared_task

from config.logs import log_tick
from sequences_app.models import Task as SequenceTask
from sequences_app.scheduling.dispatch import scheduler_tick
from sequences_app.scheduling.runner import enrollments_run_steps
from sequences_app.scheduling.sender import messages_send
from sequences_app.services.tasks import task_reminder_email, task_reminders_notify

logger = logging.getLogger(__name__)


@shared_task(name="nudge.scheduler_tick", ignore_result=True, time_limit=120, soft_time_limit=100, expires=30)
def tick() -> None:
    report = scheduler_tick(
        run_steps=lambda pairs: run_steps.delay(pairs),
        send_messages=lambda ids: send_messages.delay(ids),
        send_reminders=lambda ids: task_reminders.delay(ids),
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


# Seconds before each retry of a reminder email the mail server refused or didn't answer (1, 2, 4, 8, 16 min).
REMINDER_RETRY_SECONDS = 60


@shared_task(bind=True, name="nudge.task_reminders", ignore_result=True, time_limit=300, soft_time_limit=240,
             max_retries=5)
def task_reminders(self: Task, task_ids: list[int], *, email_only: bool = False) -> None:
    """The in-app notices (once), then the emails; those the mail server failed are retried on their own."""
    to_email = task_ids if email_only else task_reminders_notify(task_ids)
    failed = []
    for task in SequenceTask.objects.filter(pk__in=to_email).select_related("owner", "contact").order_by("pk"):
        try:
            task_reminder_email(task=task)
        except (smtplib.SMTPException, OSError) as exc:  # OSError: refused connections, timeouts, TLS
            logger.warning("task %s: reminder email failed: %s", task.pk, exc)
            failed.append(task.pk)
    if failed:
        raise self.retry(
            args=[failed], kwargs={"email_only": True}, countdown=REMINDER_RETRY_SECONDS * 2**self.request.retries
        )
