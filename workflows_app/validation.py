"""A workflow's payload (API.md, "Workflows") checked whole, every problem under its field name.

`workflow_clean` turns API-shaped values into model fields, or raises
ValidationFailed with `fields` such as `trigger.filters`, `actions.2.days`.
Actions are stored normalised (every key present), so the runner and the
pages read them without defaults of their own. Rules checked here are the
ones a workflow can know when it is saved; what depends on the moment (the
sender's seat and mailbox, the contact's standing) is the enrollment
service's to decide when the action runs.

A workflow acts with the authority of the user who saved it last
(`Workflow.actor`): `workflow_authority_check` refuses, when saving, actions
that would send as or give tasks to somebody else unless that user is an
admin, and `person_refusal` is the same rule the actions apply when they run
(roles change after saving).
"""
from __future__ import annotations

from typing import Any

from accounts_app.models import User
from accounts_app.services import time_zone_is_valid
from config.errors import NotAllowed
from contacts_app.filters import FilterError, filters_to_q, filters_validate
from contacts_app.models import Company, Contact, ContactList
from contacts_app.services import (
    MAX_LIST_FILTERS,
    MAX_PROPERTY_TEXT,
    PROPERTY_NAME,
    STANDING_FLAGS,
    STANDING_READ_ONLY,
)
from sequences_app.models import Priority, Sequence, StepType
from sequences_app.selectors import sequences_visible_to
from sequences_app.services.inputs import FieldErrors, is_int, require_object
from sequences_app.tokens import tokens_validate_fields
from workflows_app.models import ActionType, TriggerType

MAX_ACTIONS = 50
# Codes of the authority rule (API.md, "Workflows"): saving (403) and running (a failed history row).
ACTS_AS_OTHER_USER = "ACTS_AS_OTHER_USER"
AUTHOR_INACTIVE = "WORKFLOW_AUTHOR_INACTIVE"
# The action keys that name a person the workflow acts for.
PERSON_KEYS = {"enroll_in_sequence": "sender", "create_task": "owner"}
MAX_DELAY_DAYS = 365
CONTACT_OWNER = "contact_owner"
FIELDS = frozenset({"name", "enabled", "trigger", "reenroll", "actions", "sequence"})
READ_ONLY_FIELDS = frozenset({"id", "created_by", "updated_by", "created_at", "updated_at"})
# Contact columns a set_property action may write, with their longest text (None: not free text).
# Email and the email-standing flags are left out: a workflow must not re-subscribe anybody, nor say a
# contact unsubscribed or bounced when they didn't (contacts_app.services, "Email standing").
SETTABLE_COLUMNS: dict[str, int | None] = {
    "first_name": 150, "last_name": 150, "job_title": 200, "phone": 50,
    "lifecycle_stage": None, "time_zone": None, "owner": None, "company": None,
}
ACTION_KEYS = {
    ActionType.ENROLL_IN_SEQUENCE: {"sequence", "sender", "start_step"},
    ActionType.UNENROLL_FROM_SEQUENCE: {"sequence"},
    ActionType.SET_PROPERTY: {"field", "value"},
    ActionType.DELAY: {"days"},
    ActionType.CREATE_TASK: {"title", "owner", "due_in_days", "notes", "priority", "task_type"},
}
TASK_TYPES = [value for value in StepType.values if value != StepType.AUTOMATED_EMAIL]


def workflow_clean(data: Any, *, user: User, partial: bool = False) -> dict[str, Any]:
    """Model field values for what `data` gives (everything, unless `partial`)."""
    data = require_object(data)
    errors = FieldErrors()
    unknown = set(data) - FIELDS - READ_ONLY_FIELDS
    for key in sorted(unknown):
        errors.add(key, "Unknown field.")
    clean: dict[str, Any] = {}
    if not partial or "name" in data:
        clean["name"] = errors.text(data.get("name"), field="name", max_length=200, required=True, single_line=True,
                                    strip=True)
    if not partial or "enabled" in data:
        clean["enabled"] = errors.boolean(data.get("enabled"), field="enabled", default=False)
    if not partial or "reenroll" in data:
        clean["reenroll"] = errors.boolean(data.get("reenroll"), field="reenroll", default=False)
    if not partial or "trigger" in data:
        clean.update(_trigger(errors, data.get("trigger"), user))
    if not partial or "actions" in data:
        clean["actions"] = _actions(errors, data.get("actions"), user)
    if not partial or "sequence" in data:
        clean["sequence"] = _sequence(errors, data.get("sequence"), "sequence", user, required=False)
    errors.raise_if_any("The workflow is not valid.")
    return clean


