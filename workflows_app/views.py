"""The Workflows pages, and the Automation tab of a sequence's page.

Pages build the API's payload (`workflows_app.forms`) and call the same
services as the API, so every rule — Enterprise only, the payload checks —
is written once; a refused save shows the service's messages next to the
inputs they name. Toggles answer htmx with the row, and plain posts with a
redirect.
"""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from accounts_app.models import User
from config.errors import ServiceError
from config.paging import paginate
from config.params import id_or_none
from contacts_app.filters import BOOLEAN_FIELDS, ID_FIELDS, OPERATORS, TEXT_FIELDS
from contacts_app.models import Contact, ContactList
from sequences_app.models import Priority, Sequence, StepType
from sequences_app.page_messages import service_error_text
from sequences_app.pages.sequences import _sequence_context
from sequences_app.selectors import sequences_visible_to
from workflows_app.describe import OPERATORS as OPERATOR_LABELS
from workflows_app.describe import action_text, trigger_text
from workflows_app.forms import (
    ACTION_FIELDS,
    errors_for_form,
    form_edit,
    form_from_post,
    form_initial,
    payload_from_form,
)
from workflows_app.models import ActionType, TriggerType, Workflow, WorkflowHistory
from workflows_app.selectors import (
    workflow_history,
    workflow_names,
    workflow_run_counts,
    workflows_for_sequence,
    workflows_list,
)
from workflows_app.services import (
    workflow_create,
    workflow_delete,
    workflow_may_edit,
    workflow_set_enabled,
    workflow_update,
    workflows_editable_by,
)
from workflows_app.validation import SETTABLE_COLUMNS, TASK_TYPES

ENTERPRISE_NOTE = "Creating, editing and turning workflows on or off needs an Enterprise seat. Ask an admin."


def _refusal_text(exc: ServiceError) -> str:
    """What to tell the user when a workflow service refused: a missing Enterprise seat says how to get one."""
    return ENTERPRISE_NOTE if exc.code == "ENTERPRISE_REQUIRED" else service_error_text(exc)


def _rows(workflows: list[Workflow], user: User) -> list[dict[str, Any]]:
    """Each workflow with its trigger and actions in words, its counts, and whether `user` may change it
    (a fixed few queries)."""
    names = workflow_names(workflows)
    counts = workflow_run_counts([w.pk for w in workflows])
    editable = workflows_editable_by(user, workflows)
    return [
        {
            "workflow": w, "trigger": trigger_text(w, names), "counts": counts[w.pk], "may_change": w.pk in editable,
            "actions": [action_text(action, names) for action in w.actions],
            "sequence_name": names["sequences"].get(w.sequence_id or 0, ""),
        }
        for w in workflows
    ]


