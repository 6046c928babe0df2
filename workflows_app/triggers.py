"""Processing events: which workflows fire for which contacts, and starting their runs.

`workflow_event_process` takes one `WorkflowEvent` (a batch of up to
EVENT_BATCH contacts or enrollments) and, in one transaction:
1. loads the enabled workflows its kind can fire (one query);
2. decides who fires — for contact events with one query that evaluates
   every workflow's filters and every watched active list for the whole
   batch (`contacts_matching`), compared with what the event recorded the
   contacts matched before the change;
3. starts a run for each (workflow, contact) that may enter: a contact goes
   through a workflow once unless it re-enrolls, and never twice at a time
   (a partial unique index guards that even when two events race);
4. records a "trigger" history row per run and deletes the event.
So a batch costs a fixed handful of queries whatever its size. The runs'
first actions are returned for the caller to hand to workers after commit.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts_app.models import Contact, ContactList
from sequences_app.models import Enrollment
from workflows_app.events import (
    CONTACT_TRIGGERS,
    enabled_workflows,
    list_key,
    watched_filters,
    workflow_key,
)
from workflows_app.matching import contacts_matching
from workflows_app.models import TriggerType, Workflow, WorkflowEvent, WorkflowHistory, WorkflowRun

logger = logging.getLogger(__name__)
Run = WorkflowRun.Status


@dataclass(frozen=True)
class Fire:
    workflow: Workflow
    contact_id: int
    why: str


def workflow_event_process(*, event_id: int, now: datetime | None = None) -> list[tuple[int, int]]:
    """Fire what the event calls for; return (run id, action index) pairs to run once this commits."""
    now = now or timezone.now()
    with transaction.atomic():
        event = WorkflowEvent.objects.select_for_update(skip_locked=True).filter(pk=event_id).first()
        if event is None:
            return []  # processed already, or being processed by another worker right now
        fires = _DECIDERS[event.kind](event.payload)
        started = runs_start(fires, now=now)
        event.delete()
    return started


def runs_start(fires: list[Fire], *, now: datetime) -> list[tuple[int, int]]:
    """Start a run per fire that may enter its workflow; returns the new runs' (id, 0)."""
    if not fires:
        return []
    seen: dict[tuple[int, int], set[str]] = {}
    for workflow_id, contact_id, status in WorkflowRun.objects.filter(
        workflow_id__in={fire.workflow.pk for fire in fires}, contact_id__in={fire.contact_id for fire in fires}
    ).values_list("workflow_id", "contact_id", "status"):
        seen.setdefault((workflow_id, contact_id), set()).add(status)
    entering: dict[tuple[int, int], Fire] = {}
    for fire in fires:
        pair = (fire.workflow.pk, fire.contact_id)
        statuses = seen.get(pair, set())
        if pair in entering or statuses & set(WorkflowRun.LIVE_STATUSES):
            continue
        if statuses and not fire.workflow.reenroll:
            continue
        entering[pair] = fire
    lease = now + timedelta(seconds=settings.SCHEDULER_CLAIM_LEASE_SECONDS)
    runs = [
        # Born claimed: the worker asked for after commit runs it; if that task is lost,
        # the lease runs out and the tick hands the run out again.
        WorkflowRun(
            workflow=fire.workflow, contact_id=fire.contact_id, status=Run.WAITING, action_index=0,
            next_action_at=lease, started_at=now,
        )
        for fire in entering.values()
    ]
    created = _insert(runs)
    WorkflowHistory.objects.bulk_create(
        [
            WorkflowHistory(
                workflow=run.workflow, run=run, contact_id=run.contact_id, at=now, action=WorkflowHistory.TRIGGER,
                outcome=WorkflowHistory.Outcome.OK, message=entering[(run.workflow.pk, run.contact_id)].why[:500],
            )
            for run in created
        ],
        batch_size=500,
    )
    return [(run.pk, 0) for run in created]


def _insert(runs: list[WorkflowRun]) -> list[WorkflowRun]:
    """Insert all at once; if a concurrent event started one of these runs, insert the others one by one."""
    try:
        with transaction.atomic():
            return WorkflowRun.objects.bulk_create(runs, batch_size=500)
    except IntegrityError:
        created = []
        for run in runs:
            try:
                with transaction.atomic():
                    run.pk = None
                    run.save(force_insert=True)
                created.append(run)
            except IntegrityError:
                logger.info("workflow %s: contact %s entered meanwhile", run.workflow_id, run.contact_id)
        return created


