"""Each trigger fires exactly when it should — and not again on unrelated edits; re-enrollment off and on."""
from __future__ import annotations

import pytest
from django.utils import timezone

from contacts_app.models import ContactList
from contacts_app.services import (
    company_create,
    company_delete,
    company_update,
    contact_create,
    contact_update,
    list_members_add,
    list_members_remove,
)
from sequences_app.models import Enrollment
from sequences_app.scheduling.runner import enrollment_run_step
from sequences_app.services.engagement import message_unsubscribe
from sequences_app.services.enrollment_state import enrollment_unenroll
from sequences_app.services.enrollments import enrollment_create
from sequences_app.services.stops import bounce_record, spam_report_record
from tests.factories import EnrollmentFactory, OutboundMessageFactory, SequenceFactory, SequenceStepFactory
from workflows_app.models import WorkflowEvent, WorkflowHistory, WorkflowRun
from workflows_app.tests.helpers import drain, workflow

pytestmark = pytest.mark.django_db

LEAD = [{"field": "lifecycle_stage", "operator": "eq", "value": "lead"}]


def entered(flow) -> list[int]:
    """Contacts that entered the workflow, once per entry."""
    return sorted(WorkflowRun.objects.filter(workflow=flow).values_list("contact_id", flat=True))


# --- contact_created ----------------------------------------------------------------------------


def test_contact_created_fires_once_for_a_new_contact_and_never_on_its_edits(boss):
    flow = workflow(boss, trigger_type="contact_created")
    contact = contact_create(email="ann@example.com", first_name="Ann")
    drain()
    contact.refresh_from_db()
    contact_update(contact=contact, data={"first_name": "Anna", "lifecycle_stage": "lead"})
    drain()

    assert entered(flow) == [contact.pk]
    contact.refresh_from_db()
    assert contact.properties == {"touched": "yes"}
    rows = list(
        WorkflowHistory.objects.filter(workflow=flow).order_by("id").values_list("action", "outcome", "message")
    )
    assert rows == [("trigger", "ok", "Contact created."), ("set_property", "ok", "Property “touched” set to “yes”.")]


def test_contact_created_with_filters_takes_only_new_contacts_that_match(boss):
    flow = workflow(boss, trigger_type="contact_created", trigger_filters=LEAD)
    lead = contact_create(email="lead@example.com", lifecycle_stage="lead")
    other = contact_create(email="other@example.com", lifecycle_stage="customer")
    drain()
    contact_update(contact=other, data={"lifecycle_stage": "lead"})  # a change, not a creation
    drain()
    assert entered(flow) == [lead.pk]


def test_a_disabled_workflow_fires_for_nobody(boss):
    flow = workflow(boss, trigger_type="contact_created", enabled=False)
    contact_create(email="ann@example.com")
    drain()
    assert entered(flow) == []


def test_no_event_is_written_when_no_enabled_workflow_could_care(boss):
    workflow(boss, trigger_type="sequence_ended")
    contact = contact_create(email="ann@example.com")
    contact_update(contact=contact, data={"lifecycle_stage": "lead"})
    assert not WorkflowEvent.objects.exists()


# --- property_matches ---------------------------------------------------------------------------


def test_property_matches_fires_when_a_contact_starts_matching_and_not_on_unrelated_edits(boss):
    flow = workflow(boss, trigger_type="property_matches", trigger_filters=LEAD)
    contact = contact_create(email="ann@example.com", lifecycle_stage="subscriber")
    drain()
    assert entered(flow) == []

    contact_update(contact=contact, data={"lifecycle_stage": "lead"})
    drain()
    assert entered(flow) == [contact.pk]

    # Still matching: edits of other fields (and of the filtered field to the same value) fire nothing.
    contact_update(contact=contact, data={"first_name": "Ann", "job_title": "CEO"})
    contact_update(contact=contact, data={"lifecycle_stage": "lead", "properties": {"city": "Oulu"}})
    drain()
    assert entered(flow) == [contact.pk]
    history = WorkflowHistory.objects.filter(workflow=flow, action="trigger").values_list("message", flat=True)
    assert list(history) == ["Contact started matching the filters."]


