"""Tasks: completing one lets a sequence that waits on it move on; a due task reminds its owner."""
from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from accounts_app.models import Notification, User
from config.errors import NotAllowed
from sequences_app.models import Enrollment, EnrollmentStep, Task
from sequences_app.scheduling.runner import enrollment_step_done
from sequences_app.sequence_settings import SequenceSettings


@transaction.atomic
def task_complete(*, task: Task, user: User, now: datetime | None = None) -> Task:
    """Mark the task done (idempotent); the sequence's next delay counts from now."""
    if task.owner_id != user.pk and not user.is_staff:
        raise NotAllowed("PERMISSION_DENIED", "Only the task's owner or an admin can complete it.")
    now = now or timezone.now()
    completed = Task.objects.filter(pk=task.pk, status=Task.Status.OPEN).update(
        status=Task.Status.DONE, completed_at=now
    )
    if completed and task.enrollment_id is not None and task.step_order is not None:
        enrollment = Enrollment.objects.select_for_update().get(pk=task.enrollment_id)
        waiting = EnrollmentStep.objects.filter(
            enrollment=enrollment, order=task.step_order, status=EnrollmentStep.Status.TASK_OPEN
        ).exists()
        if waiting:
            enrollment_step_done(
                enrollment=enrollment,
                order=task.step_order,
                status=EnrollmentStep.Status.TASK_DONE,
                done_at=now,
                now=now,
            )
    task.refresh_from_db()
    return task


def task_reminders_notify(task_ids: list[int]) -> list[int]:
    """The in-app notice for each claimed task whose sequence has reminders on; returns those to email.

    Runs once per claim (the tick's claim hands each task out once); the
    emails may be retried on their own (`task_reminder_email`).
    """
    tasks = Task.objects.filter(pk__in=task_ids, status=Task.Status.OPEN)
    tasks = tasks.select_related("owner", "enrollment", "contact")
    to_email = []
    notices = []
    for task in tasks.order_by("pk"):
        if task.enrollment is not None:
            reminders_on = SequenceSettings.from_snapshot(task.enrollment.snapshot.get("settings", {})).task_reminders
            if not reminders_on:
                continue
        notices.append(
            Notification(user=task.owner, kind="task_due", message=f"Task due{_for(task)}: {task.title}", url="/tasks/")
        )
        if task.owner.email:
            to_email.append(task.pk)
    Notification.objects.bulk_create(notices)
    return to_email


def task_reminder_email(*, task: Task) -> None:
    """Email the owner that the task is due; raises on a mail server failure (the caller retries)."""
    who = _for(task)
    send_mail(
        subject=f"Task due: {task.title}",
        message=f"Your task{who} is due now.\n\n{task.title}\n\n{task.notes}\n\n{settings.SITE_URL}/tasks/",
        from_email=None,
        recipient_list=[task.owner.email],
    )


def _for(task: Task) -> str:
    return f" for {task.contact}" if task.contact else ""