# --- Who fires, per kind of event ---------------------------------------------------------------


def _contacts(payload: dict[str, Any]) -> list[Fire]:
    """Created contacts: contact_created, and whatever they match from the start.
    Changed contacts: the watched filters they match now and did not match before the change."""
    created = set(payload.get("created", []))
    changed = {int(pk): set(keys) for pk, keys in payload.get("changed", {}).items()}
    watched_then = set(payload.get("watched", []))
    workflows = enabled_workflows(CONTACT_TRIGGERS)
    if not workflows:
        return []
    predicates = watched_filters(workflows)
    if not created:
        # Only changes: the filters that were watched (read a changed field) are all that can start matching.
        predicates = {key: filters for key, filters in predicates.items() if key in watched_then}
    for workflow in workflows:
        if workflow.trigger_type == TriggerType.CONTACT_CREATED and workflow.trigger_filters and created:
            predicates[workflow_key(workflow)] = workflow.trigger_filters
    matching = contacts_matching(created | changed.keys(), predicates)
    source = payload.get("source", "")
    fires = []
    for contact_id, now_matches in matching.items():
        is_new = contact_id in created
        before = changed.get(contact_id, set())
        for workflow in workflows:
            why = _contact_fires(workflow, is_new, now_matches, before, watched_then, source)
            if why:
                fires.append(Fire(workflow, contact_id, why))
    return fires


def _contact_fires(
    workflow: Workflow, is_new: bool, now_matches: set[str], before: set[str], watched_then: set[str], source: str
) -> str:
    """Why `workflow` fires for this contact ('' when it doesn't)."""
    kind = workflow.trigger_type
    if kind == TriggerType.CONTACT_CREATED:
        if is_new and (not workflow.trigger_filters or workflow_key(workflow) in now_matches):
            return "Contact imported." if source == "import" else "Contact created."
        return ""
    if kind == TriggerType.PROPERTY_MATCHES:
        key = workflow_key(workflow)
        if _started_matching(key, is_new, now_matches, before, watched_then):
            return "Contact started matching the filters."
        return ""
    contact_list = workflow.trigger_list
    if contact_list is None or contact_list.kind != ContactList.Kind.ACTIVE:
        return ""
    if _started_matching(list_key(contact_list), is_new, now_matches, before, watched_then):
        return f"Contact joined the active list “{contact_list.name}”."
    return ""


def _started_matching(key: str, is_new: bool, now_matches: set[str], before: set[str], watched_then: set[str]) -> bool:
    if key not in now_matches:
        return False
    # A filter nobody evaluated before the change (its workflow was turned on since) can't tell
    # whether the contact *started* matching, so it doesn't fire for a change.
    return is_new or (key in watched_then and key not in before)


def _list_joined(payload: dict[str, Any]) -> list[Fire]:
    workflows = [
        workflow for workflow in enabled_workflows([TriggerType.LIST_JOINED])
        if workflow.trigger_list_id == payload["list"]
    ]
    if not workflows:
        return []
    present = set(Contact.objects.filter(pk__in=payload["contacts"]).values_list("pk", flat=True))
    return [
        Fire(workflow, contact_id, f"Contact was added to the list “{workflow.trigger_list.name}”.")
        for contact_id in payload["contacts"]
        if contact_id in present
        for workflow in workflows
    ]


def _enrollments_ended(payload: dict[str, Any]) -> list[Fire]:
    workflows = enabled_workflows([TriggerType.SEQUENCE_ENDED])
    if not workflows:
        return []
    ended = (
        Enrollment.objects.filter(pk__in=payload["enrollments"], contact__isnull=False)
        .exclude(status__in=Enrollment.LIVE_STATUSES)
        .values_list("contact_id", "sequence_id", "sequence__name", "status", "reason")
    )
    fires = []
    for contact_id, sequence_id, sequence_name, status, reason in ended:
        how = Enrollment.Status(status).label.lower()
        if reason:
            how += f": {Enrollment.Reason(reason).label.lower()}"
        for workflow in workflows:
            if workflow.trigger_sequence_id in (None, sequence_id):
                fires.append(Fire(workflow, contact_id, f"Enrollment in “{sequence_name}” ended ({how})."))
    return fires


_DECIDERS: dict[str, Callable[[dict[str, Any]], list[Fire]]] = {
    WorkflowEvent.Kind.CONTACTS: _contacts,
    WorkflowEvent.Kind.LIST_JOINED: _list_joined,
    WorkflowEvent.Kind.ENROLLMENTS_ENDED: _enrollments_ended,
}
