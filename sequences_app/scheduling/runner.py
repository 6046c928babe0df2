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
   takes it from there and calls `enrollments_steps_done` once it is sent.
   A chunk of claimed steps runs in one transaction with a few set-based
   statements, not a handful per enrollment.
2. A task step creates its task (unique per enrollment step). By default
   the enrollment waits for completion; with *continue without completing*
   it moves on at once, the next delay counting from the task's due time.
3. `enrollments_steps_done` schedules the next step with the timing rules, or
   finishes the enrollment after the last one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts_app.models import PortalSettings
from config.db import rows_update
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
    outcomes = enrollments_run_steps([(enrollment_id, step_order)], now=now)["outcomes"]
    return next(iter(outcomes))


def enrollments_run_steps(pairs: list[tuple[int, int]], *, now: datetime | None = None) -> dict[str, Any]:
    """Run claimed (enrollment, step) pairs in one transaction; returns outcome counts and messages by mailbox.

    The email steps' messages are made together (one insert) and go to
    senders in batches per mailbox (one SMTP connection each).
    """
    now = now or timezone.now()
    wanted = dict(pairs)
    outcomes: Counter[str] = Counter()
    with transaction.atomic():
        claimed = (
            Enrollment.objects.select_for_update(of=("self",))
            .select_related("contact__company", "sender", "mailbox")
            .defer("mailbox__smtp_password", "mailbox__imap_password")  # not needed here; decrypting costs
            .filter(
                pk__in=wanted,
                status__in=RUNNABLE,
                next_action_at__lte=now + timedelta(seconds=settings.SCHEDULER_CLAIM_LEASE_SECONDS),
            )
            .order_by("pk")
        )
        ours = [enrollment for enrollment in claimed if enrollment.current_step == wanted[enrollment.pk]]
        outcomes["stale"] = len(wanted) - len(ours)
        not_run = set(
            EnrollmentStep.objects.filter(enrollment__in=ours, status=EnrollmentStep.Status.SCHEDULED).values_list(
                "enrollment_id", "order"
            )
        )
        emails = []
        for enrollment in ours:
            step = snapshot_step(enrollment, enrollment.current_step)
            if (enrollment.pk, enrollment.current_step) not in not_run:
                outcomes["already done"] += 1
            elif step is None:
                _finish(enrollment, now)
                outcomes["finished"] += 1
            elif step["type"] == StepType.AUTOMATED_EMAIL:
                emails.append((enrollment, step))
            elif step["type"] in TASK_STEP_TYPES:
                outcomes[_create_task(enrollment, step, now)] += 1
            else:
                raise ValueError(f"Unknown step type {step['type']!r}")
        _email_messages(emails, now)
        waiting = [enrollment.pk for enrollment, _ in emails]
        Enrollment.objects.filter(pk__in=waiting).update(
            status=Status.ACTIVE, next_action_at=None, version=F("version") + 1, updated_at=now
        )
        outcomes["email queued"] = len(waiting)
    by_mailbox: dict[int | None, list[int]] = {}
    queued = OutboundMessage.objects.filter(enrollment_id__in=waiting, state=OutboundMessage.State.QUEUED)
    for message_id, mailbox_id in queued.order_by("pk").values_list("pk", "mailbox_id"):
        by_mailbox.setdefault(mailbox_id, []).append(message_id)
    return {"outcomes": dict(+outcomes), "batches": list(by_mailbox.values())}


def _email_messages(emails: list[tuple[Enrollment, dict[str, Any]]], now: datetime) -> None:
    """Each email step's one message (made once: a repeated run finds it), follow-ups threaded to the first."""
    enrollments = [enrollment for enrollment, _ in emails]
    existing = set(
        OutboundMessage.objects.filter(enrollment__in=enrollments).values_list("enrollment_id", "step_order")
    )
    first_message_ids: dict[int, str] = {}
    earlier = OutboundMessage.objects.filter(enrollment__in=enrollments, state__in=["sent", "unknown"])
    for enrollment_id, message_id in earlier.order_by("enrollment_id", "-step_order").values_list(
        "enrollment_id", "message_id"
    ):
        first_message_ids[enrollment_id] = message_id  # the lowest step wins
    OutboundMessage.objects.bulk_create(
        _email_message(enrollment, step, first_message_ids.get(enrollment.pk, ""), now)
        for enrollment, step in emails
        if (enrollment.pk, step["order"]) not in existing
    )


