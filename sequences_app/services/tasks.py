"""Tasks: completing one (which lets a waiting sequence move on)."""
from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts_app.models import User
from config.errors import NotAllowed
from sequences_app.models import EnrollmentStep, Task


@transaction.atomic
def task_complete(*, task: Task, user: User, now: datetime | None = None) -> Task:
    """Mark the task done (idempotent) and its sequence step with it."""
    if task.owner_id != user.pk and not user.is_staff:
        raise NotAllowed("PERMISSION_DENIED", "Only the task's owner or an admin can complete it.")
    now = now or timezone.now()
    completed = Task.objects.filter(pk=task.pk, status=Task.Status.OPEN).update(
        status=Task.Status.DONE, completed_at=now
    )
    if completed and task.enrollment_id is not None and task.step_order is not None:
        EnrollmentStep.objects.filter(
            enrollment_id=task.enrollment_id, order=task.step_order, status=EnrollmentStep.Status.TASK_OPEN
        ).update(status=EnrollmentStep.Status.TASK_DONE, done_at=now)
    task.refresh_from_db()
    return task
