"""Tasks: completing one lets a sequence that waits on it move on."""
from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts_app.models import User
from config.errors import NotAllowed
from sequences_app.models import Enrollment, EnrollmentStep, Task
from sequences_app.scheduling.runner import enrollment_step_done


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
