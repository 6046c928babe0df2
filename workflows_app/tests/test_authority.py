"""Whose authority a workflow acts with (the user who saved it last), and who may change it (owner or admin).

The probe's way in: an Enterprise rep saved a workflow that enrolled new
contacts with another user (or the contact's owner) as the sender and gave
tasks to other users; the enrollment service skipped its "only admins name
another sender" rule because a workflow had no caller.
"""
from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from contacts_app.services import contact_create
from sequences_app.models import Enrollment, SequenceStep, StepType, Task
from tests.factories import SeatFactory, SequenceFactory, UserFactory
from workflows_app.models import Workflow, WorkflowHistory
from workflows_app.tests.helpers import drain, workflow

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def failures(flow) -> list[tuple[str, str]]:
    rows = WorkflowHistory.objects.filter(workflow=flow, outcome="failed").order_by("id")
    return list(rows.values_list("action", "code"))


def enroll(sequence, sender) -> dict:
    return {"type": "enroll_in_sequence", "sequence": sequence.pk, "sender": sender, "start_step": 1}


def task(owner) -> dict:
    return {"type": "create_task", "title": "Call", "owner": owner, "due_in_days": 0, "notes": "",
            "priority": "none", "task_type": "todo"}


def payload(*actions) -> dict:
    return {"name": "New leads", "enabled": True, "trigger": {"type": "contact_created"}, "actions": list(actions)}


# --- Saving -------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["other", "contact_owner"])
def test_a_rep_cannot_save_a_workflow_that_sends_as_or_gives_tasks_to_someone_else(builder, owner, sequence, who):
    name = owner.pk if who == "other" else "contact_owner"
    answer = api(builder).post("/api/v1/workflows/", payload(enroll(sequence, name), task(name)), format="json")
    assert answer.status_code == 403
    body = answer.json()
    assert body["code"] == "ACTS_AS_OTHER_USER"
    assert set(body["fields"]) == {"actions.0.sender", "actions.1.owner"}
    assert not Workflow.objects.exists()


def test_a_rep_may_save_a_workflow_that_acts_for_them_and_becomes_its_actor(builder, sequence):
    answer = api(builder).post("/api/v1/workflows/", payload(enroll(sequence, builder.pk), task(builder.pk)),
                               format="json")
    assert answer.status_code == 201
    assert (answer.json()["created_by"], answer.json()["updated_by"]) == (builder.pk, builder.pk)


def test_an_admin_may_name_anyone_and_the_contact_owner(boss, owner, sequence):
    answer = api(boss).post("/api/v1/workflows/", payload(enroll(sequence, "contact_owner"), task(owner.pk)),
                            format="json")
    assert answer.status_code == 201


def test_a_rep_editing_any_part_makes_them_the_actor_so_the_whole_workflow_is_checked(builder, sequence):
    """Saved while the rep was an admin; a rename after losing the role would hand them its authority."""
    flow = workflow(builder, actions=[enroll(sequence, "contact_owner")])
    answer = api(builder).patch(f"/api/v1/workflows/{flow.pk}/", {"name": "Renamed"}, format="json")
    assert answer.status_code == 403
    assert answer.json()["code"] == "ACTS_AS_OTHER_USER"
    assert answer.json()["fields"] == {"actions.0.sender": [
        "Only admins may name another user or the contact's owner here; name yourself."]}
    flow.refresh_from_db()
    assert flow.name == "Test workflow"


def test_turning_a_workflow_on_is_a_save_and_turning_it_off_is_not(builder, boss, sequence):
    flow = workflow(boss, enabled=False, created_by=builder, updated_by=boss,
                    actions=[enroll(sequence, "contact_owner")])
    client = api(builder)
    assert client.patch(f"/api/v1/workflows/{flow.pk}/", {"enabled": True}, format="json").status_code == 403
    flow.refresh_from_db()
    assert (flow.enabled, flow.updated_by) == (False, boss)
    assert api(boss).patch(f"/api/v1/workflows/{flow.pk}/", {"enabled": True}, format="json").status_code == 200


# --- Running ------------------------------------------------------------------------------------


