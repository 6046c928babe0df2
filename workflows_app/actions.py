"""What each action does to one contact, and what the history says about it.

Every action goes through the service that owns the write — enrolling
through `enrollment_create` with all its rules, unenrolling through
`enrollments_unenroll`, setting a property through `contact_update` — and
answers an `Outcome` instead of raising: a refusal becomes a failed history
row with the rule's code, and the workflow goes on.

Actions act with the authority of the workflow's actor (who saved it last):
a sender or task owner other than the actor takes an admin actor, checked
again now because roles change (`validation.person_refusal`), and the
enrollment service gets the actor as its caller, so its own rules about
callers hold for workflows too.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from accounts_app.models import PortalSettings, User
from config.errors import ServiceError
from contacts_app.models import Company, Contact
from contacts_app.services import contact_update
from sequences_app.models import Enrollment, Sequence, Task
from sequences_app.services.enrollment_state import enrollments_unenroll
from sequences_app.services.enrollments import enrollment_create
from sequences_app.tokens import token_value, tokens_in, tokens_render
from workflows_app.models import ActionType, Workflow
from workflows_app.validation import CONTACT_OWNER, person_refusal

logger = logging.getLogger(__name__)
NO_OWNER = "NO_CONTACT_OWNER"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str
    code: str = ""


def action_perform(action: dict[str, Any], *, contact: Contact, workflow: Workflow, now: datetime) -> Outcome:
    """Do one (non-delay) action for the contact, in a savepoint: a failure leaves nothing half-written."""
    try:
        with transaction.atomic():
            return _PERFORMERS[action["type"]](action, contact, workflow.actor, now)
    except ServiceError as exc:
        return Outcome(False, error_text(exc), exc.code)
    except Exception:
        # A bug must not stop the workflow for everybody after this contact: record it and go on.
        logger.exception("workflow %s: action %s failed for contact %s", workflow.pk, action.get("type"), contact.pk)
        return Outcome(False, "An unexpected error stopped this action; the server log has the details.", "ERROR")


def error_text(exc: ServiceError) -> str:
    """The service's sentence, with the first field problem when it names one."""
    fields = exc.extra.get("fields") or {}
    for field, messages in fields.items():
        if messages:
            return f"{exc.message} {field}: {messages[0]}"[:500]
    return exc.message[:500]


def _enroll(action: dict[str, Any], contact: Contact, actor: User | None, now: datetime) -> Outcome:
    sequence = Sequence.objects.filter(pk=action["sequence"]).first()
    if sequence is None:
        return Outcome(False, "The sequence no longer exists.", "NOT_FOUND")
    sender, refusal = _person(action["sender"], contact, actor, role="sender")
    if refusal is not None:
        return refusal
    time_zone = contact.time_zone or PortalSettings.load().time_zone
    try:
        result = enrollment_create(
            sequence=sequence, caller=actor, via_workflow=True, contact_ids=[contact.pk], sender=sender,
            start_step=action.get("start_step") or 1, time_zone=time_zone, now=now,
        )
    except ServiceError as exc:
        # A whole-request refusal (NO_SEAT, NO_CONNECTED_INBOX, SEQUENCE_NOT_SHARED, ...) is about the sender.
        return Outcome(False, f"Sender {sender}: {error_text(exc)}"[:500], exc.code)
    if result.rejected:
        rejection = result.rejected[0]
        return Outcome(False, rejection.message[:500], rejection.code)
    return Outcome(True, f"Enrolled in “{sequence.name}”, sent by {sender}.")


def _unenroll(action: dict[str, Any], contact: Contact, actor: User | None, now: datetime) -> Outcome:
    live = Enrollment.objects.filter(contact=contact, status__in=Enrollment.LIVE_STATUSES)
    if action.get("sequence"):
        live = live.filter(sequence_id=action["sequence"])
    names = list(live.values_list("sequence__name", flat=True))
    # Enrollment has no "by a workflow" reason; MANUAL ("unenrolled by hand") is the nearest.
    if not names or not enrollments_unenroll(enrollments=live, reason=Enrollment.Reason.MANUAL, now=now):
        which = "that sequence" if action.get("sequence") else "any sequence"
        return Outcome(True, f"The contact was not enrolled in {which}; nothing to do.")
    return Outcome(True, f"Unenrolled from “{names[0]}”.")


def _set_property(action: dict[str, Any], contact: Contact, actor: User | None, now: datetime) -> Outcome:
    field, value = action["field"], action["value"]
    # Re-read: contact_update saves the whole row, and the run's copy may be minutes old.
    fresh = Contact.objects.get(pk=contact.pk)
    if field.startswith("properties."):
        data: dict[str, Any] = {"properties": {field.removeprefix("properties."): value}}
    elif field in ("owner", "company"):
        model = User if field == "owner" else Company
        row = model.objects.filter(pk=value).first() if value is not None else None
        if value is not None and row is None:
            return Outcome(False, f"The {field} this action sets no longer exists.", "NOT_FOUND")
        data = {field: row}
    else:
        data = {field: value}
    contact_update(contact=fresh, data=data)
    shown = "(cleared)" if value in (None, "") else f"“{value}”"
    name = f"Property “{field.removeprefix('properties.')}”" if field.startswith("properties.") else (
        field.replace("_", " ").capitalize())
    return Outcome(True, f"{name} set to {shown}.")


def _create_task(action: dict[str, Any], contact: Contact, actor: User | None, now: datetime) -> Outcome:
    owner, refusal = _person(action["owner"], contact, actor, role="task owner")
    if refusal is not None:
        return refusal
    company = contact.company
    texts = action["title"] + " " + action.get("notes", "")
    values = {token: token_value(token, contact=contact, company=company, sender=owner) for token in tokens_in(texts)}
    task = Task.objects.create(
        owner=owner,
        contact=contact,
        type=action.get("task_type") or "todo",
        title=tokens_render(action["title"], values, html_escape=False)[:255] or "Task",
        notes=tokens_render(action.get("notes", ""), values, html_escape=False),
        priority=action.get("priority") or "none",
        due_at=now + timedelta(days=action.get("due_in_days") or 0),
    )
    return Outcome(True, f"Task “{task.title}” created for {owner}, due {task.due_at:%Y-%m-%d %H:%M} UTC.")


def _person(
    who: str | int, contact: Contact, actor: User | None, *, role: str
) -> tuple[User, None] | tuple[None, Outcome]:
    """The user an action names, if the workflow's actor may act for them now."""
    if (refusal := person_refusal(actor, who)) is not None:
        code, sentence = refusal
        return None, Outcome(False, f"The {role} was refused: {sentence}"[:500], code)
    if who == CONTACT_OWNER:
        if contact.owner_id is None:
            message = f"The contact has no owner to be the {role}; give the contact an owner, or name a user."
            return None, Outcome(False, message, NO_OWNER)
        return contact.owner, None
    user = User.objects.filter(pk=who).first()
    if user is None:
        return None, Outcome(False, f"The {role} this action names no longer exists.", "NOT_FOUND")
    return user, None


_PERFORMERS: dict[str, Callable[[dict[str, Any], Contact, User | None, datetime], Outcome]] = {
    ActionType.ENROLL_IN_SEQUENCE: _enroll,
    ActionType.UNENROLL_FROM_SEQUENCE: _unenroll,
    ActionType.SET_PROPERTY: _set_property,
    ActionType.CREATE_TASK: _create_task,
}
