"""Workflows in words, for the pages: "A contact starts matching: lifecycle stage is lead", "Wait 2 days"."""
from __future__ import annotations

from typing import Any

from workflows_app.models import ActionType, TriggerType, Workflow
from workflows_app.validation import CONTACT_OWNER

OPERATORS = {"eq": "is", "neq": "is not", "contains": "contains", "in": "is any of", "is_set": "is known",
             "is_not_set": "is unknown"}


def filters_text(filters: list[dict[str, Any]]) -> str:
    parts = []
    for item in filters:
        field = item["field"].removeprefix("properties.").replace("_", " ").replace(".", " ")
        value = item.get("value")
        shown = ", ".join(str(v) for v in value) if isinstance(value, list) else ("" if value is None else str(value))
        parts.append(f"{field} {OPERATORS.get(item['operator'], item['operator'])} {shown}".strip())
    return " and ".join(parts)


def trigger_text(workflow: Workflow, names: dict[str, dict[int, str]]) -> str:
    kind = workflow.trigger_type
    if kind == TriggerType.CONTACT_CREATED:
        extra = f" where {filters_text(workflow.trigger_filters)}" if workflow.trigger_filters else ""
        return f"A contact is created{extra}"
    if kind == TriggerType.PROPERTY_MATCHES:
        return f"A contact starts matching: {filters_text(workflow.trigger_filters)}"
    if kind == TriggerType.LIST_JOINED:
        name = names["lists"].get(workflow.trigger_list_id or 0)
        return f"A contact joins the list “{name}”" if name else "A contact joins a list that was deleted"
    if workflow.trigger_sequence_id is None:
        return "A contact's enrollment in any sequence ends"
    name = names["sequences"].get(workflow.trigger_sequence_id, "a deleted sequence")
    return f"A contact's enrollment in “{name}” ends"


def action_text(action: dict[str, Any], names: dict[str, dict[int, str]]) -> str:
    kind = action.get("type")
    if kind == ActionType.ENROLL_IN_SEQUENCE:
        sequence = names["sequences"].get(action.get("sequence") or 0, "a deleted sequence")
        step = f", from step {action['start_step']}" if action.get("start_step", 1) != 1 else ""
        return f"Enroll in “{sequence}” (sender: {_person(action.get('sender'), names)}{step})"
    if kind == ActionType.UNENROLL_FROM_SEQUENCE:
        if not action.get("sequence"):
            return "Unenroll from any sequence"
        return f"Unenroll from “{names['sequences'].get(action['sequence'], 'a deleted sequence')}”"
    if kind == ActionType.SET_PROPERTY:
        field = str(action.get("field", "")).replace("_", " ")
        value = action.get("value")
        if action.get("field") == "owner" and value:
            value = names["users"].get(value, f"user {value}")
        return f"Clear {field}" if value in (None, "") else f"Set {field} to “{value}”"
    if kind == ActionType.DELAY:
        days = action.get("days") or 0
        return f"Wait {days} day{'s' if days != 1 else ''}"
    if kind == ActionType.CREATE_TASK:
        days = action.get("due_in_days") or 0
        due = "due at once" if not days else f"due in {days} day{'s' if days != 1 else ''}"
        return f"Create task “{action.get('title', '')}” for {_person(action.get('owner'), names)}, {due}"
    return str(kind)


def _person(who: Any, names: dict[str, dict[int, str]]) -> str:
    if who == CONTACT_OWNER:
        return "the contact owner"
    return names["users"].get(who, "a deleted user") if isinstance(who, int) else "—"
