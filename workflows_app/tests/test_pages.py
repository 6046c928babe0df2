"""The Workflows pages and the sequence's Automation tab: each path, its refusals, its query counts."""
from __future__ import annotations

import pytest

from contacts_app.services import contact_create
from workflows_app.models import Workflow, WorkflowRun
from workflows_app.tests.helpers import drain, workflow

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss_client(client, boss):
    client.force_login(boss)
    return client


def test_the_index_lists_workflows_in_words_with_their_toggles(boss_client, boss, sequence, owner):
    workflow(boss, name="Leads in", trigger_type="property_matches", sequence=sequence,
             trigger_filters=[{"field": "lifecycle_stage", "operator": "eq", "value": "lead"}],
             actions=[{"type": "enroll_in_sequence", "sequence": sequence.pk, "sender": "contact_owner",
                       "start_step": 1}, {"type": "delay", "days": 2}])
    page = boss_client.get("/workflows/").content.decode()
    assert "Leads in" in page
    assert "A contact starts matching: lifecycle stage is lead" in page
    assert "Enroll in “Intro” (sender: the contact owner)" in page
    assert "Wait 2 days" in page
    assert 'role="switch" aria-checked="true" aria-label="Leads in"' in page


def test_the_index_costs_the_same_queries_for_3_or_30_workflows(boss_client, boss, sequence,
                                                                django_assert_max_num_queries):
    for n in range(3):
        workflow(boss, name=f"w{n}", sequence=sequence)
    with django_assert_max_num_queries(12):
        assert boss_client.get("/workflows/").status_code == 200
    for n in range(27):
        workflow(boss, name=f"x{n}", sequence=sequence, actions=[
            {"type": "enroll_in_sequence", "sequence": sequence.pk, "sender": boss.pk, "start_step": 1}])
    with django_assert_max_num_queries(12):
        assert boss_client.get("/workflows/").status_code == 200


def test_toggle_answers_htmx_with_the_row_and_a_plain_post_with_a_redirect(boss_client, boss):
    flow = workflow(boss, name="Flow")
    answer = boss_client.post(f"/workflows/{flow.pk}/toggle/", {"enabled": "0", "row": "index"}, HTTP_HX_REQUEST="true")
    assert answer.status_code == 200
    assert 'aria-checked="false"' in answer.content.decode()
    assert f'id="workflow-{flow.pk}"' in answer.content.decode()
    flow.refresh_from_db()
    assert not flow.enabled
    answer = boss_client.post(f"/workflows/{flow.pk}/toggle/", {"enabled": "1", "next": "/workflows/?state=on"})
    assert answer.status_code == 302
    assert answer["Location"] == "/workflows/?state=on"
    flow.refresh_from_db()
    assert flow.enabled


def test_a_rep_without_enterprise_sees_workflows_but_cannot_toggle_or_save(client, rep, boss):
    flow = workflow(boss, name="Flow")
    client.force_login(rep)
    page = client.get("/workflows/").content.decode()
    assert "needs an Enterprise seat" in page
    assert "disabled" in page
    answer = client.post(f"/workflows/{flow.pk}/toggle/", {"enabled": "0", "row": "index"}, HTTP_HX_REQUEST="true")
    assert "needs an Enterprise seat" in answer.content.decode()
    flow.refresh_from_db()
    assert flow.enabled
    answer = client.post("/workflows/new/", {"name": "x", "trigger_type": "contact_created",
                                             "actions-0-type": "delay", "actions-0-days": "1"})
    assert answer.status_code == 403
    assert Workflow.objects.count() == 1


def test_the_editor_adds_actions_without_saving_then_saves_through_the_service(boss_client, sequence):
    base = {"name": "Leads", "trigger_type": "property_matches", "filters-0-field": "lifecycle_stage",
            "filters-0-operator": "eq", "filters-0-value": "lead", "enabled": "on",
            "actions-0-type": "enroll_in_sequence", "actions-0-sequence": str(sequence.pk),
            "actions-0-sender": "contact_owner", "actions-0-start_step": "1"}
    answer = boss_client.post("/workflows/new/", {**base, "add_action": "delay"})
    assert answer.status_code == 200
    assert 'name="actions-1-days"' in answer.content.decode()
    assert not Workflow.objects.exists()

    answer = boss_client.post("/workflows/new/", {**base, "actions-1-type": "delay", "actions-1-days": "0"})
    assert answer.status_code == 400
    assert "Must be between 1 and 365." in answer.content.decode()

    answer = boss_client.post("/workflows/new/", {
        **base, "actions-1-type": "delay", "actions-1-days": "2", "actions-2-type": "set_property",
        "actions-2-field": "lifecycle_stage", "actions-2-value": "marketingqualifiedlead"})
    assert answer.status_code == 302
    flow = Workflow.objects.get()
    assert flow.enabled
    assert flow.trigger_filters == [{"field": "lifecycle_stage", "operator": "eq", "value": "lead"}]
    assert [a["type"] for a in flow.actions] == ["enroll_in_sequence", "delay", "set_property"]
    page = boss_client.get(f"/workflows/{flow.pk}/").content.decode()
    assert 'value="marketingqualifiedlead"' in page

    answer = boss_client.post(f"/workflows/{flow.pk}/", {**base, "name": "Renamed", "move_up": "1",
                                                         "actions-1-type": "delay", "actions-1-days": "2"})
    assert 'name="actions-0-days"' in answer.content.decode()
    assert boss_client.post(f"/workflows/{flow.pk}/delete/").status_code == 302
    assert not Workflow.objects.exists()


