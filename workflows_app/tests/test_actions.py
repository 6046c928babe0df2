"""Each action; a chain moved through time; refusals land in history with their codes and the rest goes on."""
from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from contacts_app.services import contact_create, contact_update
from sequences_app.models import Enrollment, Task
from sequences_app.scheduling.runner import enrollment_run_step
from sequences_app.services.enrollments import enrollment_create
from tests.factories import MailboxFactory, SeatFactory, SequenceFactory, SequenceStepFactory, UserFactory
from workflows_app.models import WorkflowEvent, WorkflowHistory, WorkflowRun
from workflows_app.runner import workflow_run_advance, workflows_tick
from workflows_app.services import workflow_set_enabled
from workflows_app.tests.helpers import drain, workflow
from workflows_app.triggers import workflow_event_process

pytestmark = pytest.mark.django_db


def history(flow, contact=None) -> list[tuple[str, str, str]]:
    rows = WorkflowHistory.objects.filter(workflow=flow).exclude(action="trigger").order_by("id")
    if contact is not None:
        rows = rows.filter(contact=contact)
    return list(rows.values_list("action", "outcome", "code"))


def enroll_flow(boss, sequence, **action):
    return workflow(boss, trigger_type="contact_created", actions=[
        {"type": "enroll_in_sequence", "sequence": sequence.pk, "sender": "contact_owner", "start_step": 1, **action},
    ])


# --- enroll_in_sequence ---------------------------------------------------------------------------


def test_enroll_sends_from_the_contact_owner_with_their_primary_mailbox_in_the_contacts_time_zone(
    boss, owner, sequence, portal_tz
):
    second = MailboxFactory(owner=owner, email="second@nudge.example", is_primary=False)
    flow = enroll_flow(boss, sequence)
    contact = contact_create(email="ann@example.com", owner=owner, time_zone="America/New_York")
    drain()

    enrollment = Enrollment.objects.get(contact=contact)
    assert (enrollment.sequence, enrollment.sender, enrollment.enrolled_by) == (sequence, owner, None)
    assert enrollment.mailbox.is_primary
    assert enrollment.mailbox != second
    assert enrollment.time_zone == "America/New_York"
    assert history(flow) == [("enroll_in_sequence", "ok", "")]
    assert WorkflowHistory.objects.get(workflow=flow, action="enroll_in_sequence").message == (
        f"Enrolled in “Intro”, sent by {owner}."
    )


def test_enroll_uses_the_portals_time_zone_when_the_contact_has_none_and_starts_at_the_step_asked(
    boss, owner, sequence, portal_tz
):
    enroll_flow(boss, sequence, start_step=2)
    contact = contact_create(email="ann@example.com", owner=owner)
    drain()
    enrollment = Enrollment.objects.get(contact=contact)
    assert enrollment.time_zone == "Europe/Helsinki"
    assert (enrollment.start_step, enrollment.current_step) == (2, 2)


def test_enroll_with_a_named_sender(boss, owner, sequence):
    flow = workflow(boss, trigger_type="contact_created", actions=[
        {"type": "enroll_in_sequence", "sequence": sequence.pk, "sender": owner.pk, "start_step": 1}])
    contact = contact_create(email="ann@example.com")  # no owner needed when the sender is named
    drain()
    assert Enrollment.objects.get(contact=contact).sender == owner
    assert history(flow) == [("enroll_in_sequence", "ok", "")]


