"""Running an enrollment's current step, and moving on when a step is done.

The dispatcher claims a due enrollment by pushing `next_action_at` a lease
ahead and hands its id and current step to a worker. `enrollment_run_step`
does the step only while it is still that step's turn: the enrollment runs,
is on that step, is due or claimed (not moved to a later time), and the step
has not been acted on. A task that arrives late (after the lease ran out and
the step was claimed again), twice, or after the enrollment moved on does
nothing — and a slow queue never starves a step, since any of its claims may
run it.

1. An automated email step creates its OutboundMessage (unique per
   enrollment step, so a repeat finds the existing one) in the same
   transaction that records the enrollment as waiting on it; the sender
   takes it from there and calls `enrollment_step_done` once it is sent.
2. A task step creates its task (unique per enrollment step). By default
   the enrollment waits for completion; with *continue without completing*
   it moves on at once, the next delay counting from the task's due time.
3. `enrollment_step_done` schedules the next step with the timing rules, or
   finishes the enrollment after the last one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts_app.models import PortalSettings
from mailboxes_app.models import OutboundMessage
from sequences_app.models import TASK_STEP_TYPES, Enrollment, EnrollmentStep, StepType, Task
from sequences_app.scheduling.timing import FollowUpRules, StepTiming, follow_up_at, project_schedule
from sequences_app.sequence_settings import SequenceSettings
from sequences_app.tokens import tokens_render
from workflows_app import events as workflow_events

Status = Enrollment.Status
RUNNABLE = [Status.SCHEDULED, Status.ACTIVE]


def snapshot_step(enrollment: Enrollment, order: int) -> dict[str, Any] | None:
    return next((step for step in enrollment.snapshot.get("steps", []) if step["order"] == order), None)


def follow_up_rules(enrollment: Enrollment, portal: PortalSettings | None = None) -> FollowUpRules:
    settings = SequenceSettings.from_snapshot(enrollment.snapshot.get("settings", {}))
    portal = portal or PortalSettings.load()
    return FollowUpRules(settings.follow_up_days, settings.send_window, portal.holiday_country)


def enrollment_run_step(*, enrollment_id: int, step_order: int, now: datetime | None = None) -> str:
    """Do step `step_order` of a claimed enrollment if it is still its turn; returns what happened."""
    now = now or timezone.now()
    with transaction.atomic():
        enrollment = (
            Enrollment.objects.select_for_update(of=("self",))
            .select_related("contact__company", "sender", "mailbox")
            .filter(
                pk=enrollment_id,
                status__in=RUNNABLE,
                current_step=step_order,
                next_action_at__lte=now + timedelta(seconds=settings.SCHEDULER_CLAIM_LEASE_SECONDS),
            )
            .first()
        )
        if enrollment is None:
            return "stale"
        if not EnrollmentStep.objects.filter(
            enrollment=enrollment, order=step_order, status=EnrollmentStep.Status.SCHEDULED
        ).exists():
            return "already done"
        step = snapshot_step(enrollment, enrollment.current_step)
        if step is None:
            _finish(enrollment, now)
            return "finished"
        if step["type"] == StepType.AUTOMATED_EMAIL:
            _email_message(enrollment, step, now)
            _save(enrollment, status=Status.ACTIVE, next_action_at=None)
            return "email queued"
        if step["type"] in TASK_STEP_TYPES:
            return _create_task(enrollment, step, now)
        raise ValueError(f"Unknown step type {step['type']!r}")


def _email_message(enrollment: Enrollment, step: dict[str, Any], now: datetime) -> OutboundMessage:
    """The step's one message (created once; a repeated run finds it)."""
    existing = OutboundMessage.objects.filter(enrollment=enrollment, step_order=step["order"]).first()
    if existing is not None:
        return existing
    mailbox = enrollment.mailbox
    first = _first_message(enrollment)
    threaded = SequenceSettings.from_snapshot(enrollment.snapshot.get("settings", {})).threaded_follow_ups
    domain = (mailbox.email if mailbox else enrollment.sender.email).rpartition("@")[2] or "nudge.invalid"
    return OutboundMessage.objects.create(
        enrollment=enrollment,
        step_order=step["order"],
        sender=enrollment.sender,
        mailbox=mailbox,
        message_id=f"<nudge.{enrollment.pk}.{step['order']}.{uuid4().hex}@{domain}>",
        from_email=mailbox.email if mailbox else enrollment.sender.email,
        to_email=enrollment.contact.email if enrollment.contact else "",
        in_reply_to=first.message_id if first is not None and threaded else "",
        references=first.message_id if first is not None and threaded else "",
        is_bulk=enrollment.is_bulk,
        state=OutboundMessage.State.QUEUED,
        # Handed to a sender by `enrollments_run_steps` right away; should that task be
        # lost, the tick dispatches the message once this lease has passed.
        next_attempt_at=now + timedelta(seconds=settings.SCHEDULER_CLAIM_LEASE_SECONDS),
    )


