"""Reads over workflows: lists, a sequence's Automation tab, history, and the names summaries need."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Q, QuerySet

from accounts_app.models import User
from contacts_app.models import ContactList
from sequences_app.models import Sequence
from workflows_app.models import ActionType, Workflow, WorkflowHistory, WorkflowRun


def workflows_list(*, enabled: bool | None = None, sequence_id: int | None = None,
                   trigger_type: str | None = None) -> QuerySet[Workflow]:
    """Workflows are portal-wide: everyone signed in reads them; Enterprise seats and admins change them."""
    workflows = Workflow.objects.all()
    if enabled is not None:
        workflows = workflows.filter(enabled=enabled)
    if sequence_id is not None:
        workflows = workflows.filter(sequence_id=sequence_id)
    if trigger_type:
        workflows = workflows.filter(trigger_type=trigger_type)
    return workflows.order_by("name", "id")


def workflows_for_sequence(sequence: Sequence) -> QuerySet[Workflow]:
    """The workflows on a sequence's Automation tab (linked to it)."""
    return Workflow.objects.filter(sequence=sequence).order_by("name", "id")


def workflow_history(
    *, workflow: Workflow, outcome: str | None = None, contact_id: int | None = None
) -> QuerySet[WorkflowHistory]:
    history = WorkflowHistory.objects.filter(workflow=workflow)
    if outcome:
        history = history.filter(outcome=outcome)
    if contact_id is not None:
        history = history.filter(contact_id=contact_id)
    return history.order_by("-at", "-id")


def workflow_run_counts(workflow_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Per workflow: contacts that entered, are in it now (waiting or paused), and actions that failed."""
    ids = list(workflow_ids)
    counts: dict[int, dict[str, int]] = {pk: {"entered": 0, "live": 0, "failed": 0} for pk in ids}
    if not ids:
        return counts
    runs = (
        WorkflowRun.objects.filter(workflow_id__in=ids)
        .values("workflow_id")
        .annotate(entered=Count("id"), live=Count("id", filter=Q(status__in=WorkflowRun.LIVE_STATUSES)))
    )
    for row in runs:
        counts[row["workflow_id"]].update(entered=row["entered"], live=row["live"])
    failed = (
        WorkflowHistory.objects.filter(workflow_id__in=ids, outcome=WorkflowHistory.Outcome.FAILED)
        .values("workflow_id")
        .annotate(failed=Count("id"))
    )
    for row in failed:
        counts[row["workflow_id"]]["failed"] = row["failed"]
    return counts


def workflow_names(workflows: Iterable[Workflow]) -> dict[str, dict[int, str]]:
    """Names of the sequences, lists and users the workflows mention: three queries for any number."""
    sequence_ids: set[int] = set()
    list_ids: set[int] = set()
    user_ids: set[int] = set()
    for workflow in workflows:
        for value in (workflow.sequence_id, workflow.trigger_sequence_id):
            if value:
                sequence_ids.add(value)
        if workflow.trigger_list_id:
            list_ids.add(workflow.trigger_list_id)
        for action in workflow.actions:
            _collect(action, sequence_ids, user_ids)
    return {
        "sequences": dict(Sequence.objects.filter(pk__in=sequence_ids).values_list("pk", "name")) if sequence_ids
        else {},
        "lists": dict(ContactList.objects.filter(pk__in=list_ids).values_list("pk", "name")) if list_ids else {},
        "users": {user.pk: str(user) for user in User.objects.filter(pk__in=user_ids)} if user_ids else {},
    }


def _collect(action: dict[str, Any], sequence_ids: set[int], user_ids: set[int]) -> None:
    if action.get("type") in (ActionType.ENROLL_IN_SEQUENCE, ActionType.UNENROLL_FROM_SEQUENCE) and action.get(
        "sequence"
    ):
        sequence_ids.add(action["sequence"])
    for key in ("sender", "owner"):
        if isinstance(action.get(key), int):
            user_ids.add(action[key])
    if action.get("type") == ActionType.SET_PROPERTY and action.get("field") == "owner" and action.get("value"):
        user_ids.add(action["value"])