def test_property_matches_fires_for_a_contact_created_matching(boss):
    flow = workflow(boss, trigger_type="property_matches", trigger_filters=LEAD)
    contact = contact_create(email="ann@example.com", lifecycle_stage="lead")
    drain()
    assert entered(flow) == [contact.pk]


def test_property_matches_on_a_property_and_a_company_field(boss):
    from tests.factories import CompanyFactory

    acme = CompanyFactory(name="Acme")
    flow = workflow(boss, trigger_type="property_matches", trigger_filters=[
        {"field": "properties.industry", "operator": "eq", "value": "mining"},
        {"field": "company.name", "operator": "eq", "value": "acme"},
    ])
    contact = contact_create(email="ann@example.com", properties={"industry": "Mining"})
    drain()
    assert entered(flow) == []
    contact_update(contact=contact, data={"company": acme})
    drain()
    assert entered(flow) == [contact.pk]


def test_without_reenrollment_a_contact_that_matches_again_does_not_run_again(boss):
    flow = workflow(boss, trigger_type="property_matches", trigger_filters=LEAD, reenroll=False)
    contact = contact_create(email="ann@example.com", lifecycle_stage="lead")
    drain()
    contact_update(contact=contact, data={"lifecycle_stage": "customer"})
    drain()
    contact_update(contact=contact, data={"lifecycle_stage": "lead"})
    drain()
    assert entered(flow) == [contact.pk]


def test_with_reenrollment_a_contact_runs_again_each_time_it_starts_matching(boss):
    flow = workflow(boss, trigger_type="property_matches", trigger_filters=LEAD, reenroll=True)
    contact = contact_create(email="ann@example.com", lifecycle_stage="lead")
    drain()
    contact_update(contact=contact, data={"first_name": "Unrelated"})
    drain()
    assert entered(flow) == [contact.pk]
    contact_update(contact=contact, data={"lifecycle_stage": "customer"})
    contact_update(contact=contact, data={"lifecycle_stage": "lead"})
    drain()
    assert entered(flow) == [contact.pk, contact.pk]


def test_with_reenrollment_a_contact_still_inside_does_not_enter_twice(boss):
    flow = workflow(boss, trigger_type="property_matches", trigger_filters=LEAD, reenroll=True,
                    actions=[{"type": "delay", "days": 3}])
    contact = contact_create(email="ann@example.com", lifecycle_stage="lead")
    drain()
    contact_update(contact=contact, data={"lifecycle_stage": "customer"})
    contact_update(contact=contact, data={"lifecycle_stage": "lead"})
    drain()
    assert entered(flow) == [contact.pk]
    assert WorkflowRun.objects.get(workflow=flow).status == "waiting"


def test_a_workflow_turned_on_after_a_change_does_not_take_that_change_as_a_start(boss):
    flow = workflow(boss, trigger_type="property_matches", trigger_filters=LEAD, enabled=False)
    other = workflow(boss, trigger_type="property_matches", trigger_filters=[
        {"field": "job_title", "operator": "is_set", "value": None}])
    contact = contact_create(email="ann@example.com", lifecycle_stage="lead")
    drain()
    contact_update(contact=contact, data={"job_title": "CEO"})  # watched: `other` only
    flow.enabled = True
    flow.save()
    drain()
    # Nobody asked whether the contact matched `flow` before the edit: it matched all along.
    assert entered(flow) == []
    assert entered(other) == [contact.pk]


# --- list_joined ----------------------------------------------------------------------------------


def test_list_joined_fires_when_contacts_are_added_to_a_static_list_and_only_the_new_ones(boss):
    hot = ContactList.objects.create(name="Hot", kind="static")
    flow = workflow(boss, trigger_type="list_joined", trigger_list=hot)
    ann = contact_create(email="ann@example.com")
    bob = contact_create(email="bob@example.com")
    list_members_add(contact_list=hot, contacts=[ann])
    drain()
    list_members_add(contact_list=hot, contacts=[ann, bob])
    contact_update(contact=ann, data={"first_name": "Ann"})
    drain()
    assert entered(flow) == sorted([ann.pk, bob.pk])
    message = WorkflowHistory.objects.filter(workflow=flow, contact=ann, action="trigger").get().message
    assert message == "Contact was added to the list “Hot”."


