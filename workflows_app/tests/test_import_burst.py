"""A 10,000-row CSV import with three enabled workflows: the request only records events; workers process
them in batches of a fixed query cost; every matching contact goes through each workflow exactly once."""
from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from contacts_app.models import Contact, ContactList
from sequences_app.models import Task
from tests.factories import SeatFactory, UserFactory
from workflows_app.models import WorkflowEvent, WorkflowHistory, WorkflowRun
from workflows_app.runner import workflow_run_advance
from workflows_app.tests.helpers import drain, workflow
from workflows_app.triggers import workflow_event_process

pytestmark = pytest.mark.django_db

ROWS = 10_000
EXISTING = 1_000  # rows 0..999 are in the portal before the import, as subscribers and engineers


def _csv(start: int, stop: int, *, first: bool) -> bytes:
    lines = ["Email,First Name,Lifecycle Stage,Job Title,City,Contact owner"]
    for n in range(start, stop):
        stage = "Subscriber" if first or n % 2 else "Lead"
        title = "Engineer" if first or n % 10 else "CEO"
        lines.append(f"person{n}@example.com,First{n},{stage},{title},City {n % 7},alice")
    return ("\r\n".join(lines) + "\r\n").encode()


def _upload(api: APIClient, content: bytes):
    answer = api.post("/api/v1/contacts/import/", {"file": SimpleUploadedFile("c.csv", content, "text/csv")},
                      format="multipart")
    assert answer.status_code == 200, answer.content
    return answer.json()


@time_machine.travel("2026-03-02 09:00+02:00", tick=False)
def test_a_ten_thousand_row_import_through_three_workflows(boss):
    alice = UserFactory(username="alice")
    SeatFactory(user=alice)
    api = APIClient()
    api.force_authenticate(boss)
    _upload(api, _csv(0, EXISTING, first=True))

    welcome = workflow(boss, name="welcome", trigger_type="contact_created", trigger_filters=[
        {"field": "properties.city", "operator": "eq", "value": "City 3"}], actions=[
        {"type": "set_property", "field": "properties.welcome", "value": "sent"}])
    leads = workflow(boss, name="leads", trigger_type="property_matches", trigger_filters=[
        {"field": "lifecycle_stage", "operator": "eq", "value": "lead"}], actions=[
        {"type": "create_task", "title": "Call {{ contact.first_name }}", "owner": "contact_owner", "due_in_days": 1,
         "notes": "", "priority": "high", "task_type": "call"}])
    chiefs = ContactList.objects.create(name="Chiefs", kind="active", filters=[
        {"field": "job_title", "operator": "contains", "value": "ceo"}])
    ceos = workflow(boss, name="ceos", trigger_type="list_joined", trigger_list=chiefs, actions=[
        {"type": "delay", "days": 1}, {"type": "set_property", "field": "properties.vip", "value": True}])

    # The request records one event per batch of 1,000 rows and processes none of them: per batch, workflows
    # add a read of the enabled workflows, an event row, and (for rows that update contacts) one query for
    # what those contacts matched before.
    with CaptureQueriesContext(connection) as request_queries:
        body = _upload(api, _csv(0, ROWS, first=False))
    assert (body["created"], body["updated"], body["errors"]) == (ROWS - EXISTING, EXISTING, [])
    events = list(WorkflowEvent.objects.order_by("pk"))
    batches = ROWS // 1000
    assert len(events) == batches
    sql = [query["sql"] for query in request_queries.captured_queries]
    assert sum("workflows_app_" in statement for statement in sql) == 2 * batches
    assert sum("\"match_" in statement for statement in sql) == 1  # only the first batch updates contacts
    assert not WorkflowRun.objects.exists()

    # Each batch costs the same few queries whatever it holds — reading the event, the workflows, what its
    # contacts match, the runs they have; deleting the event — plus bulk inserts of its runs and history
    # rows (several hundred rows a statement; SQLite's parameter limit makes that ~100). A redelivered event
    # does nothing.
    started: list[tuple[int, int]] = []
    for event in events:
        with CaptureQueriesContext(connection) as batch:
            runs = workflow_event_process(event_id=event.pk)
        statements = [query["sql"] for query in batch.captured_queries]
        inserts = [statement for statement in statements if statement.startswith("INSERT")]
        others = [statement for statement in statements if not statement.startswith(("INSERT", "SAVEPOINT",
                                                                                      "RELEASE SAVEPOINT"))]
        assert len(others) == 5, others
        assert len(inserts) <= 2 + 2 * len(runs) / 100
        started += runs
    assert workflow_event_process(event_id=events[0].pk) == []

    new = range(EXISTING, ROWS)
    expected = {
        welcome.pk: {n for n in new if n % 7 == 3},
        leads.pk: {n for n in range(ROWS) if n % 2 == 0},  # new leads, and existing subscribers who became leads
        ceos.pk: {n for n in range(ROWS) if n % 10 == 0},
    }
    assert len(started) == sum(len(numbers) for numbers in expected.values())

    # The workers run what the batches started; a run handed to two workers is done once.
    outcomes = [workflow_run_advance(run_id=pk, action_index=index) for pk, index in started]
    assert "stale" not in outcomes
    assert workflow_run_advance(run_id=started[0][0], action_index=started[0][1]) == "stale"
    drain()  # the events that `welcome`'s property changes emit: no workflow fires for them
    number = {pk: int(email.removeprefix("person").split("@")[0])
              for pk, email in Contact.objects.values_list("pk", "email")}
    for flow in (welcome, leads, ceos):
        runs = list(WorkflowRun.objects.filter(workflow=flow).values_list("contact_id", flat=True))
        assert len(runs) == len(set(runs)) == len(expected[flow.pk]), flow.name
        assert {number[pk] for pk in runs} == expected[flow.pk], flow.name
        entered = WorkflowHistory.objects.filter(workflow=flow, action="trigger").count()
        assert entered == len(expected[flow.pk]), flow.name
    assert not WorkflowHistory.objects.filter(outcome="failed").exists()
    assert Contact.objects.filter(properties__welcome="sent").count() == len(expected[welcome.pk])
    tasks = Task.objects.filter(owner=alice, type="call")
    assert tasks.count() == len(expected[leads.pk])
    assert tasks.filter(title="Call First0").exists()
    assert set(WorkflowRun.objects.filter(workflow=ceos).values_list("status", "action_index")) == {("waiting", 1)}

    with time_machine.travel(timezone.now() + timedelta(days=1, seconds=1), tick=False):
        drain()
    assert Contact.objects.filter(properties__vip=True).count() == len(expected[ceos.pk])
    assert set(WorkflowRun.objects.values_list("status", flat=True)) == {"done"}
