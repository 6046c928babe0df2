"""The workflow editor's form: its fields, the API payload built from them, and the editing buttons.

The editor posts plain form fields (`actions-2-days`); `payload_from_form`
turns them into the API's payload so the page and the API share every rule
(`workflow_create`/`workflow_update` validate it). "+ Delay", "Remove" and
the arrows are submit buttons handled here too, so the editor works without
JavaScript: the form comes back with the change and nothing is saved yet.
"""
from __future__ import annotations

import re
from typing import Any

from django.http import QueryDict

from workflows_app.models import ActionType, TriggerType, Workflow
from workflows_app.validation import CONTACT_OWNER

ACTION_FIELDS = ("sequence", "sender", "start_step", "field", "value", "days", "title", "notes", "owner",
                 "due_in_days", "priority", "task_type")
_ACTION_KEY = re.compile(r"^actions-(\d{1,2})-type$")
_FILTER_KEY = re.compile(r"^filters-(\d{1,2})-field$")
# What a new action starts with, per type (strings, as the form holds them).
BLANK_ACTIONS: dict[str, dict[str, str]] = {
    ActionType.ENROLL_IN_SEQUENCE: {"sequence": "", "sender": CONTACT_OWNER, "start_step": "1"},
    ActionType.UNENROLL_FROM_SEQUENCE: {"sequence": ""},
    ActionType.SET_PROPERTY: {"field": "lifecycle_stage", "value": ""},
    ActionType.DELAY: {"days": "1"},
    ActionType.CREATE_TASK: {"title": "", "notes": "", "owner": CONTACT_OWNER, "due_in_days": "0",
                             "priority": "none", "task_type": "todo"},
}


def form_initial(workflow: Workflow | None = None, *, sequence_id: int | None = None) -> dict[str, Any]:
    """The form's values for a workflow (or a new one)."""
    if workflow is None:
        return {
            "name": "", "enabled": False, "reenroll": False, "sequence": str(sequence_id or ""),
            "trigger_type": TriggerType.PROPERTY_MATCHES, "filters": [_blank_filter()], "trigger_list": "",
            "trigger_sequence": "", "actions": [_blank_action(ActionType.ENROLL_IN_SEQUENCE, sequence_id)],
        }
    return {
        "name": workflow.name, "enabled": workflow.enabled, "reenroll": workflow.reenroll,
        "sequence": _text(workflow.sequence_id), "trigger_type": workflow.trigger_type,
        "filters": [
            {"field": f["field"], "operator": f["operator"],
             "value": ", ".join(map(str, f["value"])) if isinstance(f["value"], list) else _text(f["value"])}
            for f in workflow.trigger_filters
        ] or [_blank_filter()],
        "trigger_list": _text(workflow.trigger_list_id), "trigger_sequence": _text(workflow.trigger_sequence_id),
        "actions": [
            {"type": action["type"], **{key: _text(action.get(key)) for key in ACTION_FIELDS}}
            for action in workflow.actions
        ],
    }


def form_from_post(data: QueryDict) -> dict[str, Any]:
    filter_indexes = sorted(int(m.group(1)) for key in data if (m := _FILTER_KEY.match(key)))
    action_indexes = sorted(int(m.group(1)) for key in data if (m := _ACTION_KEY.match(key)))
    return {
        "name": data.get("name", ""), "enabled": data.get("enabled") == "on", "reenroll": data.get("reenroll") == "on",
        "sequence": data.get("sequence", ""), "trigger_type": data.get("trigger_type", ""),
        "filters": [
            {key: data.get(f"filters-{i}-{key}", "") for key in ("field", "operator", "value")}
            for i in filter_indexes
        ],
        "trigger_list": data.get("trigger_list", ""), "trigger_sequence": data.get("trigger_sequence", ""),
        "actions": [
            {"type": data.get(f"actions-{i}-type", ""), **{key: data.get(f"actions-{i}-{key}", "")
                                                          for key in ACTION_FIELDS}}
            for i in action_indexes
        ],
    }


def form_edit(form: dict[str, Any], data: QueryDict) -> bool:
    """Apply an editing button (add, remove, move); True when one was pressed (then nothing is saved)."""
    actions, filters = form["actions"], form["filters"]
    if (kind := data.get("add_action")) in BLANK_ACTIONS:
        actions.append(_blank_action(kind, None))
    elif (index := _index(data.get("remove_action"), actions)) is not None:
        actions.pop(index)
    elif (index := _index(data.get("move_up"), actions)) is not None and index > 0:
        actions[index - 1], actions[index] = actions[index], actions[index - 1]
    elif "add_filter" in data:
        filters.append(_blank_filter())
    elif (index := _index(data.get("remove_filter"), filters)) is not None:
        filters.pop(index)
    else:
        return False
    return True