def test_a_workflow_whose_actor_is_not_an_admin_sends_as_nobody_else_and_says_why(builder, owner, sequence):
    """Rows saved before the rule (or by a user since demoted) are refused when they run, roles change."""
    flow = workflow(builder, actions=[enroll(sequence, "contact_owner"), enroll(sequence, owner.pk),
                                      task(owner.pk), task("contact_owner")])
    contact = contact_create(email="new@example.com", owner=owner)
    drain()
    assert not Enrollment.objects.filter(contact=contact).exists()
    assert not Task.objects.filter(contact=contact).exists()
    refused = "ACTS_AS_OTHER_USER"
    assert failures(flow) == [("enroll_in_sequence", refused), ("enroll_in_sequence", refused),
                              ("create_task", refused), ("create_task", refused)]
    message = WorkflowHistory.objects.filter(workflow=flow, outcome="failed").order_by("id").first().message
    assert message == ("The sender was refused: Only an admin's workflow may act for the contact's owner; "
                       f"{builder} is not an admin.")


def test_an_admin_who_saved_a_workflow_and_lost_the_role_no_longer_lends_it_authority(boss, owner, sequence):
    flow = workflow(boss, actions=[enroll(sequence, "contact_owner"), task("contact_owner")])
    first = contact_create(email="first@example.com", owner=owner)
    drain()
    assert Enrollment.objects.get(contact=first).sender == owner
    assert Task.objects.get(contact=first).owner == owner

    boss.is_staff = False  # keeps their Enterprise seat
    boss.save()
    second = contact_create(email="second@example.com", owner=owner)
    drain()
    assert not Enrollment.objects.filter(contact=second).exists()
    assert not Task.objects.filter(contact=second).exists()
    assert failures(flow) == [("enroll_in_sequence", "ACTS_AS_OTHER_USER"), ("create_task", "ACTS_AS_OTHER_USER")]


def test_a_workflow_acts_for_its_actor_themselves(builder, sequence):
    flow = workflow(builder, actions=[enroll(sequence, builder.pk), task(builder.pk)])
    contact = contact_create(email="mine@example.com")
    drain()
    assert failures(flow) == []
    assert Enrollment.objects.get(contact=contact).sender == builder
    assert Task.objects.get(contact=contact).owner == builder


def test_a_workflow_nobody_active_saved_acts_for_nobody(builder, sequence):
    flow = workflow(None, actions=[enroll(sequence, builder.pk)])
    gone = UserFactory(is_staff=True, is_active=False)
    later = workflow(gone, name="by a deactivated admin", actions=[task(builder.pk)])
    contact_create(email="x@example.com")
    drain()
    assert failures(flow) == [("enroll_in_sequence", "WORKFLOW_AUTHOR_INACTIVE")]
    assert failures(later) == [("create_task", "WORKFLOW_AUTHOR_INACTIVE")]


def test_the_enrollment_service_holds_a_workflow_to_what_its_actor_can_see(builder, owner):
    """The actor is the enrollment's caller: a private sequence of someone else doesn't exist for it."""
    private = SequenceFactory(owner=owner, name="Olga's own", visibility="private")
    SequenceStep.objects.create(sequence=private, order=1, type=StepType.TODO, title="Todo")
    flow = workflow(builder, actions=[enroll(private, builder.pk)])
    contact = contact_create(email="y@example.com")
    drain()
    assert not Enrollment.objects.filter(contact=contact).exists()
    assert failures(flow) == [("enroll_in_sequence", "NOT_FOUND")]


# --- Who may change a workflow -------------------------------------------------------------------


def test_only_its_owner_or_an_admin_may_change_turn_off_or_delete_a_workflow(builder, boss, sequence):
    flow = workflow(builder, actions=[enroll(sequence, builder.pk)])
    colleague = UserFactory()
    SeatFactory(user=colleague, tier="enterprise")
    client = api(colleague)
    url = f"/api/v1/workflows/{flow.pk}/"
    for answer in (client.patch(url, {"name": "Mine now"}, format="json"),
                   client.put(url, payload(enroll(sequence, colleague.pk)), format="json"),
                   client.delete(url)):
        assert (answer.status_code, answer.json()["code"]) == (403, "PERMISSION_DENIED")
    assert client.get(url).status_code == 200  # reading stays open to everyone
    flow.refresh_from_db()
    assert (flow.name, flow.enabled) == ("Test workflow", True)

    page = APIClient()
    page.force_login(colleague)
    page.post(f"/workflows/{flow.pk}/toggle/", {"enabled": "0"})
    page.post(f"/workflows/{flow.pk}/delete/")
    flow.refresh_from_db()
    assert flow.enabled

    assert api(builder).patch(url, {"name": "Still mine"}, format="json").status_code == 200
    assert api(boss).patch(url, {"enabled": False}, format="json").status_code == 200
    assert api(boss).delete(url).status_code == 204