def test_history_shows_outcomes_and_reasons(boss_client, boss):
    flow = workflow(boss, name="Tasks", actions=[{"type": "create_task", "title": "Call", "owner": "contact_owner",
                                                  "due_in_days": 0, "notes": "", "priority": "none",
                                                  "task_type": "todo"}])
    contact_create(email="nobody@example.com")
    drain()
    page = boss_client.get(f"/workflows/{flow.pk}/history/").content.decode()
    assert "NO_CONTACT_OWNER" in page
    assert "The contact has no owner to be the task owner" in page
    assert "1. Create a task" in page
    assert "Contact created." in page
    assert "NO_CONTACT_OWNER" in boss_client.get(f"/workflows/{flow.pk}/history/?outcome=failed").content.decode()
    assert "NO_CONTACT_OWNER" not in boss_client.get(f"/workflows/{flow.pk}/history/?outcome=ok").content.decode()


def test_the_sequence_page_has_an_automation_tab(boss_client, sequence):
    page = boss_client.get(f"/sequences/{sequence.pk}/").content.decode()
    assert f'href="/sequences/{sequence.pk}/automation/"' in page
    tab = boss_client.get(f"/sequences/{sequence.pk}/automation/").content.decode()
    assert 'aria-current="page">Automation</a>' in tab
    assert "New workflow for this sequence" in tab


def test_the_automation_tab_creates_an_enrolling_workflow_linked_to_the_sequence(boss_client, sequence, owner):
    answer = boss_client.post(f"/sequences/{sequence.pk}/automation/", {
        "trigger_type": "property_matches", "filter_field": "lifecycle_stage", "filter_operator": "eq",
        "filter_value": "lead", "what": "enroll", "sender": "contact_owner", "start_step": "1", "enabled": "on",
        "name": ""})
    assert answer.status_code == 302
    flow = Workflow.objects.get()
    assert (flow.sequence, flow.enabled, flow.name) == (
        sequence, True, "Enroll in Intro when contact starts matching filters")
    assert flow.actions == [{"type": "enroll_in_sequence", "sequence": sequence.pk, "sender": "contact_owner",
                             "start_step": 1}]
    contact = contact_create(email="ann@example.com", owner=owner, lifecycle_stage="lead")
    drain()
    assert WorkflowRun.objects.get().contact == contact
    assert contact.enrollments.get().sequence == sequence


def test_the_automation_tab_creates_an_unenrolling_workflow_and_shows_refusals(boss_client, sequence):
    answer = boss_client.post(f"/sequences/{sequence.pk}/automation/", {
        "trigger_type": "list_joined", "what": "unenroll", "name": "Out"})
    assert answer.status_code == 400
    assert "Must be a list id." in answer.content.decode()
    answer = boss_client.post(f"/sequences/{sequence.pk}/automation/", {
        "trigger_type": "contact_created", "what": "unenroll", "name": "Out", "enabled": ""})
    assert answer.status_code == 302
    flow = Workflow.objects.get()
    assert (flow.enabled, flow.actions) == (False, [{"type": "unenroll_from_sequence", "sequence": sequence.pk}])
    assert "Out" in boss_client.get(f"/sequences/{sequence.pk}/automation/").content.decode()


def test_the_automation_tab_refuses_a_rep_without_enterprise_and_hides_other_reps_sequences(client, rep, sequence):
    client.force_login(rep)
    page = client.get(f"/sequences/{sequence.pk}/automation/")
    assert "needs an Enterprise seat" in page.content.decode()
    answer = client.post(f"/sequences/{sequence.pk}/automation/", {"trigger_type": "contact_created",
                                                                  "what": "enroll", "sender": "contact_owner",
                                                                  "start_step": "1"})
    assert answer.status_code == 403
    from tests.factories import SequenceFactory

    private = SequenceFactory(visibility="private")
    assert client.get(f"/sequences/{private.pk}/automation/").status_code == 404


def test_the_automation_tab_and_the_history_cost_the_same_queries_for_few_or_many(
    boss_client, boss, sequence, owner, django_assert_max_num_queries
):
    def add(count: int) -> None:
        for n in range(count):
            workflow(boss, name=f"w{n}", sequence=sequence, actions=[
                {"type": "enroll_in_sequence", "sequence": sequence.pk, "sender": owner.pk, "start_step": 1},
                {"type": "create_task", "title": "Call", "owner": "contact_owner", "due_in_days": 0, "notes": "",
                 "priority": "none", "task_type": "todo"}])

    add(2)
    contact_create(email="a@example.com", owner=owner)
    drain()
    flow = Workflow.objects.first()
    # 19: one is the portal's time zone and language, for a user who chose neither.
    with django_assert_max_num_queries(19):
        assert boss_client.get(f"/sequences/{sequence.pk}/automation/").status_code == 200
    with django_assert_max_num_queries(13):
        assert boss_client.get(f"/workflows/{flow.pk}/history/").status_code == 200
    add(20)
    for n in range(30):
        contact_create(email=f"c{n}@example.com", owner=owner)
    drain()
    # 19: one is the portal's time zone and language, for a user who chose neither.
    with django_assert_max_num_queries(19):
        assert boss_client.get(f"/sequences/{sequence.pk}/automation/").status_code == 200
    with django_assert_max_num_queries(13):
        assert boss_client.get(f"/workflows/{flow.pk}/history/").status_code == 200
