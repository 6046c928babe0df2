"""Walking a run through its workflow's actions, and the tick that finds runs whose delay is over.

A run is due when it is `waiting` and `next_action_at` has come. The tick
claims due runs the way the sequence scheduler claims enrollments (`FOR
UPDATE SKIP LOCKED` on PostgreSQL, then an UPDATE pushing `next_action_at` a
lease ahead) and hands `(run id, action index)` pairs to workers.
`workflow_run_advance` then acts only while it is still that action's turn:
the run is waiting, on that action, and due or claimed. It performs actions
in order, each in a savepoint with its history row, until a `delay` (which
sets `next_action_at` days ahead: the wait lives in the database, never in a
Celery countdown) or the end. A task that comes twice, late, or after the
run moved on finds nothing to do; a lost one is re-handed when its lease
runs out. The whole stretch is one transaction, so a worker that dies half
way leaves the run where it was and nothing of the stretch written.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from workflows_app.actions import action_perform
from workflows_app.models import ActionType, WorkflowEvent, WorkflowHistory, WorkflowRun

BATCH = 500
CHUNK = 50
Status = WorkflowRun.Status
Outcome = WorkflowHistory.Outcome


@dataclass
class WorkflowTickReport:
    events: int = 0
    runs: int = 0


def _lease() -> timedelta:
    return timedelta(seconds=settings.SCHEDULER_CLAIM_LEASE_SECONDS)


def workflow_run_advance(*, run_id: int, action_index: int, now: datetime | None = None) -> str:
    """Perform a claimed run's actions from `action_index` up to the next delay or the end."""
    now = now or timezone.now()
    with transaction.atomic():
        run = (
            WorkflowRun.objects.select_for_update(of=("self",))
            .select_related("workflow__updated_by", "workflow__created_by", "contact__owner", "contact__company")
            .filter(pk=run_id, status=Status.WAITING, action_index=action_index, next_action_at__lte=now + _lease())
            .first()
        )
        if run is None:
            return "stale"
        actions = run.workflow.actions
        index = run.action_index
        while index < len(actions):
            action = actions[index]
            if action["type"] == ActionType.DELAY:
                until = now + timedelta(days=action["days"])
                days = action["days"]
                _record(run, index, action["type"], True, f"Waiting {days} day{'s' if days != 1 else ''}, until "
                        f"{until:%Y-%m-%d %H:%M} UTC.", "", now)
                WorkflowRun.objects.filter(pk=run.pk).update(action_index=index + 1, next_action_at=until)
                return "waiting"
            outcome = action_perform(action, contact=run.contact, workflow=run.workflow, now=now)
            _record(run, index, action["type"], outcome.ok, outcome.message, outcome.code, now)
            index += 1
        WorkflowRun.objects.filter(pk=run.pk).update(
            status=Status.DONE, action_index=index, next_action_at=None, finished_at=now
        )
        return "done"


def _record(run: WorkflowRun, index: int, action: str, ok: bool, message: str, code: str, now: datetime) -> None:
    WorkflowHistory.objects.create(
        workflow_id=run.workflow_id, run=run, contact_id=run.contact_id, at=now, action=action, action_index=index,
        outcome=Outcome.OK if ok else Outcome.FAILED, code=code, message=message[:500],
    )


# --- The tick -----------------------------------------------------------------------------------


def workflows_tick(
    *,
    now: datetime | None = None,
    process_events: Callable[[list[int]], None],
    run_actions: Callable[[list[tuple[int, int]]], None],
) -> WorkflowTickReport:
    """Hand out events whose worker never came, and runs whose next action is due."""
    now = now or timezone.now()
    report = WorkflowTickReport()
    events = events_claim_stale(now=now)
    if events:
        process_events(events)
    report.events = len(events)
    claimed = runs_claim_due(now=now)
    for start in range(0, len(claimed), CHUNK):
        run_actions(claimed[start : start + CHUNK])
    report.runs = len(claimed)
    return report


def runs_claim_due(*, now: datetime, limit: int = BATCH) -> list[tuple[int, int]]:
    """Claim up to `limit` due runs; returns (id, action index) pairs for the workers."""
    with transaction.atomic():
        due = WorkflowRun.objects.filter(status=Status.WAITING, next_action_at__lte=now).order_by("next_action_at")
        ids = list(due.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        WorkflowRun.objects.filter(pk__in=ids).update(next_action_at=now + _lease())
        return list(WorkflowRun.objects.filter(pk__in=ids).values_list("pk", "action_index"))


def events_claim_stale(*, now: datetime, limit: int = BATCH) -> list[int]:
    """Events still here after their lease: their task was lost (a broker outage, a dead worker)."""
    with transaction.atomic():
        stale = WorkflowEvent.objects.filter(next_attempt_at__lte=now).order_by("next_attempt_at")
        ids = list(stale.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])
        if ids:
            WorkflowEvent.objects.filter(pk__in=ids).update(next_attempt_at=now + _lease())
        return ids
