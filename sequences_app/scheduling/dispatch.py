"""The scheduler's tick: find what is due, claim it, hand it to workers.

Beat runs `scheduler_tick` every few seconds. Each step below is a short
transaction over a partial index, so a tick costs what is due, not what
exists, and any number of ticks or workers can run at once:
1. Due enrollments are claimed (`FOR UPDATE SKIP LOCKED` on PostgreSQL, then
   an UPDATE pushing `next_action_at` a lease ahead) and sent to workers in
   chunks. A lost task is harmless: the lease runs out and the enrollment is
   due again; a repeated or late task finds the step done and does nothing.
2. Due messages (queued or waiting to retry) get a dispatch lease the same
   way and go to workers grouped by mailbox.
3. Claims whose sending lease ran out: the message that may have reached the
   server becomes `unknown` (never resent), the rest go back to the queue;
   accepted ones whose worker died before following through (still holding
   their lease) get their `sent` events and their enrollments move on.
4. Out-of-office pauses whose return date has come resume.
5. Open tasks that fall due are claimed for their reminder, once, and
   handed to workers (`nudge.task_reminders`): the tick does no mail I/O.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from config.errors import Conflict
from mailboxes_app.models import OutboundMessage
from sequences_app.models import Enrollment, Task
from sequences_app.scheduling.sender import claim_expire, messages_follow_through
from sequences_app.services.enrollment_state import enrollment_resume

logger = logging.getLogger(__name__)
BATCH = 500
CHUNK = 50


@dataclass
class TickReport:
    steps: int = 0
    messages: int = 0
    unknown: int = 0
    resumed: int = 0
    reminders: int = 0
    batches: list[list[int]] = field(default_factory=list)


def scheduler_tick(
    *,
    now: datetime | None = None,
    run_steps: Callable[[list[tuple[int, int]]], None],
    send_messages: Callable[[list[int]], None],
    send_reminders: Callable[[list[int]], None],
) -> TickReport:
    now = now or timezone.now()
    report = TickReport()
    while report.steps < settings.SCHEDULER_MAX_CLAIMS_PER_TICK:
        claimed = enrollments_claim_due(now=now, limit=BATCH)
        for start in range(0, len(claimed), CHUNK):
            run_steps(claimed[start : start + CHUNK])
        report.steps += len(claimed)
        if len(claimed) < BATCH:
            break
    for batch in messages_claim_due(now=now):
        send_messages(batch)
        report.messages += len(batch)
    report.unknown = messages_reap_expired_leases(now=now)
    report.resumed = enrollments_resume_due(now=now)
    claimed_tasks = tasks_claim_due_reminders(now=now)
    for start in range(0, len(claimed_tasks), CHUNK):
        send_reminders(claimed_tasks[start : start + CHUNK])
    report.reminders = len(claimed_tasks)
    return report


def _claim_lease() -> timedelta:
    return timedelta(seconds=settings.SCHEDULER_CLAIM_LEASE_SECONDS)


def enrollments_claim_due(*, now: datetime, limit: int = BATCH) -> list[tuple[int, int]]:
    """Claim up to `limit` due enrollments; returns (id, current step) pairs for the workers.

    The pairs come in mailbox order, so a chunk of them mostly makes one
    batch of emails for one SMTP connection.
    """
    with transaction.atomic():
        due = Enrollment.objects.filter(
            status__in=[Enrollment.Status.SCHEDULED, Enrollment.Status.ACTIVE], next_action_at__lte=now
        ).order_by("next_action_at")
        ids = list(due.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        Enrollment.objects.filter(pk__in=ids).update(
            next_action_at=now + _claim_lease(), version=F("version") + 1, updated_at=now
        )
        claimed = Enrollment.objects.filter(pk__in=ids).order_by("mailbox_id", "pk")
        return list(claimed.values_list("pk", "current_step"))


def messages_claim_due(*, now: datetime, limit: int = BATCH) -> list[list[int]]:
    """Give due messages a dispatch lease; return them in batches of one mailbox each."""
    with transaction.atomic():
        due = OutboundMessage.objects.filter(
            state__in=[OutboundMessage.State.QUEUED, OutboundMessage.State.RETRY], next_attempt_at__lte=now
        ).order_by("next_attempt_at")
        rows = list(due.select_for_update(skip_locked=True).values_list("pk", "mailbox_id")[:limit])
        if not rows:
            return []
        OutboundMessage.objects.filter(pk__in=[pk for pk, _ in rows]).update(next_attempt_at=now + _claim_lease())
    by_mailbox: dict[int | None, list[int]] = {}
    for pk, mailbox_id in rows:
        by_mailbox.setdefault(mailbox_id, []).append(pk)
    return [ids[start : start + CHUNK] for ids in by_mailbox.values() for start in range(0, len(ids), CHUNK)]


def messages_reap_expired_leases(*, now: datetime) -> int:
    """Expired leases: `sending` ones become `unknown` (returns how many); `sent` ones are followed through."""
    with transaction.atomic():
        accepted = OutboundMessage.objects.select_for_update(skip_locked=True).filter(
            state=OutboundMessage.State.SENT, lease_expires_at__lt=now
        )
        messages_follow_through(list(accepted.order_by("pk")[:BATCH]), now=now)
    expired = OutboundMessage.objects.filter(state=OutboundMessage.State.SENDING, lease_expires_at__lt=now)
    tokens = expired.order_by().values_list("lease_token", flat=True).distinct()[:BATCH]
    return sum(claim_expire(lease_token=token, now=now) for token in tokens)


def enrollments_resume_due(*, now: datetime) -> int:
    resumed = 0
    for enrollment in Enrollment.objects.filter(status=Enrollment.Status.PAUSED, resume_at__lte=now)[:BATCH]:
        try:
            enrollment_resume(enrollment=enrollment, now=now)
            resumed += 1
        except Conflict:  # a lost race with a manual change (resumed or ended meanwhile): nothing to do
            logger.info("enrollment %s was not resumed: it changed meanwhile", enrollment.pk)
    return resumed


def tasks_claim_due_reminders(*, now: datetime, limit: int = BATCH) -> list[int]:
    """Claim open tasks that fell due for their one reminder; returns their ids for the workers.

    The conditional UPDATE makes the claim once: a task is handed out by one
    tick only, and its reminder is not sent again (`reminder_sent_at` is set).
    """
    with transaction.atomic():
        due = Task.objects.filter(status=Task.Status.OPEN, reminder_sent_at__isnull=True, due_at__lte=now)
        ids = list(due.order_by("due_at").select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        Task.objects.filter(pk__in=ids, reminder_sent_at__isnull=True).update(reminder_sent_at=now)
    return ids
