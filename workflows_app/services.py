"""Writes over workflows: create, edit, turn on and off, delete — Enterprise seats and admins only.

Every entry point (API, the Workflows pages, a sequence's Automation tab)
comes through here, so the permission rules and the payload rules
(`workflows_app.validation`) are written once:

1. Writing needs an Enterprise seat or admin (ENTERPRISE_REQUIRED).
2. A workflow is changed, turned on or off and deleted by its owner (who
   created it) or an admin (PERMISSION_DENIED).
3. Saving or turning on makes the user the workflow's actor (`updated_by`):
   its actions then carry that user's authority, so what they name must be
   theirs to name (ACTS_AS_OTHER_USER) — checked on the whole workflow, not
   only on the fields the request changed.
"""
from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts_app.models import User
from accounts_app.selectors import user_is_enterprise
from config.errors import NotAllowed
from workflows_app.models import Workflow, WorkflowRun
from workflows_app.validation import workflow_authority_check, workflow_clean


def workflow_require_enterprise(user: User) -> None:
    """Creating, editing, turning on or off and deleting workflows need an Enterprise seat or admin."""
    if not (user.is_active and (user.is_staff or user_is_enterprise(user))):
        raise NotAllowed("ENTERPRISE_REQUIRED", "Workflows need an Enterprise seat; ask an admin for one.")


def workflow_require_editor(user: User, workflow: Workflow) -> None:
    """Changing, turning on or off and deleting a workflow: an Enterprise user who owns it, or an admin."""
    workflow_require_enterprise(user)
    if not (user.is_staff or (workflow.created_by_id is not None and workflow.created_by_id == user.pk)):
        raise NotAllowed("PERMISSION_DENIED", "Only the workflow's owner (who created it) or an admin may change it.")


def workflow_may_edit(user: User, workflow: Workflow | None = None) -> bool:
    """Whether `user` may create workflows (no `workflow`) or change this one."""
    try:
        if workflow is None:
            workflow_require_enterprise(user)
        else:
            workflow_require_editor(user, workflow)
    except NotAllowed:
        return False
    return True


def workflows_editable_by(user: User, workflows: list[Workflow]) -> set[int]:
    """Ids of the workflows `user` may change (the rule above, with one seat lookup for a whole page)."""
    if not workflow_may_edit(user):
        return set()
    return {w.pk for w in workflows if user.is_staff or (w.created_by_id is not None and w.created_by_id == user.pk)}


@transaction.atomic
def workflow_create(*, user: User, data: Any) -> Workflow:
    """Create a workflow from API-shaped values (API.md); raises ValidationFailed listing every problem."""
    workflow_require_enterprise(user)
    clean = workflow_clean(data, user=user)
    workflow_authority_check(clean["actions"], user=user)
    return Workflow.objects.create(created_by=user, updated_by=user, **clean)


@transaction.atomic
def workflow_update(*, workflow: Workflow, user: User, data: Any, partial: bool = True) -> Workflow:
    """PATCH (`partial`) or PUT. Runs already inside continue with the edited actions from where they are."""
    workflow_require_editor(user, workflow)
    clean = workflow_clean(data, user=user, partial=partial)
    workflow_authority_check(clean.get("actions", workflow.actions), user=user)
    was_enabled = workflow.enabled
    for name, value in clean.items():
        setattr(workflow, name, value)
    workflow.updated_by = user
    workflow.save()
    if workflow.enabled != was_enabled:
        _runs_follow(workflow)
    return workflow


@transaction.atomic
def workflow_set_enabled(*, workflow: Workflow, user: User, enabled: bool) -> Workflow:
    """Turning on is a save (the user becomes the actor, so the authority rule applies); turning off is not."""
    workflow_require_editor(user, workflow)
    if workflow.enabled != enabled:
        changes: dict[str, Any] = {"enabled": enabled, "updated_at": timezone.now()}
        if enabled:
            workflow_authority_check(workflow.actions, user=user)
            changes["updated_by"] = user
            workflow.updated_by = user
        Workflow.objects.filter(pk=workflow.pk).update(**changes)
        workflow.enabled = enabled
        _runs_follow(workflow)
    return workflow


@transaction.atomic
def workflow_delete(*, workflow: Workflow, user: User) -> None:
    """Delete a workflow with its runs and history (contacts waiting in a delay go no further)."""
    workflow_require_editor(user, workflow)
    workflow.delete()


def _runs_follow(workflow: Workflow) -> None:
    """Turning a workflow off parks its waiting runs; turning it on lets them go on (a delay that
    ran out meanwhile is due at once). Parked runs stay out of the tick's due index."""
    runs = WorkflowRun.objects.filter(workflow=workflow)
    if workflow.enabled:
        runs.filter(status=WorkflowRun.Status.PAUSED).update(status=WorkflowRun.Status.WAITING)
    else:
        runs.filter(status=WorkflowRun.Status.WAITING).update(status=WorkflowRun.Status.PAUSED)