def test_refusals_land_in_history_with_their_codes_and_the_workflow_carries_on(boss, owner, sequence):
    """One import batch: each refused contact gets its code, the others are enrolled, and every contact
    goes on to the next action."""
    seatless = UserFactory(first_name="No", last_name="Seat")
    MailboxFactory(owner=seatless)
    inboxless = UserFactory(first_name="No", last_name="Inbox")
    SeatFactory(user=inboxless)
    private = SequenceFactory(owner=owner, name="Private", visibility="private")
    SequenceStepFactory(sequence=private, order=1, type="todo", title="Todo", subject="", body_html="")
    outsider = UserFactory(first_name="Out", last_name="Sider")
    SeatFactory(user=outsider)
    MailboxFactory(owner=outsider)

    flow = workflow(boss, trigger_type="contact_created", actions=[
        {"type": "enroll_in_sequence", "sequence": sequence.pk, "sender": "contact_owner", "start_step": 1},
        {"type": "set_property", "field": "properties.after_enroll", "value": "reached"},
    ])
    other = workflow(boss, trigger_type="contact_created", name="private", trigger_filters=[
        {"field": "email", "operator": "eq", "value": "outsider@example.com"}], actions=[
        {"type": "enroll_in_sequence", "sequence": private.pk, "sender": "contact_owner", "start_step": 1}])
    busy = contact_create(email="busy@example.com", owner=owner)
    enrollment_create(sequence=sequence, caller=owner, contact_ids=[busy.pk])  # already in a sequence
    drain()
    WorkflowRun.objects.all().delete()
    WorkflowHistory.objects.all().delete()

    from contacts_app.models import Contact
    from workflows_app import events

    contacts = [
        Contact.objects.create(email="bounced@example.com", owner=owner, email_bounced=True, bounce_reason="550 gone"),
        Contact.objects.create(email="seatless@example.com", owner=seatless),
        Contact.objects.create(email="inboxless@example.com", owner=inboxless),
        Contact.objects.create(email="nobody@example.com", owner=None),
        Contact.objects.create(email="outsider@example.com", owner=outsider),
        Contact.objects.create(email="fine@example.com", owner=owner),
    ]
    events.contacts_imported(created=[*contacts, busy], changed=[])
    drain()

    codes = {
        contact.email: WorkflowHistory.objects.get(workflow=flow, contact=contact, action="enroll_in_sequence").code
        for contact in [*contacts, busy]
    }
    assert codes == {
        "bounced@example.com": "BOUNCED",
        "seatless@example.com": "NO_SEAT",
        "inboxless@example.com": "NO_CONNECTED_INBOX",
        "nobody@example.com": "NO_CONTACT_OWNER",
        "outsider@example.com": "",
        "fine@example.com": "",
        "busy@example.com": "ALREADY_ENROLLED",
    }
    failed = WorkflowHistory.objects.filter(workflow=flow, outcome="failed")
    assert failed.count() == 5
    assert failed.get(code="BOUNCED").message == "An email to this contact bounced: 550 gone"
    assert failed.get(code="NO_SEAT").message.startswith("Sender No Seat <")
    assert "no owner" in failed.get(code="NO_CONTACT_OWNER").message
    # The outsider's owner may not use the private sequence of the second workflow.
    assert history(other) == [("enroll_in_sequence", "failed", "SEQUENCE_NOT_SHARED")]
    # Every contact went on to the next action, and every run finished.
    assert Contact.objects.filter(properties__after_enroll="reached").count() == 7
    assert set(WorkflowRun.objects.values_list("status", flat=True)) == {"done"}
    assert Enrollment.objects.filter(contact__email="fine@example.com", sender=owner).exists()


# --- unenroll_from_sequence -------------------------------------------------------------------------


def test_unenroll_from_a_named_sequence_or_from_whatever_it_is_in(boss, owner, sequence):
    other = SequenceFactory(owner=owner, name="Other", visibility="everyone")
    SequenceStepFactory(sequence=other, order=1, type="todo", title="t", subject="", body_html="")
    from_other = workflow(boss, trigger_type="property_matches", name="other", trigger_filters=[
        {"field": "lifecycle_stage", "operator": "eq", "value": "customer"}],
        actions=[{"type": "unenroll_from_sequence", "sequence": other.pk}])
    from_any = workflow(boss, trigger_type="property_matches", name="any", trigger_filters=[
        {"field": "lifecycle_stage", "operator": "eq", "value": "opportunity"}],
        actions=[{"type": "unenroll_from_sequence", "sequence": None}])
    contact = contact_create(email="ann@example.com", owner=owner)
    enrollment_create(sequence=sequence, caller=owner, contact_ids=[contact.pk])

    contact_update(contact=contact, data={"lifecycle_stage": "customer"})
    drain()
    assert Enrollment.objects.get(contact=contact).status == "active"
    assert WorkflowHistory.objects.get(workflow=from_other, action="unenroll_from_sequence").message == (
        "The contact was not enrolled in that sequence; nothing to do."
    )

    contact_update(contact=contact, data={"lifecycle_stage": "opportunity"})
    drain()
    enrollment = Enrollment.objects.get(contact=contact)
    assert (enrollment.status, enrollment.reason) == ("unenrolled", "MANUAL")
    assert WorkflowHistory.objects.get(workflow=from_any, action="unenroll_from_sequence").message == (
        "Unenrolled from “Intro”."
    )


