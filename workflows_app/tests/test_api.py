"""The Workflows section of API.md: paths, fields, codes."""
from __future__ import annotations

import pytest
from django.urls import resolve
from rest_framework.test import APIClient

from contacts_app.models import ContactList
from contacts_app.services import contact_create
from tests.factories import SeatFactory, SequenceFactory, SequenceStepFactory, UserFactory
from workflows_app.api import SequenceAutomationView
from workflows_app.models import Workflow, WorkflowRun
from workflows_app.tests.helpers import drain, workflow

pytestmark = pytest.mark.django_db


@pytest.fixture
def payload(sequence):
    return {
        "name": "New leads get the intro sequence", "enabled": True,
        "trigger": {"type": "property_matches",
                    "filters": [{"field": "lifecycle_stage", "operator": "eq", "value": "lead"}],
                    "list": None, "sequence": None},
        "reenroll": False,
        "actions": [
            {"type": "enroll_in_sequence", "sequence": sequence.pk, "sender": "contact_owner", "start_step": 1},
            {"type": "delay", "days": 2},
            {"type": "set_property", "field": "lifecycle_stage", "value": "marketingqualifiedlead"},
            {"type": "unenroll_from_sequence", "sequence": None},
            {"type": "create_task", "title": "Check in", "owner": "contact_owner", "due_in_days": 1}],
        "sequence": sequence.pk,
    }


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_create_answers_the_workflow_with_id_created_by_and_created_at(boss_api, boss, payload, sequence):
    answer = boss_api.post("/api/v1/workflows/", payload, format="json")
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert {"id", "created_by", "created_at"} <= set(body)
    assert body["created_by"] == boss.pk
    assert body["trigger"] == payload["trigger"]
    assert (body["name"], body["enabled"], body["reenroll"], body["sequence"]) == (
        payload["name"], True, False, sequence.pk)
    # Stored normalised: every key of each action is present.
    assert body["actions"][0] == payload["actions"][0]
    assert body["actions"][4] == {"type": "create_task", "title": "Check in", "owner": "contact_owner",
                                  "due_in_days": 1, "notes": "", "priority": "none", "task_type": "todo"}
    assert boss_api.get(f"/api/v1/workflows/{body['id']}/").json() == body


def test_list_patch_put_and_delete(boss_api, payload):
    created = boss_api.post("/api/v1/workflows/", payload, format="json").json()
    listing = boss_api.get("/api/v1/workflows/").json()
    assert (listing["count"], listing["results"][0]["id"]) == (1, created["id"])
    assert boss_api.get("/api/v1/workflows/?enabled=false").json()["count"] == 0

    patched = boss_api.patch(f"/api/v1/workflows/{created['id']}/", {"enabled": False}, format="json")
    assert patched.status_code == 200
    assert patched.json()["enabled"] is False
    assert patched.json()["actions"] == created["actions"]

    replaced = boss_api.put(f"/api/v1/workflows/{created['id']}/", {
        "name": "Only a wait", "trigger": {"type": "contact_created"}, "actions": [{"type": "delay", "days": 1}],
    }, format="json")
    assert replaced.status_code == 200, replaced.json()
    body = replaced.json()
    assert (body["enabled"], body["sequence"], body["trigger"]) == (
        False, None, {"type": "contact_created", "filters": [], "list": None, "sequence": None})

    assert boss_api.delete(f"/api/v1/workflows/{created['id']}/").status_code == 204
    assert not Workflow.objects.exists()


@pytest.mark.parametrize("method", ["post", "patch", "put", "delete"])
def test_a_user_without_an_enterprise_seat_gets_enterprise_required(method, boss, rep, payload):
    flow = workflow(boss)
    url = "/api/v1/workflows/" if method == "post" else f"/api/v1/workflows/{flow.pk}/"
    answer = getattr(client_for(rep), method)(url, {"enabled": True} if method == "patch" else payload, format="json")
    assert answer.status_code == 403
    assert answer.json()["code"] == "ENTERPRISE_REQUIRED"
    # ... before the payload is even read: garbage gets the same answer.
    assert getattr(client_for(rep), method)(url, ["garbage"], format="json").json()["code"] == "ENTERPRISE_REQUIRED"
    assert Workflow.objects.get().enabled


def test_reading_needs_no_enterprise_seat_and_an_admin_may_write_without_one(rep, boss, payload):
    workflow(boss)
    assert client_for(rep).get("/api/v1/workflows/").json()["count"] == 1
    admin = UserFactory(is_staff=True)
    assert client_for(admin).post("/api/v1/workflows/", payload, format="json").status_code == 201
    starter = UserFactory()
    SeatFactory(user=starter, tier="professional")
    assert client_for(starter).post("/api/v1/workflows/", payload, format="json").json()["code"] == (
        "ENTERPRISE_REQUIRED")


def test_every_problem_is_reported_under_its_field(boss_api, sequence):
    answer = boss_api.post("/api/v1/workflows/", {
        "name": "", "enabled": "yes",
        "trigger": {"type": "property_matches", "filters": [{"field": "nope", "operator": "eq", "value": 1}],
                    "list": 5},
        "actions": [
            {"type": "enroll_in_sequence", "sequence": sequence.pk, "sender": "someone", "start_step": 9},
            {"type": "delay", "days": 0},
            {"type": "set_property", "field": "email", "value": "x@example.com"},
            {"type": "set_property", "field": "lifecycle_stage", "value": "king"},
            {"type": "create_task", "title": "Hi {{ contact.nope }}", "owner": 999999},
            {"type": "teleport"},
            {"type": "delay", "days": 1, "hours": 3}],
    }, format="json")
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert set(body["fields"]) == {
        "name", "enabled", "trigger.filters", "trigger.list", "actions.0.sender", "actions.0.start_step",
        "actions.1.days", "actions.2.field", "actions.3.value", "actions.4.title", "actions.4.owner",
        "actions.5.type", "actions.6.hours",
    }
    assert body["fields"]["actions.0.start_step"] == ["“Intro” has no step 9."]


