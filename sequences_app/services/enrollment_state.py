"""Pause, resume and stop enrollments: every status change after enrollment goes through here.

Each change is a conditional UPDATE on the enrollment's status (and version),
so a change that lost a race to the scheduler or another request changes
nothing and says so, instead of overwriting newer state.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from accounts_app.models import PortalSettings, User
from config.errors import Conflict
from mailboxes_app.models import Mailbox, OutboundMessage
from sequences_app.models import Enrollment, EnrollmentStep, Sequence
from sequences_app.scheduling.timing import FollowUpRules, StepTiming, project_schedule
from sequences_app.sequence_settings import SequenceSettings
from workflows_app import events as workflow_events

Status = Enrollment.Status
STEP_NOT_DONE = [EnrollmentStep.Status.PENDING, EnrollmentStep.Status.SCHEDULED, EnrollmentStep.Status.DEFERRED]
MESSAGE_NOT_SENT = [OutboundMessage.State.QUEUED, OutboundMessage.State.RETRY]
PAUSABLE = [Status.SCHEDULED, Status.ACTIVE]
_CHUNK = 1000


def enrollments_unenroll(
    *, enrollments: QuerySet[Enrollment], reason: str, status: str = Status.UNENROLLED, now: datetime | None = None
) -> int:
    """End every live enrollment in `enrollments`; nothing of theirs not yet sent goes out. Returns how many."""
    now = now or timezone.now()
    label = Enrollment.Reason(reason).label
    ended = 0
    ids = list(enrollments.filter(status__in=Enrollment.LIVE_STATUSES).values_list("id", flat=True))
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        with transaction.atomic():
            # Lock (PostgreSQL) the rows still live, so the steps and messages
            # we cancel belong to enrollments we really ended.
            live = list(
                Enrollment.objects.select_for_update()
                .filter(id__in=chunk, status__in=Enrollment.LIVE_STATUSES)
                .values_list("id", flat=True)
            )
            ended += Enrollment.objects.filter(id__in=live).update(
                status=status,
                reason=reason,
                ended_at=now,
                next_action_at=None,
                paused_remaining=None,
                resume_at=None,
                version=F("version") + 1,
                updated_at=now,
            )
            EnrollmentStep.objects.filter(enrollment_id__in=live, status__in=STEP_NOT_DONE).update(
                status=EnrollmentStep.Status.SKIPPED, detail=f"Not run: {label.lower()}."
            )
            OutboundMessage.objects.filter(enrollment_id__in=live, state__in=MESSAGE_NOT_SENT).update(
                state=OutboundMessage.State.CANCELLED, last_error=f"Cancelled: {label.lower()}."
            )
            workflow_events.enrollments_ended(live)
    return ended


def enrollment_unenroll(*, enrollment: Enrollment, reason: str = Enrollment.Reason.MANUAL) -> Enrollment:
    if not enrollments_unenroll(enrollments=Enrollment.objects.filter(pk=enrollment.pk), reason=reason):
        raise Conflict("INVALID_STATE", f"This enrollment is {enrollment.status} and can't be unenrolled.")
    enrollment.refresh_from_db()
    return enrollment


def enrollment_pause(
    *,
    enrollment: Enrollment,
    reason: str | None = None,
    resume_at: datetime | None = None,
    now: datetime | None = None,
) -> Enrollment:
    """Pause, keeping what was left of the current delay (and, for out of office, when to resume)."""
    if not _pause([enrollment], reason=reason, resume_at=resume_at, now=now or timezone.now()):
        raise Conflict("INVALID_STATE", f"This enrollment is {enrollment.status} and can't be paused.")
    enrollment.refresh_from_db()
    return enrollment


def enrollment_resume(*, enrollment: Enrollment, now: datetime | None = None) -> Enrollment:
    """Resume a paused enrollment; the delay that was left when it paused runs from now."""
    if not _resume([enrollment], now=now or timezone.now()):
        raise Conflict("INVALID_STATE", f"This enrollment is {enrollment.status} and can't be resumed.")
    enrollment.refresh_from_db()
    return enrollment


def enrollments_pause_for(*, sender: User, sequence: Sequence | None = None, now: datetime | None = None) -> int:
    """Pause every scheduled or active enrollment the user sent (of one sequence, or all: vacation)."""
    enrollments = Enrollment.objects.filter(sender=sender, status__in=PAUSABLE)
    if sequence is not None:
        enrollments = enrollments.filter(sequence=sequence)
    return _pause(enrollments.iterator(chunk_size=_CHUNK), reason=None, resume_at=None, now=now or timezone.now())


def enrollments_resume_for(*, sender: User, sequence: Sequence | None = None, now: datetime | None = None) -> int:
    enrollments = Enrollment.objects.filter(sender=sender, status=Status.PAUSED)
    if sequence is not None:
        enrollments = enrollments.filter(sequence=sequence)
    return _resume(enrollments.iterator(chunk_size=_CHUNK), now=now or timezone.now())


def enrollments_resume_for_mailbox(
    *, mailbox: Mailbox, now: datetime | None = None, reason: str = Enrollment.Reason.INBOX_DISCONNECTED
) -> int:
    """A reconnected mailbox: its enrollments that waited with INBOX_DISCONNECTED continue (or, when its
    sending is resumed, those that waited with SENDING_PAUSED)."""
    enrollments = Enrollment.objects.filter(mailbox=mailbox, status=Status.PAUSED, reason=reason)
    return _resume(enrollments.iterator(chunk_size=_CHUNK), now=now or timezone.now())


def _pause(enrollments: Iterable[Enrollment], *, reason: str | None, resume_at: datetime | None, now: datetime) -> int:
    paused = 0
    for enrollment in enrollments:
        remaining = None
        if enrollment.next_action_at is not None:
            remaining = max(enrollment.next_action_at - now, timedelta(0))
        paused += Enrollment.objects.filter(pk=enrollment.pk, status__in=PAUSABLE, version=enrollment.version).update(
            status=Status.PAUSED,
            reason=reason,
            paused_at=now,
            paused_remaining=remaining,
            resume_at=resume_at,
            next_action_at=None,
            version=F("version") + 1,
            updated_at=now,
        )
    return paused


def _resume(enrollments: Iterable[Enrollment], *, now: datetime) -> int:
    resumed = 0
    portal = PortalSettings.load()
    for enrollment in enrollments:
        with transaction.atomic():
            next_action_at = now + enrollment.paused_remaining if enrollment.paused_remaining is not None else None
            nothing_done_yet = not enrollment.steps.exclude(status__in=[*STEP_NOT_DONE, "skipped"]).exists()
            status = Status.SCHEDULED if nothing_done_yet and next_action_at and next_action_at > now else Status.ACTIVE
            changed = Enrollment.objects.filter(
                pk=enrollment.pk, status=Status.PAUSED, version=enrollment.version
            ).update(
                status=status,
                reason=None,
                paused_at=None,
                paused_remaining=None,
                resume_at=None,
                next_action_at=next_action_at,
                version=F("version") + 1,
                updated_at=now,
            )
            if changed and next_action_at is not None:
                _reproject_remaining_steps(enrollment, from_at=next_action_at, portal=portal)
            if changed:
                # A message held back while paused (or while the inbox was disconnected) goes out now.
                OutboundMessage.objects.filter(
                    enrollment=enrollment, state=OutboundMessage.State.QUEUED, next_attempt_at__isnull=True
                ).update(next_attempt_at=now)
            resumed += changed
    return resumed


def _reproject_remaining_steps(enrollment: Enrollment, *, from_at: datetime, portal: PortalSettings) -> None:
    """Move the projected times of the current and later steps after a pause."""
    steps = list(
        enrollment.steps.filter(order__gte=enrollment.current_step, status__in=STEP_NOT_DONE).order_by("order")
    )
    if not steps:
        return
    delays = {step["order"]: step.get("delay_days", 0) for step in enrollment.snapshot.get("steps", [])}
    settings = SequenceSettings.from_snapshot(enrollment.snapshot.get("settings", {}))
    projection = project_schedule(
        steps=[StepTiming(step.order, step.type, delays.get(step.order, 0)) for step in steps],
        first_at=from_at,
        tz=ZoneInfo(enrollment.time_zone),
        rules=FollowUpRules(settings.follow_up_days, settings.send_window, portal.holiday_country),
    )
    for step, projected in zip(steps, projection, strict=True):
        step.scheduled_for = projected.at
    EnrollmentStep.objects.bulk_update(steps, ["scheduled_for"])
