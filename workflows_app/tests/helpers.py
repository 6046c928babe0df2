"""Driving workflows in-process, as the Celery worker and beat would."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from workflows_app.models import Workflow, WorkflowEvent
from workflows_app.runner import WorkflowTickReport, workflow_run_advance, workflows_tick
from workflows_app.triggers import workflow_event_process


def drain(now: datetime | None = None, *, rounds: int = 20) -> list[str]:
    """Process every waiting event and run every due run (and what they cause) until nothing is left.

    Returns the outcomes of the runs ("done", "waiting", "stale").
    """
    outcomes: list[str] = []

    def run(pairs: list[tuple[int, int]]) -> None:
        outcomes.extend(workflow_run_advance(run_id=pk, action_index=index, now=now) for pk, index in pairs)

    for _ in range(rounds):
        event_ids = list(WorkflowEvent.objects.order_by("pk").values_list("pk", flat=True))
        for event_id in event_ids:
            run(workflow_event_process(event_id=event_id, now=now))
        report: WorkflowTickReport = workflows_tick(now=now, process_events=lambda ids: None, run_actions=run)
        if not event_ids and not report.runs:
            break
    return outcomes


def workflow(user: Any, **fields: Any) -> Workflow:
    """A workflow written straight to the table (the API tests cover the service's rules)."""
    defaults: dict[str, Any] = {
        "name": "Test workflow", "enabled": True, "trigger_type": "contact_created", "trigger_filters": [],
        "actions": [{"type": "set_property", "field": "properties.touched", "value": "yes"}], "created_by": user,
    }
    defaults.update(fields)
    return Workflow.objects.create(**defaults)