def _email_message(
    enrollment: Enrollment, step: dict[str, Any], first_message_id: str, now: datetime
) -> OutboundMessage:
    mailbox = enrollment.mailbox
    threaded = SequenceSettings.from_snapshot(enrollment.snapshot.get("settings", {})).threaded_follow_ups
    thread = first_message_id if threaded else ""
    domain = (mailbox.email if mailbox else enrollment.sender.email).rpartition("@")[2] or "nudge.invalid"
    return OutboundMessage(
        enrollment=enrollment,
        step_order=step["order"],
        sender=enrollment.sender,
        mailbox=mailbox,
        message_id=f"<nudge.{enrollment.pk}.{step['order']}.{uuid4().hex}@{domain}>",
        from_email=mailbox.email if mailbox else enrollment.sender.email,
        to_email=enrollment.contact.email if enrollment.contact else "",
        in_reply_to=thread,
        references=thread,
        is_bulk=enrollment.is_bulk,
        state=OutboundMessage.State.QUEUED,
        # Handed to a sender by `enrollments_run_steps` right away; should that task be
        # lost, the tick dispatches the message once this lease has passed.
        next_attempt_at=now + timedelta(seconds=settings.SCHEDULER_CLAIM_LEASE_SECONDS),
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
    enrollment_step.status = EnrollmentStep.Status.TASK_OPEN
    enrollment_step.save(update_fields=["status"])
    if step.get("continue_without_completion"):
        # The task stays open; the next delay counts from its due time.
        enrollments_steps_done([StepDone(enrollment, step["order"], delay_from=max(due_at, now))], now=now)
        return "task created, moved on"
    _save(enrollment, status=Status.ACTIVE, next_action_at=None)
    return "task created, waiting"


def _task_token_values(enrollment: Enrollment, step: dict[str, Any]) -> dict[str, str]:
    from sequences_app.rendering import enrollment_token_values

    return enrollment_token_values(enrollment, [step.get("title", ""), step.get("notes", "")])


@dataclass
class StepDone:
    """A step of a (locked) enrollment has an outcome; the next delay counts from `delay_from`.

    Without `status` the step's row is left as it is (a task step that moves
    on without waiting for its task).
    """

    enrollment: Enrollment
    order: int
    status: str = ""
    done_at: datetime | None = None
    detail: str = ""
    delay_from: datetime | None = None


def enrollment_step_done(
    *, enrollment: Enrollment, order: int, status: str, done_at: datetime, detail: str = "", now: datetime | None = None
) -> None:
    """Record a step's outcome and schedule the next step (call inside a transaction)."""
    enrollments_steps_done([StepDone(enrollment, order, status, done_at, detail)], now=now)


def enrollments_steps_done(outcomes: list[StepDone], *, now: datetime | None = None) -> None:
    """Record steps' outcomes and move each enrollment on (inside a transaction holding their row locks).

    Each enrollment still on that step goes to its next step, due by the
    timing rules (a paused one keeps the remaining delay for its resume), or
    finishes after its last step. A few statements for the whole list.
    """
    if not outcomes:
        return
    now = now or timezone.now()
    portal = PortalSettings.load()
    rows = {
        (row.enrollment_id, row.order): row
        for row in EnrollmentStep.objects.filter(enrollment_id__in={outcome.enrollment.pk for outcome in outcomes})
    }
    # Three kinds of step rows change, each in its own UPDATE of only its fields.
    done: dict[int, EnrollmentStep] = {}
    scheduled: dict[int, EnrollmentStep] = {}
    reprojected: dict[int, EnrollmentStep] = {}
    moved: dict[int, Enrollment] = {}
    finished: list[int] = []
    for outcome in outcomes:
        enrollment = outcome.enrollment
        row = rows.get((enrollment.pk, outcome.order))
        if row is not None and outcome.status:
            row.status, row.done_at, row.detail = outcome.status, outcome.done_at, outcome.detail
            done[row.pk] = row
        if enrollment.current_step != outcome.order or enrollment.status not in (Status.PAUSED, *RUNNABLE):
            continue
        moved[enrollment.pk] = enrollment
        enrollment.updated_at = now
        step = _next_step(enrollment)
        if step is None:
            enrollment.status, enrollment.next_action_at, enrollment.ended_at = Status.FINISHED, None, now
            finished.append(enrollment.pk)
            continue
        rules = follow_up_rules(enrollment, portal)
        due, acts_at = _next_times(enrollment, step, outcome.delay_from or outcome.done_at or now, now, rules)
        enrollment.current_step = step["order"]
        next_row = rows.get((enrollment.pk, step["order"]))
        if next_row is not None:
            next_row.status, next_row.scheduled_for = EnrollmentStep.Status.SCHEDULED, due
            scheduled[next_row.pk] = next_row
        if enrollment.status == Status.PAUSED:
            enrollment.paused_remaining = max(acts_at - now, timedelta(0))
        else:
            enrollment.status, enrollment.next_action_at = Status.ACTIVE, acts_at
            reprojected.update(_reprojected(enrollment, step, due, rules, rows))
    rows_update(done.values(), ["status", "done_at", "detail"])
    rows_update(scheduled.values(), ["status", "scheduled_for"])
    rows_update(reprojected.values(), ["scheduled_for"])
    fields = ["status", "current_step", "next_action_at", "paused_remaining", "ended_at", "updated_at"]
    rows_update(moved.values(), fields, version=F("version") + 1)
    for enrollment in moved.values():
        enrollment.version += 1
    if finished:
        workflow_events.enrollments_ended(finished)


def _next_step(enrollment: Enrollment) -> dict[str, Any] | None:
    later = [step for step in enrollment.snapshot.get("steps", []) if step["order"] > enrollment.current_step]
    return min(later, key=lambda step: step["order"]) if later else None


def _next_times(
    enrollment: Enrollment, step: dict[str, Any], done_at: datetime, now: datetime, rules: FollowUpRules
) -> tuple[datetime, datetime]:
    """(when the step is due, when the enrollment should act): a task created immediately acts now."""
    due = follow_up_at(
        previous_done_at=done_at, delay_days=step.get("delay_days", 0), tz=ZoneInfo(enrollment.time_zone), rules=rules
    )
    acts_at = now if step["type"] in TASK_STEP_TYPES and step.get("create_task_immediately") else due
    return due, acts_at


def _reprojected(
    enrollment: Enrollment,
    from_step: dict[str, Any],
    from_at: datetime,
    rules: FollowUpRules,
    rows: dict[tuple[int, int], EnrollmentStep],
) -> dict[int, EnrollmentStep]:
    """The pending steps after `from_step` whose projected time changed, with the new time set."""
    later = [step for step in enrollment.snapshot.get("steps", []) if step["order"] >= from_step["order"]]
    projection = project_schedule(
        steps=[StepTiming(step["order"], step["type"], step.get("delay_days", 0)) for step in later],
        first_at=from_at,
        tz=ZoneInfo(enrollment.time_zone),
        rules=rules,
    )
    changed = {}
    for projected in projection[1:]:
        row = rows.get((enrollment.pk, projected.order))
        if row is not None and row.status == EnrollmentStep.Status.PENDING and row.scheduled_for != projected.at:
            row.scheduled_for = projected.at
            changed[row.pk] = row
    return changed


def _finish(enrollment: Enrollment, now: datetime) -> None:
    _save(enrollment, status=Status.FINISHED, next_action_at=None, ended_at=now)
    workflow_events.enrollments_ended([enrollment.pk])


def _save(enrollment: Enrollment, **changes: Any) -> None:
    changes.setdefault("updated_at", timezone.now())
    Enrollment.objects.filter(pk=enrollment.pk).update(version=F("version") + 1, **changes)
    for name, value in changes.items():
        setattr(enrollment, name, value)
    enrollment.version += 1