def test_a_list_trigger_needs_a_list_and_a_sequence_the_caller_can_see(builder_api, owner):
    hidden = SequenceFactory(owner=owner, visibility="private")
    SequenceStepFactory(sequence=hidden, order=1)
    answer = builder_api.post("/api/v1/workflows/", {
        "name": "x", "trigger": {"type": "list_joined"},
        "actions": [{"type": "enroll_in_sequence", "sequence": hidden.pk}],
    }, format="json").json()
    assert answer["fields"] == {"trigger.list": ["Must be a list id."],
                                "actions.0.sequence": [f"No sequence with id {hidden.pk}."]}
    hot = ContactList.objects.create(name="Hot", kind="static")
    ok = builder_api.post("/api/v1/workflows/", {
        "name": "x", "trigger": {"type": "list_joined", "list": hot.pk}, "actions": [{"type": "delay", "days": 1}],
    }, format="json")
    assert ok.status_code == 201


@pytest.mark.parametrize("body", [[], "text", 12, None, {"trigger": []}, {"actions": {}}, {"name": ["x"]}])
def test_garbage_is_a_validation_error_never_a_500(boss_api, body):
    answer = boss_api.post("/api/v1/workflows/", body, format="json")
    assert answer.status_code == 400
    assert answer.json()["code"] == "VALIDATION_ERROR"


def test_history_is_paginated_with_the_contract_fields(boss_api, boss, owner):
    flow = workflow(boss, actions=[{"type": "create_task", "title": "Call", "owner": "contact_owner",
                                    "due_in_days": 0, "notes": "", "priority": "none", "task_type": "todo"}])
    ann = contact_create(email="ann@example.com", owner=owner)
    contact_create(email="nobody@example.com")
    drain()
    body = boss_api.get(f"/api/v1/workflows/{flow.pk}/history/?page_size=3").json()
    assert set(body) == {"count", "count_capped", "next", "previous", "results"}
    assert body["count"] == 4
    assert body["next"]
    assert set(body["results"][0]) == {"id", "contact", "at", "action", "outcome", "code", "message"}
    failed = boss_api.get(f"/api/v1/workflows/{flow.pk}/history/?outcome=failed").json()["results"]
    assert [(row["action"], row["code"]) for row in failed] == [("create_task", "NO_CONTACT_OWNER")]
    mine = boss_api.get(f"/api/v1/workflows/{flow.pk}/history/?contact={ann.pk}").json()["results"]
    assert [(row["action"], row["outcome"]) for row in mine] == [("create_task", "ok"), ("trigger", "ok")]
    assert boss_api.get(f"/api/v1/workflows/{flow.pk}/history/?outcome=maybe").status_code == 400
    assert boss_api.get("/api/v1/workflows/999999/history/").json()["code"] == "NOT_FOUND"


def test_sequence_automation_lists_the_workflows_linked_to_the_sequence(boss, boss_api, rep, sequence, owner):
    assert resolve(f"/api/v1/sequences/{sequence.pk}/automation/").func.view_class is SequenceAutomationView
    linked = workflow(boss, name="Linked", sequence=sequence)
    workflow(boss, name="Elsewhere")
    body = boss_api.get(f"/api/v1/sequences/{sequence.pk}/automation/").json()
    assert body["count"] == 1
    assert body["results"][0]["id"] == linked.pk
    # The sequence page's routes still answer beside it.
    assert boss_api.get(f"/api/v1/sequences/{sequence.pk}/").status_code == 200
    hidden = SequenceFactory(owner=owner, visibility="private")
    assert client_for(rep).get(f"/api/v1/sequences/{hidden.pk}/automation/").json()["code"] == "NOT_FOUND"


def test_turning_off_through_the_api_parks_the_waiting_runs(boss_api, boss):
    flow = workflow(boss, actions=[{"type": "delay", "days": 2}])
    contact_create(email="ann@example.com")
    drain()
    boss_api.patch(f"/api/v1/workflows/{flow.pk}/", {"enabled": False}, format="json")
    assert WorkflowRun.objects.get().status == "paused"
    boss_api.patch(f"/api/v1/workflows/{flow.pk}/", {"enabled": True}, format="json")
    assert WorkflowRun.objects.get().status == "waiting"


@pytest.mark.parametrize("url", [
    "/api/v1/workflows/?enabled=maybe", "/api/v1/workflows/?sequence=abc", "/api/v1/workflows/?trigger_type=x",
    "/api/v1/workflows/?page=abc", "/api/v1/workflows/abc/", "/api/v1/workflows/99999999999999999999/history/",
    "/api/v1/sequences/99999999999999999999/automation/",
])
def test_junk_in_the_url_is_a_4xx_never_a_500(boss_api, url):
    assert boss_api.get(url).status_code in (400, 404)


def test_signing_in_is_needed(client):
    assert client.get("/api/v1/workflows/").json()["code"] == "NOT_AUTHENTICATED"