def _trigger(errors: FieldErrors, value: Any, user: User) -> dict[str, Any]:
    if not isinstance(value, dict):
        errors.add("trigger", "Must be an object with a type (and filters, list or sequence).")
        return {}
    for key in sorted(set(value) - {"type", "filters", "list", "sequence"}):
        errors.add(f"trigger.{key}", "Unknown field.")
    kind = errors.choice(value.get("type"), field="trigger.type", choices=TriggerType.values)
    filters_given, list_given, sequence_given = (value.get(k) for k in ("filters", "list", "sequence"))
    clean: dict[str, Any] = {"trigger_type": kind, "trigger_filters": [], "trigger_list": None,
                             "trigger_sequence": None}
    if kind == TriggerType.PROPERTY_MATCHES:
        clean["trigger_filters"] = _filters(errors, filters_given, required=True)
    elif kind == TriggerType.CONTACT_CREATED:
        clean["trigger_filters"] = _filters(errors, filters_given, required=False)
    elif filters_given:
        errors.add("trigger.filters", "Only contact_created and property_matches triggers use filters.")
    if kind == TriggerType.LIST_JOINED:
        clean["trigger_list"] = _row(errors, list_given, "trigger.list", ContactList.objects.all(), "list",
                                     required=True)
    elif list_given is not None:
        errors.add("trigger.list", "Only a list_joined trigger names a list.")
    if kind == TriggerType.SEQUENCE_ENDED:
        # null: an enrollment in any sequence ending fires it.
        clean["trigger_sequence"] = _sequence(errors, sequence_given, "trigger.sequence", user, required=False)
    elif sequence_given is not None:
        errors.add("trigger.sequence", "Only a sequence_ended trigger names a sequence.")
    return clean


def _filters(errors: FieldErrors, value: Any, *, required: bool) -> list[dict[str, Any]]:
    if value is None:
        value = []
    if isinstance(value, list) and (len(value) > MAX_LIST_FILTERS or (required and not value)):
        errors.add("trigger.filters", f"Give {1 if required else 0} to {MAX_LIST_FILTERS} filters.")
        return []
    try:
        cleaned = filters_validate(value)
        # Building the query catches what only the field's type can tell ("contains" on a yes/no field).
        filters_to_q(cleaned)
    except FilterError as exc:
        errors.add("trigger.filters", str(exc))
        return []
    return cleaned


def _actions(errors: FieldErrors, value: Any, user: User) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_ACTIONS:
        errors.add("actions", f"Give 1 to {MAX_ACTIONS} actions, in order.")
        return []
    return [_action(errors, item, f"actions.{index}", user) for index, item in enumerate(value)]


def _action(errors: FieldErrors, item: Any, path: str, user: User) -> dict[str, Any]:
    if not isinstance(item, dict):
        errors.add(path, "Each action is an object with a type.")
        return {}
    kind = errors.choice(item.get("type"), field=f"{path}.type", choices=ActionType.values)
    if kind is None:
        return {}
    for key in sorted(set(item) - ACTION_KEYS[kind] - {"type"}):
        errors.add(f"{path}.{key}", f"Unknown field for {kind}.")
    if kind == ActionType.ENROLL_IN_SEQUENCE:
        sequence = _sequence(errors, item.get("sequence"), f"{path}.sequence", user, required=True)
        start_step = errors.integer(item.get("start_step", 1), field=f"{path}.start_step", minimum=1, maximum=1000)
        if sequence is not None and start_step is not None and not sequence.steps.filter(order=start_step).exists():
            errors.add(f"{path}.start_step", f"“{sequence.name}” has no step {start_step}.")
        return {"type": kind, "sequence": sequence.pk if sequence else None,
                "sender": _person(errors, item.get("sender", CONTACT_OWNER), f"{path}.sender"),
                "start_step": start_step}
    if kind == ActionType.UNENROLL_FROM_SEQUENCE:
        sequence = _sequence(errors, item.get("sequence"), f"{path}.sequence", user, required=False)
        return {"type": kind, "sequence": sequence.pk if sequence else None}
    if kind == ActionType.SET_PROPERTY:
        field, value = _property(errors, item.get("field"), item.get("value"), path)
        return {"type": kind, "field": field, "value": value}
    if kind == ActionType.DELAY:
        days = errors.integer(item.get("days"), field=f"{path}.days", minimum=1, maximum=MAX_DELAY_DAYS)
        return {"type": kind, "days": days}
    title = errors.text(item.get("title"), field=f"{path}.title", max_length=255, required=True, single_line=True,
                        strip=True)
    notes = errors.text(item.get("notes"), field=f"{path}.notes", max_length=20_000)
    errors.merge(tokens_validate_fields({f"{path}.title": title, f"{path}.notes": notes}))
    return {
        "type": kind, "title": title, "notes": notes,
        "owner": _person(errors, item.get("owner", CONTACT_OWNER), f"{path}.owner"),
        "due_in_days": errors.integer(item.get("due_in_days", 0), field=f"{path}.due_in_days", minimum=0,
                                      maximum=MAX_DELAY_DAYS),
        "priority": errors.choice(item.get("priority"), field=f"{path}.priority", choices=Priority.values,
                                  default=Priority.NONE),
        "task_type": errors.choice(item.get("task_type"), field=f"{path}.task_type", choices=TASK_TYPES,
                                   default=StepType.TODO),
    }