def test_list_joined_on_a_static_list_with_reenrollment_fires_again_after_leaving_and_rejoining(boss):
    hot = ContactList.objects.create(name="Hot", kind="static")
    once = workflow(boss, trigger_type="list_joined", trigger_list=hot, name="once")
    again = workflow(boss, trigger_type="list_joined", trigger_list=hot, reenroll=True, name="again")
    ann = contact_create(email="ann@example.com")
    list_members_add(contact_list=hot, contacts=[ann])
    drain()
    list_members_remove(contact_list=hot, contacts=[ann])
    list_members_add(contact_list=hot, contacts=[ann])
    drain()
    assert entered(once) == [ann.pk]
    assert entered(again) == [ann.pk, ann.pk]


def test_list_joined_on_an_active_list_fires_when_a_change_makes_the_contact_a_member(boss):
    leads = ContactList.objects.create(name="Leads", kind="active", filters=LEAD)
    flow = workflow(boss, trigger_type="list_joined", trigger_list=leads)
    ann = contact_create(email="ann@example.com", lifecycle_stage="subscriber")
    bob = contact_create(email="bob@example.com", lifecycle_stage="lead")  # a member from the start
    drain()
    assert entered(flow) == [bob.pk]
    contact_update(contact=ann, data={"lifecycle_stage": "lead"})
    contact_update(contact=bob, data={"phone": "+358 40 123"})  # unrelated edit of a member
    drain()
    assert entered(flow) == sorted([ann.pk, bob.pk])
    assert WorkflowHistory.objects.get(workflow=flow, contact=ann, action="trigger").message == (
        "Contact joined the active list “Leads”."
    )


# --- sequence_ended -------------------------------------------------------------------------------


def _enroll(sequence, contact, sender):
    result = enrollment_create(sequence=sequence, caller=sender, contact_ids=[contact.pk])
    assert result.enrolled, result.rejected
    return Enrollment.objects.get(pk=result.enrolled[0].id)


def test_sequence_ended_fires_when_an_enrollment_is_unenrolled(boss, owner, sequence):
    flow = workflow(boss, trigger_type="sequence_ended", trigger_sequence=sequence)
    contact = contact_create(email="ann@example.com", owner=owner)
    enrollment = _enroll(sequence, contact, owner)
    drain()
    assert entered(flow) == []
    enrollment_unenroll(enrollment=enrollment)
    drain()
    assert entered(flow) == [contact.pk]
    assert WorkflowHistory.objects.get(workflow=flow, action="trigger").message == (
        "Enrollment in “Intro” ended (unenrolled: unenrolled by hand)."
    )


def test_sequence_ended_fires_when_an_enrollment_finishes(boss, owner):
    one_step = SequenceFactory(owner=owner, name="One call", visibility="everyone")
    SequenceStepFactory(sequence=one_step, order=1, type="call", title="Call", subject="", body_html="",
                        continue_without_completion=True)
    flow = workflow(boss, trigger_type="sequence_ended", trigger_sequence=one_step)
    contact = contact_create(email="ann@example.com", owner=owner)
    enrollment = _enroll(one_step, contact, owner)
    enrollment_run_step(enrollment_id=enrollment.pk, step_order=1)
    enrollment.refresh_from_db()
    assert enrollment.status == "finished"
    drain()
    assert entered(flow) == [contact.pk]
    assert WorkflowHistory.objects.get(workflow=flow, action="trigger").message == (
        "Enrollment in “One call” ended (finished)."
    )


def test_sequence_ended_names_its_sequence_or_any(boss, owner, sequence):
    other = SequenceFactory(owner=owner, name="Other", visibility="everyone")
    SequenceStepFactory(sequence=other, order=1)
    on_other = workflow(boss, trigger_type="sequence_ended", trigger_sequence=other, name="other")
    on_any = workflow(boss, trigger_type="sequence_ended", trigger_sequence=None, name="any")
    contact = contact_create(email="ann@example.com", owner=owner)
    enrollment_unenroll(enrollment=_enroll(sequence, contact, owner))
    drain()
    assert entered(on_other) == []
    assert entered(on_any) == [contact.pk]