# --- set_property -------------------------------------------------------------------------------------


def test_set_property_writes_columns_and_properties_through_the_contact_service(boss, owner):
    flow = workflow(boss, trigger_type="contact_created", actions=[
        {"type": "set_property", "field": "lifecycle_stage", "value": "marketingqualifiedlead"},
        {"type": "set_property", "field": "job_title", "value": "Buyer"},
        {"type": "set_property", "field": "owner", "value": owner.pk},
        {"type": "set_property", "field": "properties.score", "value": 42},
        {"type": "set_property", "field": "properties.old", "value": None},
        {"type": "set_property", "field": "time_zone", "value": "Not/AZone"},
    ])
    contact = contact_create(email="ann@example.com", properties={"old": "x", "keep": "y"})
    drain()
    contact.refresh_from_db()
    assert (contact.lifecycle_stage, contact.job_title, contact.owner) == ("marketingqualifiedlead", "Buyer", owner)
    assert contact.properties == {"keep": "y", "score": 42}
    # A value the contact service refuses (the workflow was saved around the validation) fails, with the rule's code.
    assert history(flow)[-1] == ("set_property", "failed", "VALIDATION_ERROR")
    assert "time_zone" in WorkflowHistory.objects.get(workflow=flow, code="VALIDATION_ERROR").message


def test_a_sequence_never_changes_the_lifecycle_stage_and_set_property_does(boss, owner, sequence):
    contact = contact_create(email="ann@example.com", owner=owner, lifecycle_stage="lead")
    result = enrollment_create(sequence=sequence, caller=owner, contact_ids=[contact.pk])
    enrollment = Enrollment.objects.get(pk=result.enrolled[0].id)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        for order in (1, 2):
            enrollment.refresh_from_db()
            traveller.move_to(max(enrollment.next_action_at, timezone.now()))
            assert enrollment_run_step(enrollment_id=enrollment.pk, step_order=order) != "stale"
    enrollment.refresh_from_db()
    contact.refresh_from_db()
    assert enrollment.status == "finished"
    assert contact.lifecycle_stage == "lead"

    workflow(boss, trigger_type="sequence_ended", trigger_sequence=sequence, actions=[
        {"type": "set_property", "field": "lifecycle_stage", "value": "salesqualifiedlead"}])
    contact_update(contact=contact, data={"lifecycle_stage": "lead"})  # nothing for sequence_ended
    enrollment_create(sequence=sequence, caller=owner, contact_ids=[contact.pk])
    from sequences_app.services.enrollment_state import enrollment_unenroll

    enrollment_unenroll(enrollment=Enrollment.objects.get(contact=contact, status="active"))
    drain()
    contact.refresh_from_db()
    assert contact.lifecycle_stage == "salesqualifiedlead"


# --- create_task --------------------------------------------------------------------------------------


@time_machine.travel("2026-03-02 09:00+02:00", tick=False)
def test_create_task_for_the_contact_owner_or_a_named_user(boss, owner):
    flow = workflow(boss, trigger_type="contact_created", actions=[
        {"type": "create_task", "title": "Check in with {{ contact.first_name }}", "owner": "contact_owner",
         "due_in_days": 1, "notes": "", "priority": "high", "task_type": "call"},
        {"type": "create_task", "title": "Review", "owner": boss.pk, "due_in_days": 0, "notes": "",
         "priority": "none", "task_type": "todo"},
    ])
    contact = contact_create(email="ann@example.com", first_name="Ann", owner=owner)
    nobody = contact_create(email="nobody@example.com", first_name="No")
    drain()
    task = Task.objects.get(contact=contact, owner=owner)
    assert (task.title, task.type, task.priority, task.enrollment) == ("Check in with Ann", "call", "high", None)
    assert task.due_at == timezone.now() + timedelta(days=1)
    assert Task.objects.get(contact=contact, owner=boss).due_at == timezone.now()
    assert history(flow, nobody) == [("create_task", "failed", "NO_CONTACT_OWNER"), ("create_task", "ok", "")]