def _first_message(enrollment: Enrollment) -> OutboundMessage | None:
    return (
        OutboundMessage.objects.filter(enrollment=enrollment, state__in=["sent", "unknown"])
        .order_by("step_order")
        .first()
    )


def _create_task(enrollment: Enrollment, step: dict[str, Any], now: datetime) -> str:
    enrollment_step = EnrollmentStep.objects.get(enrollment=enrollment, order=step["order"])
    due_at = enrollment_step.scheduled_for or now
    values = _task_token_values(enrollment, step)
    Task.objects.get_or_create(
        enrollment=enrollment,
        step_order=step["order"],
        defaults={
            "owner_id": enrollment.enrolled_by_id or enrollment.sender_id,
            "contact": enrollment.contact,
            "type": step["type"],
            "title": tokens_render(step.get("title", ""), values, html_escape=False)[:255] or "Task",
            "notes": tokens_render(step.get("notes", ""), values, html_escape=False),
            "priority": step.get("priority", "none"),
            "due_at": due_at,
        },
    )
    if step.get("continue_without_completion"):
        enrollment_step.status = EnrollmentStep.Status.TASK_OPEN
        enrollment_step.save(update_fields=["status"])
        _advance(enrollment, done_at=max(due_at, now), now=now)
        return "task created, moved on"
    enrollment_step.status = EnrollmentStep.Status.TASK_OPEN
    enrollment_step.save(update_fields=["status"])
    _save(enrollment, status=Status.ACTIVE, next_action_at=None)
    return "task created, waiting"


def _task_token_values(enrollment: Enrollment, step: dict[str, Any]) -> dict[str, str]:
    from sequences_app.rendering import enrollment_token_values

    return enrollment_token_values(enrollment, [step.get("title", ""), step.get("notes", "")])


def enrollment_step_done(
    *, enrollment: Enrollment, order: int, status: str, done_at: datetime, detail: str = "", now: datetime | None = None
) -> None:
    """Record a step's outcome and schedule the next step (call inside a transaction)."""
    now = now or timezone.now()
    EnrollmentStep.objects.filter(enrollment=enrollment, order=order).update(
        status=status, done_at=done_at, detail=detail
    )
    if enrollment.current_step != order:
        return
    if enrollment.status == Status.PAUSED:
        _advance_paused(enrollment, done_at=done_at, now=now)
    elif enrollment.status in RUNNABLE:
        _advance(enrollment, done_at=done_at, now=now)


def _next_step(enrollment: Enrollment) -> dict[str, Any] | None:
    later = [step for step in enrollment.snapshot.get("steps", []) if step["order"] > enrollment.current_step]
    return min(later, key=lambda step: step["order"]) if later else None


def _next_times(
    enrollment: Enrollment, step: dict[str, Any], done_at: datetime, now: datetime
) -> tuple[datetime, datetime]:
    """(when the step is due, when the enrollment should act): a task created immediately acts now."""
    due = follow_up_at(
        previous_done_at=done_at,
        delay_days=step.get("delay_days", 0),
        tz=ZoneInfo(enrollment.time_zone),
        rules=follow_up_rules(enrollment),
    )
    acts_at = now if step["type"] in TASK_STEP_TYPES and step.get("create_task_immediately") else due
    return due, acts_at