def test_an_edit_that_no_watched_filter_reads_writes_no_event(boss):
    workflow(boss, trigger_type="property_matches", trigger_filters=[
        *LEAD, {"field": "properties.city", "operator": "eq", "value": "Oulu"}])
    contact = contact_create(email="ann@example.com", lifecycle_stage="subscriber")
    drain()
    contact_update(contact=contact, data={"phone": "+358 40 1", "properties": {"industry": "mining"}})
    assert not WorkflowEvent.objects.exists()
    contact_update(contact=contact, data={"properties": {"city": "Oulu"}})
    contact_update(contact=contact, data={"lifecycle_stage": "lead"})
    assert WorkflowEvent.objects.count() == 2


# --- changes Nudge itself makes (bounces, complaints, unsubscribes) ------------------------------


def test_a_hard_bounce_a_spam_complaint_and_an_unsubscribe_fire_property_matches(boss):
    flows = {
        flag: workflow(boss, trigger_type="property_matches",
                       trigger_filters=[{"field": flag, "operator": "eq", "value": True}])
        for flag in ("email_bounced", "marked_spam", "unsubscribed_sales")
    }
    bounced, complained, leaving = (contact_create(email=f"{name}@example.com") for name in ("b", "c", "l"))
    drain()
    bounce_record(message=None, contact=bounced, permanent=True, code="user_unknown", text="550 No such user",
                  occurred_at=timezone.now())
    spam_report_record(message=None, contact=complained, occurred_at=timezone.now())
    message = OutboundMessageFactory(enrollment=EnrollmentFactory(contact=leaving))
    assert message_unsubscribe(message=message) is True
    assert message_unsubscribe(message=message) is False  # a second click changes nothing
    drain()
    assert entered(flows["email_bounced"]) == [bounced.pk]
    assert entered(flows["marked_spam"]) == [complained.pk]
    assert entered(flows["unsubscribed_sales"]) == [leaving.pk]
    bounced.refresh_from_db()
    assert (bounced.email_bounced, bounced.bounce_reason, bounced.bounce_code) == (
        True, "User unknown: 550 No such user", "user_unknown")


# --- company changes -------------------------------------------------------------------------------


ACME_CONTACTS = [{"field": "company.name", "operator": "eq", "value": "acme"}]


def test_renaming_a_company_fires_for_its_contacts_that_start_matching(boss):
    flow = workflow(boss, trigger_type="property_matches", trigger_filters=ACME_CONTACTS)
    company = company_create(name="Acme Labs")
    ann, bob = (contact_create(email=f"{name}@example.com", company=company) for name in ("ann", "bob"))
    contact_create(email="carl@example.com")  # no company: stays out
    drain()
    assert entered(flow) == []
    company_update(company=company, data={"name": "Acme"})
    drain()
    assert entered(flow) == sorted([ann.pk, bob.pk])
    company_update(company=company, data={"domain": "acme.example"})  # they already matched: nothing new
    drain()
    assert entered(flow) == sorted([ann.pk, bob.pk])


def test_moving_contacts_into_a_company_fires_for_them(boss):
    flow = workflow(boss, trigger_type="property_matches", trigger_filters=ACME_CONTACTS)
    acme = company_create(name="Acme")
    ann = contact_create(email="ann@example.com")
    drain()
    company_update(company=acme, data={"contacts": [ann]})
    drain()
    assert entered(flow) == [ann.pk]


def test_a_company_change_writes_no_event_when_no_workflow_looks_at_companies(boss):
    workflow(boss, trigger_type="property_matches", trigger_filters=LEAD)
    company = company_create(name="Acme Labs")
    contact_create(email="ann@example.com", company=company)
    drain()
    company_update(company=company, data={"name": "Acme"})
    assert not WorkflowEvent.objects.exists()


def test_deleting_a_company_fires_for_its_contacts_that_start_matching(boss):
    flow = workflow(boss, trigger_type="property_matches",
                    trigger_filters=[{"field": "company.name", "operator": "neq", "value": "acme"}])
    acme = company_create(name="Acme")
    ann = contact_create(email="ann@example.com", company=acme)
    drain()
    assert entered(flow) == []
    company_delete(company=acme)
    drain()
    assert entered(flow) == [ann.pk]
