"""Writes over workflows: create, edit, turn on and off, delete — Enterprise seats and admins only.

Every entry point (API, the Workflows pages, a sequence's Automation tab)
comes through here, so the permission rule and the payload rules
(`workflows_app.validation`) are written once.
"""
from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts_app.models import User
from accounts_app.selectors import user_is_enterprise
from config.errors import NotAllowed
from workflows_app.models import Workflow, WorkflowRun
from workflows_app.validation import workflow_clean


def workflow_require_enterprise(user: User) -> None:
    """Creating, editing, turning on or off and deleting workflows need an Enterprise seat or admin."""
    if not (user.is_active and (user.is_staff or user_is_enterprise(user))):
        raise NotAllowed("ENTERPRISE_REQUIRED", "Workflows need an Enterprise seat; ask an admin for one.")


def workflow_may_edit(user: User) -> bool:
    try:
        workflow_require_enterprise(user)
    except NotAllowed:
        return False
    return True


@transaction.atomic
def workflow_create(*, user: User, data: Any) -> Workflow:
    """Create a workflow from API-shaped values (API.md); raises ValidationFailed listing every problem."""
    workflow_require_enterprise(user)
    clean = workflow_clean(data, user=user)
    return Workflow.objects.create(created_by=user, **clean)


@transaction.atomic
def workflow_update(*, workflow: Workflow, user: User, data: Any, partial: bool = True) -> Workflow:
    """PATCH (`partial`) or PUT. Runs already inside continue with the edited actions from where they are."""
    workflow_require_enterprise(user)
    clean = workflow_clean(data, user=user, partial=partial)
    was_enabled = workflow.enabled
    for name, value in clean.items():
        setattr(workflow, name, value)
    workflow.save()
    if workflow.enabled != was_enabled:
        _runs_follow(workflow)
    return workflow


@transaction.atomic
def workflow_set_enabled(*, workflow: Workflow, user: User, enabled: bool) -> Workflow:
    workflow_require_enterprise(user)
    if workflow.enabled != enabled:
        Workflow.objects.filter(pk=workflow.pk).update(enabled=enabled, updated_at=timezone.now())
        workflow.enabled = enabled
        _runs_follow(workflow)
    return workflow


@transaction.atomic
def workflow_delete(*, workflow: Workflow, user: User) -> None:
    """Delete a workflow with its runs and history (contacts waiting in a delay go no further)."""
    workflow_require_enterprise(user)
    workflow.delete()


def _runs_follow(workflow: Workflow) -> None:
    """Turning a workflow off parks its waiting runs; turning it on lets them go on (a delay that
    ran out meanwhile is due at once). Parked runs stay out of the tick's due index."""
    runs = WorkflowRun.objects.filter(workflow=workflow)
    if workflow.enabled:
        runs.filter(status=WorkflowRun.Status.PAUSED).update(status=WorkflowRun.Status.WAITING)
    else:
        runs.filter(status=WorkflowRun.Status.WAITING).update(status=WorkflowRun.Status.PAUSED)