@login_required
def workflow_index(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    enabled = {"on": True, "off": False}.get(state)
    page = paginate(workflows_list(enabled=enabled), request.GET)
    context = {"page": page, "rows": _rows(page.items, request.user), "state": state,
               "may_edit": workflow_may_edit(request.user), "enterprise_note": ENTERPRISE_NOTE}
    return render(request, "workflows/index.html", context)


def _people(user: User) -> dict[str, Any]:
    """Whom the sender and task-owner selects offer: an admin anybody (and the contact's owner), others
    themselves — what the service accepts (`validation.workflow_authority_check`)."""
    if user.is_staff:
        users: Any = User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")
    else:
        users = [user]
    return {"people": users, "may_name_others": user.is_staff}


def _choices(request: HttpRequest) -> dict[str, Any]:
    """What the editor's selects offer."""
    return {
        "trigger_types": TriggerType.choices,
        "action_types": ActionType.choices,
        "operators": [(value, OPERATOR_LABELS[value]) for value in OPERATORS],
        "filter_fields": [*TEXT_FIELDS, *BOOLEAN_FIELDS, *ID_FIELDS, "properties."],
        "settable_fields": [*SETTABLE_COLUMNS, "properties."],
        "stages": Contact.LifecycleStage.choices,
        "lists": ContactList.objects.order_by("name"),
        "sequences": sequences_visible_to(request.user).order_by("name"),
        **_people(request.user),
        "priorities": Priority.choices,
        "task_types": [(value, label) for value, label in StepType.choices if value in TASK_TYPES],
    }


def _editor(request: HttpRequest, workflow: Workflow | None) -> HttpResponse:
    may_edit = workflow_may_edit(request.user, workflow)
    errors: dict[str, list[str]] = {}
    error = ""
    status = 200
    if request.method == "POST":
        form = form_from_post(request.POST)
        if not form_edit(form, request.POST):
            payload = payload_from_form(form)
            try:
                if workflow is None:
                    saved = workflow_create(user=request.user, data=payload)
                else:
                    saved = workflow_update(workflow=workflow, user=request.user, data=payload, partial=False)
            except ServiceError as exc:
                errors = exc.extra.get("fields") or {}
                error = _refusal_text(exc)
                status = exc.status_code
            else:
                messages.success(request, f"Workflow “{saved.name}” saved{' and on' if saved.enabled else ''}.")
                return redirect("workflows:index")
    else:
        sequence_id = request.GET.get("sequence", "")
        form = form_initial(workflow, sequence_id=id_or_none(sequence_id))
    rest = errors_for_form(form, errors)
    context = {"form": form, "workflow": workflow, "errors": rest, "error": error, "may_edit": may_edit,
               "enterprise_note": ENTERPRISE_NOTE, **_choices(request)}
    return render(request, "workflows/editor.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def workflow_new(request: HttpRequest) -> HttpResponse:
    return _editor(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def workflow_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _editor(request, get_object_or_404(Workflow, pk=pk))


@login_required
@require_POST
def workflow_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    """Turn on (`enabled=1`) or off (`enabled=0`); htmx gets the row back, a plain post a redirect."""
    workflow = get_object_or_404(Workflow, pk=pk)
    error = ""
    try:
        workflow_set_enabled(workflow=workflow, user=request.user, enabled=request.POST.get("enabled") == "1")
    except ServiceError as exc:
        error = _refusal_text(exc)
    if request.htmx:
        template = "workflows/_automation_row.html" if request.POST.get("row") == "automation" else (
            "workflows/_row.html")
        context = {"row": _rows([workflow], request.user)[0], "error": error,
                   "may_edit": workflow_may_edit(request.user)}
        return render(request, template, context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Workflow “{workflow.name}” turned {'on' if workflow.enabled else 'off'}.")
    return _back(request, "workflows:index")


@login_required
@require_POST
def workflow_remove(request: HttpRequest, pk: int) -> HttpResponse:
    workflow = get_object_or_404(Workflow, pk=pk)
    try:
        workflow_delete(workflow=workflow, user=request.user)
    except ServiceError as exc:
        messages.error(request, _refusal_text(exc))
        return redirect("workflows:edit", pk=pk)
    messages.success(request, f"Workflow “{workflow.name}” deleted.")
    return redirect("workflows:index")


@login_required
def workflow_history_page(request: HttpRequest, pk: int) -> HttpResponse:
    workflow = get_object_or_404(Workflow, pk=pk)
    outcome = request.GET.get("outcome", "")
    if outcome not in WorkflowHistory.Outcome.values:
        outcome = ""
    rows = workflow_history(workflow=workflow, outcome=outcome or None).select_related("contact")
    context = {"workflow": workflow, "row": _rows([workflow], request.user)[0], "page": paginate(rows, request.GET),
               "outcome": outcome, "may_edit": workflow_may_edit(request.user, workflow)}
    return render(request, "workflows/history.html", context)


# --- A sequence's Automation tab ----------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def sequence_automation(request: HttpRequest, pk: int) -> HttpResponse:
    """Create workflows that enroll contacts into this sequence (or take them out), and toggle them."""
    sequence = get_object_or_404(sequences_visible_to(request.user).select_related("owner"), pk=pk)
    quick = _quick_initial(sequence, request.user)
    errors: dict[str, list[str]] = {}
    error = ""
    status = 200
    if request.method == "POST":
        quick = {key: request.POST.get(key, "") for key in quick}
        quick["enabled"] = request.POST.get("enabled") == "on"
        try:
            created = workflow_create(user=request.user, data=_quick_payload(quick, sequence))
        except ServiceError as exc:
            errors = exc.extra.get("fields") or {}
            error = _refusal_text(exc)
            status = exc.status_code
        else:
            state = "on" if created.enabled else "off (turn it on below)"
            messages.success(request, f"Workflow “{created.name}” created; it is {state}.")
            return redirect("workflows:sequence-automation", pk=sequence.pk)
    context = _sequence_context(request, sequence, "automation")
    context.update({
        "rows": _rows(list(workflows_for_sequence(sequence)), request.user), "quick": quick, "errors": errors,
        "error": error,
        "may_edit": workflow_may_edit(request.user), "enterprise_note": ENTERPRISE_NOTE,
        "trigger_types": TriggerType.choices, "operators": [(v, OPERATOR_LABELS[v]) for v in OPERATORS],
        "filter_fields": [*TEXT_FIELDS, *BOOLEAN_FIELDS, *ID_FIELDS, "properties."],
        "lists": ContactList.objects.order_by("name"),
        "other_sequences": sequences_visible_to(request.user).exclude(pk=sequence.pk).order_by("name"),
        "stages": Contact.LifecycleStage.choices, **_people(request.user),
    })
    return render(request, "workflows/automation.html", context, status=status)


def _quick_initial(sequence: Sequence, user: User) -> dict[str, Any]:
    return {
        "name": "", "trigger_type": TriggerType.PROPERTY_MATCHES, "filter_field": "lifecycle_stage",
        "filter_operator": "eq", "filter_value": "lead", "trigger_list": "", "trigger_sequence": "",
        "what": "enroll", "sender": "contact_owner" if user.is_staff else str(user.pk), "start_step": "1",
        "enabled": True,
    }


def _quick_payload(quick: dict[str, Any], sequence: Sequence) -> dict[str, Any]:
    """One trigger, one action on this sequence: the Automation tab's shape of the API payload."""
    blank = dict.fromkeys(ACTION_FIELDS, "")
    if quick["what"] == "unenroll":
        action = {**blank, "type": ActionType.UNENROLL_FROM_SEQUENCE, "sequence": str(sequence.pk)}
    else:
        action = {**blank, "type": ActionType.ENROLL_IN_SEQUENCE, "sequence": str(sequence.pk),
                  "sender": quick["sender"], "start_step": quick["start_step"]}
    filters = [{"field": quick["filter_field"], "operator": quick["filter_operator"], "value": quick["filter_value"]}]
    return payload_from_form({
        "name": quick["name"].strip() or _quick_name(quick, sequence), "enabled": quick["enabled"],
        "reenroll": False, "sequence": str(sequence.pk), "trigger_type": quick["trigger_type"],
        "filters": [] if quick["trigger_type"] == TriggerType.CONTACT_CREATED else filters,
        "trigger_list": quick["trigger_list"], "trigger_sequence": quick["trigger_sequence"], "actions": [action],
    })


def _quick_name(quick: dict[str, Any], sequence: Sequence) -> str:
    verb = "Unenroll from" if quick["what"] == "unenroll" else "Enroll in"
    when = dict(TriggerType.choices).get(quick["trigger_type"], "trigger").lower()
    return f"{verb} {sequence.name} when {when}"[:200]


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(fallback)