def _advance(enrollment: Enrollment, *, done_at: datetime, now: datetime) -> None:
    step = _next_step(enrollment)
    if step is None:
        _finish(enrollment, now)
        return
    due, acts_at = _next_times(enrollment, step, done_at, now)
    EnrollmentStep.objects.filter(enrollment=enrollment, order=step["order"]).update(
        status=EnrollmentStep.Status.SCHEDULED, scheduled_for=due
    )
    enrollment.current_step = step["order"]
    _save(enrollment, status=Status.ACTIVE, next_action_at=acts_at, current_step=step["order"])
    _reproject_pending(enrollment, from_step=step, from_at=due)


def _advance_paused(enrollment: Enrollment, *, done_at: datetime, now: datetime) -> None:
    """A step finished while paused (a task completed): the next delay is kept for the resume."""
    step = _next_step(enrollment)
    if step is None:
        _finish(enrollment, now)
        return
    due, acts_at = _next_times(enrollment, step, done_at, now)
    EnrollmentStep.objects.filter(enrollment=enrollment, order=step["order"]).update(
        status=EnrollmentStep.Status.SCHEDULED, scheduled_for=due
    )
    Enrollment.objects.filter(pk=enrollment.pk).update(
        current_step=step["order"],
        paused_remaining=max(acts_at - now, timedelta(0)),
        version=F("version") + 1,
        updated_at=now,
    )


def _reproject_pending(enrollment: Enrollment, *, from_step: dict[str, Any], from_at: datetime) -> None:
    later = [step for step in enrollment.snapshot.get("steps", []) if step["order"] >= from_step["order"]]
    projection = project_schedule(
        steps=[StepTiming(step["order"], step["type"], step.get("delay_days", 0)) for step in later],
        first_at=from_at,
        tz=ZoneInfo(enrollment.time_zone),
        rules=follow_up_rules(enrollment),
    )
    pending = {
        step.order: step
        for step in EnrollmentStep.objects.filter(
            enrollment=enrollment, order__gt=from_step["order"], status=EnrollmentStep.Status.PENDING
        )
    }
    changed = []
    for projected in projection[1:]:
        row = pending.get(projected.order)
        if row is not None and row.scheduled_for != projected.at:
            row.scheduled_for = projected.at
            changed.append(row)
    if changed:
        EnrollmentStep.objects.bulk_update(changed, ["scheduled_for"])


def _finish(enrollment: Enrollment, now: datetime) -> None:
    _save(enrollment, status=Status.FINISHED, next_action_at=None, ended_at=now)
    workflow_events.enrollments_ended([enrollment.pk])


def _save(enrollment: Enrollment, **changes: Any) -> None:
    changes.setdefault("updated_at", timezone.now())
    Enrollment.objects.filter(pk=enrollment.pk).update(version=F("version") + 1, **changes)
    for name, value in changes.items():
        setattr(enrollment, name, value)
    enrollment.version += 1


def enrollments_run_steps(pairs: list[tuple[int, int]], *, now: datetime | None = None) -> dict[str, Any]:
    """Run a chunk of claimed steps; returns outcome counts and the messages to send, by mailbox.

    The messages go to senders in batches per mailbox (one SMTP connection
    each), not one task per email.
    """
    outcomes: dict[str, int] = {}
    enrollment_ids = []
    for enrollment_id, step_order in pairs:
        outcome = enrollment_run_step(enrollment_id=enrollment_id, step_order=step_order, now=now)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if outcome == "email queued":
            enrollment_ids.append(enrollment_id)
    by_mailbox: dict[int | None, list[int]] = {}
    queued = OutboundMessage.objects.filter(enrollment_id__in=enrollment_ids, state=OutboundMessage.State.QUEUED)
    for message_id, mailbox_id in queued.values_list("pk", "mailbox_id"):
        by_mailbox.setdefault(mailbox_id, []).append(message_id)
    return {"outcomes": outcomes, "batches": list(by_mailbox.values())}