# --- delay, and the chain through time ----------------------------------------------------------------


def test_enroll_then_wait_two_days_then_set_the_lifecycle_stage(boss, owner, sequence):
    with time_machine.travel("2026-03-02 09:00+02:00", tick=False) as traveller:
        flow = workflow(boss, trigger_type="property_matches", trigger_filters=[
            {"field": "lifecycle_stage", "operator": "eq", "value": "lead"}], actions=[
            {"type": "enroll_in_sequence", "sequence": sequence.pk, "sender": "contact_owner", "start_step": 1},
            {"type": "delay", "days": 2},
            {"type": "set_property", "field": "lifecycle_stage", "value": "marketingqualifiedlead"},
        ])
        contact = contact_create(email="ann@example.com", owner=owner, lifecycle_stage="lead")
        assert drain() == ["waiting"]
        run = WorkflowRun.objects.get(workflow=flow)
        assert (run.status, run.action_index) == ("waiting", 2)
        assert run.next_action_at == timezone.now() + timedelta(days=2)
        assert Enrollment.objects.get(contact=contact).sender == owner
        assert WorkflowHistory.objects.get(action="delay").message == "Waiting 2 days, until 2026-03-04 07:00 UTC."

        traveller.move_to("2026-03-04 08:59:59+02:00")
        assert drain() == []
        contact.refresh_from_db()
        assert contact.lifecycle_stage == "lead"

        traveller.move_to("2026-03-04 09:00+02:00")
        assert drain() == ["done"]
        contact.refresh_from_db()
        assert contact.lifecycle_stage == "marketingqualifiedlead"
        run.refresh_from_db()
        assert (run.status, run.action_index, run.next_action_at) == ("done", 3, None)
        assert history(flow) == [
            ("enroll_in_sequence", "ok", ""), ("delay", "ok", ""), ("set_property", "ok", "")]
        assert drain() == []


def test_turning_a_workflow_off_parks_its_waiting_runs_and_on_lets_them_go_on(boss):
    with time_machine.travel("2026-03-02 09:00+02:00", tick=False) as traveller:
        flow = workflow(boss, actions=[{"type": "delay", "days": 1},
                                       {"type": "set_property", "field": "job_title", "value": "Done"}])
        contact = contact_create(email="ann@example.com")
        drain()
        workflow_set_enabled(workflow=flow, user=boss, enabled=False)
        traveller.shift(timedelta(days=3))
        assert drain() == []
        assert WorkflowRun.objects.get().status == "paused"
        workflow_set_enabled(workflow=flow, user=boss, enabled=True)
        assert drain() == ["done"]
        contact.refresh_from_db()
        assert contact.job_title == "Done"


# --- delivery: late, repeated and lost tasks ------------------------------------------------------------


def test_a_repeated_or_late_task_does_nothing_and_a_processed_event_is_gone(boss):
    flow = workflow(boss)
    contact_create(email="ann@example.com")
    event = WorkflowEvent.objects.get()
    started = workflow_event_process(event_id=event.pk)
    assert workflow_event_process(event_id=event.pk) == []
    [(run_id, index)] = started
    assert workflow_run_advance(run_id=run_id, action_index=index) == "done"
    assert workflow_run_advance(run_id=run_id, action_index=index) == "stale"
    assert WorkflowHistory.objects.filter(workflow=flow).count() == 2


def test_the_tick_hands_out_again_an_event_and_a_run_whose_task_was_lost(boss):
    with time_machine.travel("2026-03-02 09:00+02:00", tick=False) as traveller:
        workflow(boss)
        contact_create(email="ann@example.com")
        handed: dict[str, list] = {"events": [], "runs": []}

        def tick():
            return workflows_tick(process_events=handed["events"].extend, run_actions=handed["runs"].extend)

        assert tick().events == 0  # the worker asked for on commit still has time
        traveller.shift(timedelta(minutes=3))
        assert tick().events == 1
        started = workflow_event_process(event_id=handed["events"][0])  # ... and its runs' task is lost too
        assert tick().runs == 0
        traveller.shift(timedelta(minutes=3))
        assert tick().runs == 1
        assert handed["runs"] == started
        assert workflow_run_advance(run_id=started[0][0], action_index=0) == "done"