def _property(errors: FieldErrors, field: Any, value: Any, path: str) -> tuple[str, Any]:
    """The field a set_property action writes and the value, checked for that field."""
    if isinstance(field, str) and field.startswith("properties."):
        name = field.removeprefix("properties.")
        if not PROPERTY_NAME.match(name):
            errors.add(f"{path}.field", "A property name starts with a letter or _ and has only letters, digits and _.")
        elif value is not None and (not isinstance(value, str | int | float | bool) or (
                isinstance(value, str) and len(value) > MAX_PROPERTY_TEXT)):
            errors.add(f"{path}.value", "A property value is text, a number, true/false or null (which clears it).")
        return field, value
    if field in (*STANDING_FLAGS, "bounce_reason"):
        errors.add(f"{path}.field", f"Email standing is set by what the contact did; a workflow can't change it "
                                    f"({STANDING_READ_ONLY}).")
        return "", None
    if field not in SETTABLE_COLUMNS:
        choices = ", ".join(SETTABLE_COLUMNS)
        errors.add(f"{path}.field", f"Must be one of {choices}, or properties.<name>.")
        return "", None
    if field in ("owner", "company"):
        if value is None:
            return field, None
        model = User if field == "owner" else Company
        row = _row(errors, value, f"{path}.value", model.objects.all(), field, required=True)
        return field, row.pk if row else None
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.add(f"{path}.value", "Must be text.")
        return field, ""
    value = value.strip()
    if field == "lifecycle_stage" and value and value not in Contact.LifecycleStage.values:
        errors.add(f"{path}.value", f"Choose one of {', '.join(Contact.LifecycleStage.values)}.")
    elif field == "time_zone" and value and not time_zone_is_valid(value):
        errors.add(f"{path}.value", f"{value!r} is not an IANA time zone such as 'Europe/Helsinki'.")
    elif (limit := SETTABLE_COLUMNS[field]) is not None and len(value) > limit:
        errors.add(f"{path}.value", f"Must be at most {limit} characters.")
    return field, value


def _person(errors: FieldErrors, value: Any, path: str) -> str | int | None:
    """`"contact_owner"` or the id of an active user."""
    if value == CONTACT_OWNER:
        return CONTACT_OWNER
    if not is_int(value) or not User.objects.filter(pk=value, is_active=True).exists():
        errors.add(path, "Must be \"contact_owner\" or the id of an active user.")
        return None
    return value


def _sequence(errors: FieldErrors, value: Any, path: str, user: User, *, required: bool) -> Sequence | None:
    if value is None and not required:
        return None
    return _row(errors, value, path, sequences_visible_to(user), "sequence", required=True)


def _row(errors: FieldErrors, value: Any, path: str, rows: Any, noun: str, *, required: bool) -> Any:
    if value is None and not required:
        return None
    if not is_int(value) or value < 1 or value > 2**63 - 1:
        errors.add(path, f"Must be a {noun} id.")
        return None
    found = rows.filter(pk=value).first()
    if found is None:
        errors.add(path, f"No {noun} with id {value}.")
    return found


# --- Authority: whose name a workflow may act in ---------------------------------------------------


def person_refusal(actor: User | None, who: Any) -> tuple[str, str] | None:
    """(code, sentence) when a workflow saved by `actor` may not act for `who`, else None.

    `who` is an action's sender or task owner: a user id or "contact_owner".
    Anyone may name themselves; naming another user, or the contact's owner
    (who can be anybody), takes an admin.
    """
    if actor is None or not actor.is_active:
        return AUTHOR_INACTIVE, ("Nobody active saved this workflow last, so it acts for nobody; "
                                 "an admin or its owner must save it again.")
    if actor.is_staff or (is_int(who) and who == actor.pk):
        return None
    if who == CONTACT_OWNER:
        return ACTS_AS_OTHER_USER, (f"Only an admin's workflow may act for the contact's owner; "
                                    f"{actor} is not an admin.")
    return ACTS_AS_OTHER_USER, f"Only an admin's workflow may act for another user; {actor} is not an admin."


def workflow_authority_check(actions: list[dict[str, Any]], *, user: User) -> None:
    """Refuse (403 ACTS_AS_OTHER_USER, naming each field) actions `user` may not save in their own name."""
    fields: dict[str, list[str]] = {}
    for index, action in enumerate(actions):
        key = PERSON_KEYS.get(action.get("type", ""))
        if key is None:
            continue
        refusal = person_refusal(user, action.get(key))
        if refusal is not None:
            fields[f"actions.{index}.{key}"] = ["Only admins may name another user or the contact's owner here; "
                                                "name yourself."]
    if fields:
        raise NotAllowed(ACTS_AS_OTHER_USER, "Only an admin may make a workflow send as, or give tasks to, "
                         "another user or the contact's owner.", fields=fields)
