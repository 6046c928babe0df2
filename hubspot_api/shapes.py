"""Nudge's sequences and enrollments in the shapes of HubSpot's Sequences API (its published spec).

Pure functions from model rows to dicts. All ids are strings and times are
UTC with milliseconds (`2026-12-01T07:30:00.000Z`), as HubSpot writes them.
Optional fields Nudge has no value for are left out, never null.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sequences_app.models import Enrollment, Priority, Sequence, SequenceStep, StepType

DAY_MS = 86_400_000
# The dated API (2026-09) declares delayMillis a 32-bit integer: about 24.8 days at most.
INT32_MAX = 2**31 - 1
V4 = "v4"
DATED = "2026-09"

TASK_TYPES = {
    StepType.CALL: "CALL",
    StepType.MANUAL_EMAIL: "EMAIL",
    StepType.LINKEDIN_CONNECT: "LINKED_IN_CONNECT",
    StepType.LINKEDIN_MESSAGE: "LINKED_IN_MESSAGE",
    StepType.TODO: "TODO",
}
PRIORITIES = {Priority.HIGH: "HIGH", Priority.MEDIUM: "MEDIUM", Priority.LOW: "LOW", Priority.NONE: "NONE"}


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sequence_lite(sequence: Sequence) -> dict[str, Any]:
    return {
        "id": str(sequence.pk),
        "name": sequence.name,
        "userId": str(sequence.owner_id),
        "createdAt": timestamp(sequence.created_at),
        "updatedAt": timestamp(sequence.updated_at),
    }


def sequence_full(sequence: Sequence, steps: list[SequenceStep], *, family: str) -> dict[str, Any]:
    """A sequence with its steps, the dependencies between them and its settings.

    1. Nudge's steps (order 1, 2, …) become stepOrder 0, 1, …, followed by a
       FINISH_ENROLLMENT step; steps keep no timestamps of their own, so they
       carry the sequence's.
    2. A task that holds the sequence until it is done (Nudge's default, unless
       "continue without completion") is a TASK_COMPLETION dependency of the
       step after it.
    3. With threaded follow-ups, every automated email after the first
       replies in the first one's thread (threadEmailToStepOrder).
    """
    created, updated = timestamp(sequence.created_at), timestamp(sequence.updated_at)
    stamps = {"createdAt": created, "updatedAt": updated}
    ordered = sorted(steps, key=lambda step: step.order)
    first_email_order: int | None = None
    shaped: list[dict[str, Any]] = []
    for index, step in enumerate(ordered):
        delay = 0 if index == 0 else step.delay_days * DAY_MS
        if family == DATED:
            delay = min(delay, INT32_MAX)
        item: dict[str, Any] = {"id": str(step.pk), "stepOrder": index, "delayMillis": delay, **stamps}
        if step.type == StepType.AUTOMATED_EMAIL:
            item["actionType"] = "EMAIL"
            # Nudge keeps the email inside the step: the step is its own template.
            pattern: dict[str, Any] = {"id": str(step.pk), "templateId": str(step.pk), **stamps}
            if first_email_order is None:
                first_email_order = index
            elif sequence.threaded_follow_ups:
                pattern["threadEmailToStepOrder"] = first_email_order
            item["emailPattern"] = pattern
        else:
            item["actionType"] = "TASK"
            item["taskPattern"] = {
                "id": str(step.pk),
                "taskType": TASK_TYPES.get(step.type, "TODO"),
                "taskPriority": PRIORITIES.get(step.priority, "NONE"),
                "subject": step.title,
                "notes": step.notes,
                **stamps,
            }
        shaped.append(item)
    finish_order = len(ordered)
    shaped.append(
        {
            "id": f"{sequence.pk}-finish",
            "stepOrder": finish_order,
            "actionType": "FINISH_ENROLLMENT",
            "delayMillis": 0,
            **stamps,
        }
    )
    dependencies = []
    for index, step in enumerate(ordered):
        if step.is_task and not step.continue_without_completion:
            required_by = shaped[index + 1]
            dependencies.append(
                {
                    "id": f"{step.pk}-{required_by['id']}",
                    "dependencyType": "TASK_COMPLETION",
                    "reliesOnSequenceStepId": str(step.pk),
                    "reliesOnStepOrder": index,
                    "requiredBySequenceStepId": required_by["id"],
                    "requiredByStepOrder": index + 1,
                    **stamps,
                }
            )
    return {
        **sequence_lite(sequence),
        "steps": shaped,
        "dependencies": dependencies,
        "settings": sequence_settings(sequence),
    }


def sequence_settings(sequence: Sequence) -> dict[str, Any]:
    has_window = sequence.send_window_start_minute is not None and sequence.send_window_end_minute is not None
    return {
        "id": str(sequence.pk),
        "eligibleFollowUpDays": sequence.follow_up_days,
        "sendWindowStartMinute": sequence.send_window_start_minute if has_window else 0,
        "sendWindowEndMinute": sequence.send_window_end_minute if has_window else 1440,
        "individualTaskRemindersEnabled": sequence.task_reminders,
        # Nudge reminds when a task falls due, not at a set minute of the day.
        "taskReminderMinute": 0,
        "sellingStrategy": "ACCOUNT_BASED" if sequence.account_based else "LEAD_BASED",
        "createdAt": timestamp(sequence.created_at),
        "updatedAt": timestamp(sequence.updated_at),
    }


def enrollment_lite(enrollment: Enrollment) -> dict[str, Any]:
    return {
        "id": str(enrollment.pk),
        "toEmail": enrollment.contact.email if enrollment.contact else "",
        "enrolledAt": timestamp(enrollment.enrolled_at),
        "updatedAt": timestamp(enrollment.updated_at),
    }


def enrollment_full(enrollment: Enrollment) -> dict[str, Any]:
    """A live enrollment; `enrolledBy` is who enrolled (the sender when a workflow did), from the mailbox used."""
    by = enrollment.enrolled_by or enrollment.sender
    return {
        **enrollment_lite(enrollment),
        "sequenceId": str(enrollment.sequence_id),
        "sequenceName": enrollment.sequence.name,
        "enrolledBy": str(by.pk),
        "enrolledByEmail": enrollment.mailbox.email if enrollment.mailbox else enrollment.sender.email,
    }
