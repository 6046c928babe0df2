"""Sequence performance (`GET /sequences/{id}/performance/`): the figures, the chart, constant cost."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts_app.models import PortalSettings
from sequences_app.analytics import sequence_performance
from sequences_app.models import EmailEvent, Enrollment, Sequence, StepType
from tests.factories import (
    EnrollmentFactory,
    EnrollmentStepFactory,
    SequenceFactory,
    SequenceStepFactory,
    TaskFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
NOW = datetime.fromisoformat("2026-03-27T12:00:00+00:00")




@pytest.fixture
def sequence(rep) -> Sequence:
    sequence = SequenceFactory(owner=rep, visibility="everyone")
    SequenceStepFactory(sequence=sequence, order=1)
    SequenceStepFactory(sequence=sequence, order=2, type=StepType.CALL, title="Call")
    SequenceStepFactory(sequence=sequence, order=3, subject="")
    return sequence


def event(kind: str, enrollment: Enrollment, step_order: int | None = 1, at: datetime = NOW) -> EmailEvent:
    return EmailEvent.objects.create(
        kind=kind,
        sequence_id=enrollment.sequence_id,
        enrollment=enrollment,
        contact=enrollment.contact,
        step_order=step_order,
        occurred_at=at,
    )


def enrollment(sequence: Sequence, status: str = "active", steps: dict[int, str] | None = None) -> Enrollment:
    enrolled = EnrollmentFactory(sequence=sequence, status=status)
    for order, step_status in (steps or {}).items():
        step_type = StepType.CALL if order == 2 else StepType.AUTOMATED_EMAIL
        EnrollmentStepFactory(enrollment=enrolled, order=order, type=step_type, status=step_status)
    return enrolled


def populate(sequence: Sequence) -> dict[str, Enrollment]:
    """A small history whose every figure is known."""
    a = enrollment(sequence, "finished", {1: "sent", 2: "task_done", 3: "sent"})
    b = enrollment(sequence, "active", {1: "sent", 2: "task_open", 3: "pending"})
    c = enrollment(sequence, "paused", {1: "sent", 2: "pending"})
    d = enrollment(sequence, "scheduled", {1: "scheduled"})
    e = enrollment(sequence, "unenrolled", {1: "sent", 2: "skipped"})
    f = enrollment(sequence, "bounced", {1: "failed"})
    for who in (a, b, c, e):
        event("sent", who)
    event("sent", a, 3)
    event("open", a)
    event("open", a)  # the same contact opening twice is one open
    event("open", b)
    event("open", a, 3)
    event("click", a)
    event("reply", b)
    event("meeting", a, None)
    event("meeting", b, None)
    event("bounce", f)
    event("unsubscribe", e)
    TaskFactory(owner=sequence.owner, enrollment=a, step_order=2, status="done", completed_at=NOW)
    TaskFactory(owner=sequence.owner, enrollment=b, step_order=2, status="open")
    # Another sequence's history counts nowhere here.
    other = enrollment(SequenceFactory(), "active", {1: "sent"})
    event("open", other)
    event("reply", other)
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f}


def test_the_figures_of_the_contract(sequence):
    populate(sequence)

    with time_machine.travel(NOW, tick=False):
        data = sequence_performance(sequence=sequence)

    assert {key: data[key] for key in ("enrolled", "active", "finished", "unenrolled")} == {
        "enrolled": 6,
        "active": 3,  # scheduled, active and paused: still running
        "finished": 1,
        "unenrolled": 1,
    }
    assert {key: data[key] for key in ("opened", "clicked", "replied", "meetings", "bounced", "unsubscribed")} == {
        "opened": 2,
        "clicked": 1,
        "replied": 1,
        "meetings": 2,
        "bounced": 1,
        "unsubscribed": 1,
    }
    assert data["steps"] == [
        {
            "order": 1,
            "type": "automated_email",
            "executed": 4,
            "opened": 2,
            "clicked": 1,
            "replied": 1,
            "tasks_completed": 0,
            "rates": {"open": 0.5, "click": 0.25, "reply": 0.25},
        },
        {
            "order": 2,
            "type": "call",
            "executed": 1,
            "opened": 0,
            "clicked": 0,
            "replied": 0,
            "tasks_completed": 1,
            "rates": {"open": 0.0, "click": 0.0, "reply": 0.0},
        },
        {
            "order": 3,
            "type": "automated_email",
            "executed": 1,
            "opened": 1,
            "clicked": 0,
            "replied": 0,
            "tasks_completed": 0,
            "rates": {"open": 1.0, "click": 0.0, "reply": 0.0},
        },
    ]


def test_rates_are_shares_of_enrolled_contacts(sequence):
    populate(sequence)

    data = sequence_performance(sequence=sequence, now=NOW)

    assert data["rates"] == {
        "open": round(2 / 6, 4),
        "click": round(1 / 6, 4),
        "reply": round(1 / 6, 4),
        "meeting": round(2 / 6, 4),
        "bounce": round(1 / 6, 4),
        "unsubscribe": round(1 / 6, 4),
    }
    assert data["sent"] == 5
    assert data["by_status"]["bounced"] == 1


def test_a_sequence_nobody_ran_answers_zeros_not_errors(sequence):
    data = sequence_performance(sequence=sequence, now=NOW)

    assert data["enrolled"] == 0
    assert set(data["rates"].values()) == {0.0}
    assert [step["executed"] for step in data["steps"]] == [0, 0, 0]
    assert len(data["timeline"]) == 30


def test_steps_removed_by_an_edit_still_show_what_they_did(sequence):
    enrolled = enrollment(sequence, "finished", {1: "sent", 2: "task_done", 3: "sent", 4: "sent"})
    event("open", enrolled, 4)

    steps = sequence_performance(sequence=sequence, now=NOW)["steps"]

    assert steps[-1] == {
        "order": 4,
        "type": None,
        "executed": 1,
        "opened": 1,
        "clicked": 0,
        "replied": 0,
        "tasks_completed": 0,
        "rates": {"open": 1.0, "click": 0.0, "reply": 0.0},
    }


def test_the_timeline_counts_the_last_30_days_by_day(sequence):
    with time_machine.travel(NOW - timedelta(days=1), tick=False):
        yesterday = enrollment(sequence)
    with time_machine.travel(NOW - timedelta(days=45), tick=False):
        enrollment(sequence, "finished")
    event("sent", yesterday, at=NOW - timedelta(days=1))
    event("sent", yesterday, at=NOW - timedelta(days=1, hours=1))
    event("reply", yesterday, at=NOW - timedelta(hours=1))
    event("sent", yesterday, at=NOW - timedelta(days=40))

    timeline = sequence_performance(sequence=sequence, now=NOW)["timeline"]

    assert len(timeline) == 30
    assert timeline[0]["date"] == "2026-02-26"
    assert timeline[-1] == {"date": "2026-03-27", "enrolled": 0, "sent": 0, "replied": 1}
    assert timeline[-2] == {"date": "2026-03-26", "enrolled": 1, "sent": 2, "replied": 0}
    assert sum(day["sent"] for day in timeline) == 2
    assert sum(day["enrolled"] for day in timeline) == 1


def test_the_timeline_follows_the_portals_calendar(sequence):
    PortalSettings.objects.update_or_create(pk=1, defaults={"time_zone": "Europe/Helsinki"})
    enrolled = enrollment(sequence)
    # 23:30 UTC on the 26th is already the 27th in Helsinki.
    event("reply", enrolled, at=datetime.fromisoformat("2026-03-26T23:30:00+00:00"))

    timeline = sequence_performance(sequence=sequence, now=NOW)["timeline"]

    assert timeline[-1]["date"] == "2026-03-27"
    assert timeline[-1]["replied"] == 1


def test_a_broken_portal_time_zone_falls_back_to_utc(sequence):
    PortalSettings.objects.update_or_create(pk=1, defaults={"time_zone": "Mars/Olympus_Mons"})

    assert sequence_performance(sequence=sequence, now=NOW)["timeline"][-1]["date"] == "2026-03-27"


def count_queries(sequence: Sequence) -> int:
    with CaptureQueriesContext(connection) as queries:
        sequence_performance(sequence=sequence, now=NOW)
    return len(queries)


def test_the_cost_does_not_grow_with_the_history(sequence):
    PortalSettings.load()
    populate(sequence)
    few = count_queries(sequence)
    for _ in range(3):
        populate(sequence)

    assert count_queries(sequence) == few
    assert few <= 10


# --- The endpoint --------------------------------------------------------------------------------------


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_endpoint_answers_the_contracts_shape(rep, sequence):
    populate(sequence)

    response = client_for(rep).get(f"/api/v1/sequences/{sequence.pk}/performance/")

    assert response.status_code == 200
    body = response.json()
    assert {
        "enrolled",
        "active",
        "finished",
        "unenrolled",
        "opened",
        "clicked",
        "replied",
        "meetings",
        "bounced",
        "unsubscribed",
        "steps",
    } <= set(body)
    assert all(
        {"order", "executed", "opened", "clicked", "replied", "tasks_completed"} <= set(step) for step in body["steps"]
    )
    assert {"date", "enrolled", "sent", "replied"} == set(body["timeline"][0])


def test_anyone_who_can_see_the_sequence_sees_its_performance(sequence):
    assert client_for(UserFactory()).get(f"/api/v1/sequences/{sequence.pk}/performance/").status_code == 200


def test_performance_of_a_sequence_one_cannot_see_is_not_found(rep):
    private = SequenceFactory(owner=UserFactory(), visibility="private")

    assert client_for(rep).get(f"/api/v1/sequences/{private.pk}/performance/").status_code == 404


def test_performance_of_a_deleted_sequence_is_not_found(rep, sequence):
    Sequence.objects.filter(pk=sequence.pk).update(deleted_at=timezone.now())

    assert client_for(rep).get(f"/api/v1/sequences/{sequence.pk}/performance/").status_code == 404