def payload_from_form(form: dict[str, Any]) -> dict[str, Any]:
    """The API payload (API.md) the form describes; types are only shaped, the service checks values."""
    kind = form["trigger_type"]
    trigger: dict[str, Any] = {"type": kind}
    if kind in (TriggerType.PROPERTY_MATCHES, TriggerType.CONTACT_CREATED):
        trigger["filters"] = [_filter(f) for f in form["filters"] if f["field"].strip()]
    if kind == TriggerType.LIST_JOINED:
        trigger["list"] = _id(form["trigger_list"])
    if kind == TriggerType.SEQUENCE_ENDED:
        trigger["sequence"] = _id(form["trigger_sequence"])
    return {
        "name": form["name"], "enabled": form["enabled"], "reenroll": form["reenroll"], "trigger": trigger,
        "actions": [_action(action) for action in form["actions"]], "sequence": _id(form["sequence"]),
    }


def errors_for_form(form: dict[str, Any], fields: dict[str, list[str]]) -> dict[str, list[str]]:
    """Attach `actions.N.key` problems to their action (`action["errors"]`); return the others."""
    rest: dict[str, list[str]] = {}
    for action in form["actions"]:
        action["errors"] = {}
    for path, messages in fields.items():
        parts = path.split(".")
        if parts[0] == "actions" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(form["actions"]):
            form["actions"][int(parts[1])]["errors"][parts[2]] = messages
        else:
            rest[path] = messages
    return rest


def _filter(item: dict[str, str]) -> dict[str, Any]:
    operator = item["operator"]
    value: Any = item["value"].strip()
    if operator == "in":
        value = [part.strip() for part in value.split(",") if part.strip()]
    elif operator in ("is_set", "is_not_set"):
        value = None
    return {"field": item["field"].strip(), "operator": operator, "value": value}


def _action(action: dict[str, str]) -> dict[str, Any]:
    kind = action["type"]
    if kind == ActionType.ENROLL_IN_SEQUENCE:
        return {"type": kind, "sequence": _id(action["sequence"]), "sender": _person(action["sender"]),
                "start_step": _number(action["start_step"])}
    if kind == ActionType.UNENROLL_FROM_SEQUENCE:
        return {"type": kind, "sequence": _id(action["sequence"])}
    if kind == ActionType.SET_PROPERTY:
        field = action["field"].strip()
        value: Any = action["value"]
        if field in ("owner", "company"):
            value = _id(value)
        elif field.startswith("properties.") and not value.strip():
            value = None  # an empty value clears the property
        return {"type": kind, "field": field, "value": value}
    if kind == ActionType.DELAY:
        return {"type": kind, "days": _number(action["days"])}
    if kind == ActionType.CREATE_TASK:
        return {"type": kind, "title": action["title"], "notes": action["notes"], "owner": _person(action["owner"]),
                "due_in_days": _number(action["due_in_days"]), "priority": action["priority"] or "none",
                "task_type": action["task_type"] or "todo"}
    return {"type": kind}


def _blank_filter() -> dict[str, str]:
    return {"field": "lifecycle_stage", "operator": "eq", "value": ""}


def _blank_action(kind: str, sequence_id: int | None) -> dict[str, Any]:
    action = {"type": kind, **dict.fromkeys(ACTION_FIELDS, ""), **BLANK_ACTIONS[kind]}
    if sequence_id and "sequence" in BLANK_ACTIONS[kind]:
        action["sequence"] = str(sequence_id)
    return action


def _index(value: str | None, items: list[Any]) -> int | None:
    if value is not None and value.isdigit() and int(value) < len(items):
        return int(value)
    return None


def _id(value: str) -> int | str | None:
    value = (value or "").strip()
    if not value:
        return None
    return int(value) if value.isdigit() and len(value) < 19 else value


def _number(value: str) -> int | str:
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) < 10 else value


def _person(value: str) -> int | str:
    return CONTACT_OWNER if value in ("", CONTACT_OWNER) else _number(value)


def _text(value: Any) -> str:
    return "" if value is None else str(value)
