"""`POST /api/v1/sequences/{id}/enrollments/`: every rule, every code, nothing written on refusal."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts_app.models import PortalSettings
from contacts_app.models import BlockedEntry, ContactList, ListMembership
from mailboxes_app.models import Mailbox
from sequences_app.models import Enrollment, EnrollmentStep, SequenceStep, StepType
from tests.factories import (
    CompanyFactory,
    ContactFactory,
    ContactListFactory,
    CustomObjectFactory,
    DealFactory,
    EnrollmentFactory,
    EnrollmentStepFactory,
    MailboxFactory,
    OutboundMessageFactory,
    SeatFactory,
    SequenceFactory,
    TicketFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
NOW = "2026-11-25T09:30:00+02:00"  # a Wednesday in Helsinki


@pytest.fixture(autouse=True)
def _portal(db):
    PortalSettings.objects.update_or_create(pk=1, defaults={"time_zone": "Europe/Helsinki", "holiday_country": "FI"})


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def person(**kwargs):
    kwargs.setdefault("company", CompanyFactory(name="Acme Oy"))
    kwargs.setdefault("first_name", "Maria")
    return ContactFactory(**kwargs)


def enroll(api, sequence, **payload):
    payload.setdefault("time_zone", "Europe/Helsinki")
    return api.post(f"/api/v1/sequences/{sequence.pk}/enrollments/", payload, format="json")


def nothing_written():
    return not Enrollment.objects.exists() and not EnrollmentStep.objects.exists()


# --- Success ------------------------------------------------------------------------------------


def test_it_enrolls_one_contact_with_a_snapshot_and_a_projected_schedule(api, sequence, rep):
    contact = person()
    response = enroll(api, sequence, contacts=[contact.pk])

    assert response.status_code == 201, response.json()
    [enrolled] = response.json()["enrolled"]
    assert response.json()["rejected"] == []
    assert enrolled["contact"] == contact.pk
    assert enrolled["status"] == "active"
    assert enrolled["schedule"] == [
        {"order": 1, "type": "automated_email", "at": "2026-11-25T07:30:00Z", "local_at": "2026-11-25T09:30:00+02:00"},
        {"order": 2, "type": "call", "at": "2026-11-27T07:30:00Z", "local_at": "2026-11-27T09:30:00+02:00"},
        {"order": 3, "type": "automated_email", "at": "2026-11-30T07:30:00Z", "local_at": "2026-11-30T09:30:00+02:00"},
    ]
    enrollment = Enrollment.objects.get(pk=enrolled["id"])
    assert enrollment.sender == rep
    assert enrollment.enrolled_by == rep
    assert enrollment.mailbox == rep.mailboxes.get()
    assert [step["order"] for step in enrollment.snapshot["steps"]] == [1, 2, 3]
    assert enrollment.snapshot["settings"]["follow_up_days"] == "BUSINESS_DAYS"
    assert list(enrollment.steps.values_list("order", "status")) == [(1, "scheduled"), (2, "pending"), (3, "pending")]
    assert enrollment.next_action_at.isoformat() == "2026-11-25T07:30:00+00:00"


def test_editing_the_sequence_afterwards_does_not_change_the_enrollment(api, sequence):
    response = enroll(api, sequence, contacts=[person().pk])
    SequenceStep.objects.filter(sequence=sequence, order=1).update(subject="Changed")
    enrollment = Enrollment.objects.get(pk=response.json()["enrolled"][0]["id"])
    assert enrollment.snapshot["steps"][0]["subject"] == "Hi {{ contact.first_name }}"


def test_a_dry_run_gives_the_same_verdicts_and_writes_nothing(api, sequence):
    good, bounced = person(), person(email_bounced=True, bounce_reason="550 no such user")
    response = enroll(api, sequence, contacts=[good.pk, bounced.pk], dry_run=True)

    assert response.status_code == 200
    body = response.json()
    assert [item["id"] for item in body["enrolled"]] == [None]
    assert body["enrolled"][0]["schedule"][0]["local_at"] == "2026-11-25T09:30:00+02:00"
    assert [(item["contact"], item["code"]) for item in body["rejected"]] == [(bounced.pk, "BOUNCED")]
    assert "550 no such user" in body["rejected"][0]["message"]
    assert nothing_written()


def test_a_bulk_of_five_where_two_fail_enrolls_three_and_reports_two(api, sequence):
    contacts = [person() for _ in range(3)]
    no_email = person(email="")
    unsubscribed = person(unsubscribed=True)
    ids = [contacts[0].pk, no_email.pk, contacts[1].pk, unsubscribed.pk, contacts[2].pk]

    body = enroll(api, sequence, contacts=ids).json()

    assert sorted(item["contact"] for item in body["enrolled"]) == sorted(c.pk for c in contacts)
    assert [(item["contact"], item["code"]) for item in body["rejected"]] == [
        (no_email.pk, "MISSING_EMAIL"),
        (unsubscribed.pk, "UNSUBSCRIBED"),
    ]
    assert Enrollment.objects.count() == 3


def test_send_later_is_scheduled_at_that_local_time_even_on_a_weekend(api, sequence):
    body = enroll(api, sequence, contacts=[person().pk], time_zone="America/New_York",
                  send_at="2026-11-28T10:00:00").json()
    [enrolled] = body["enrolled"]
    assert enrolled["status"] == "scheduled"
    assert enrolled["schedule"][0]["local_at"] == "2026-11-28T10:00:00-05:00"
    assert enrolled["schedule"][1]["local_at"] == "2026-11-30T10:00:00-05:00"  # Saturday + 2 = Monday
    assert Enrollment.objects.get().status == "scheduled"


def test_starting_at_step_two_skips_step_one(api, sequence):
    body = enroll(api, sequence, contacts=[person().pk], start_step=2).json()
    [enrolled] = body["enrolled"]
    assert [step["order"] for step in enrolled["schedule"]] == [2, 3]
    assert enrolled["schedule"][0]["local_at"] == "2026-11-25T09:30:00+02:00"
    enrollment = Enrollment.objects.get()
    assert enrollment.current_step == 2
    assert list(enrollment.steps.values_list("order", "status")) == [(1, "skipped"), (2, "scheduled"), (3, "pending")]


def test_the_time_zone_defaults_to_the_contacts_own(api, sequence):
    contact = person(time_zone="America/Los_Angeles")
    body = enroll(api, sequence, contacts=[contact.pk], time_zone=None).json()
    assert body["enrolled"][0]["time_zone"] == "America/Los_Angeles"


def test_a_settings_override_changes_follow_up_days_for_this_enrollment(api, sequence):
    body = enroll(api, sequence, contacts=[person().pk], settings={"follow_up_days": "EVERYDAY"}).json()
    assert body["enrolled"][0]["schedule"][2]["local_at"] == "2026-11-30T09:30:00+02:00"
    assert Enrollment.objects.get().snapshot["settings"]["follow_up_days"] == "EVERYDAY"


# --- Sources ------------------------------------------------------------------------------------


def test_a_static_list_enrolls_every_member_minus_the_excluded(api, sequence):
    contact_list = ContactListFactory(kind=ContactList.Kind.STATIC)
    members = [person() for _ in range(4)]
    for member in members:
        ListMembership.objects.create(contact_list=contact_list, contact=member)
    body = enroll(api, sequence, list=contact_list.pk, exclude=[members[1].pk]).json()
    assert sorted(item["contact"] for item in body["enrolled"]) == sorted(
        [members[0].pk, members[2].pk, members[3].pk]
    )


def test_an_active_list_enrolls_the_contacts_matching_its_filter_now(api, sequence):
    contact_list = ContactListFactory(
        kind=ContactList.Kind.ACTIVE, filters=[{"field": "lifecycle_stage", "operator": "eq", "value": "lead"}]
    )
    leads = [person(lifecycle_stage="lead"), person(lifecycle_stage="lead")]
    person(lifecycle_stage="customer")
    body = enroll(api, sequence, list=contact_list.pk).json()
    assert sorted(item["contact"] for item in body["enrolled"]) == sorted(c.pk for c in leads)


@pytest.mark.parametrize("record_type", ["deal", "ticket", "company", "custom"])
def test_a_record_enrolls_its_associated_contacts_and_refuses_others(api, sequence, record_type):
    company = CompanyFactory(name="Acme Oy")
    associated, stranger = person(company=company), person()
    if record_type == "company":
        record = {"type": "company", "id": company.pk}
    elif record_type == "deal":
        deal = DealFactory()
        deal.contacts.add(associated)
        record = {"type": "deal", "id": deal.pk}
    elif record_type == "ticket":
        ticket = TicketFactory()
        ticket.contacts.add(associated)
        record = {"type": "ticket", "id": ticket.pk}
    else:
        custom = CustomObjectFactory(schema__name="project")
        custom.contacts.add(associated)
        record = {"type": "project", "id": custom.pk}

    body = enroll(api, sequence, record=record, contacts=[associated.pk, stranger.pk]).json()

    assert [item["contact"] for item in body["enrolled"]] == [associated.pk]
    assert [(item["contact"], item["code"]) for item in body["rejected"]] == [(stranger.pk, "NO_ASSOCIATED_CONTACT")]


def test_an_unknown_record_is_a_validation_error(api, sequence):
    response = enroll(api, sequence, record={"type": "deal", "id": 999}, contacts=[person().pk])
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert "record" in response.json()["fields"]


# --- Per-contact codes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda: person(email=""), "MISSING_EMAIL"),
        (lambda: person(email_bounced=True, bounce_reason="550 5.1.1 unknown"), "BOUNCED"),
        (lambda: person(unsubscribed=True), "UNSUBSCRIBED"),
        (lambda: person(unsubscribed_sales=True), "UNSUBSCRIBED_SALES"),
        (lambda: person(marked_spam=True), "PREVIOUSLY_MARKED_AS_SPAM"),
        (lambda: (BlockedEntry.objects.create(value="ann@blocked.example"), person(email="ann@blocked.example"))[1],
         "BLOCKED_ADDRESS"),
        (lambda: (BlockedEntry.objects.create(value="spam.example"), person(email="bob@spam.example"))[1],
         "BLOCKED_DOMAIN"),
        (lambda: person(first_name=""), "MISSING_TOKEN_VALUES"),
    ],
)
def test_each_per_contact_rule_rejects_with_its_code_and_writes_nothing(api, sequence, make, code):
    contact = make()
    response = enroll(api, sequence, contacts=[contact.pk])
    assert response.status_code == 201
    assert response.json()["enrolled"] == []
    [rejection] = response.json()["rejected"]
    assert rejection["contact"] == contact.pk
    assert rejection["code"] == code
    assert rejection["message"]
    assert nothing_written()


def test_an_unknown_contact_is_reported_not_found(api, sequence):
    body = enroll(api, sequence, contacts=[987654]).json()
    [rejection] = body["rejected"]
    assert (rejection["contact"], rejection["code"]) == (987654, "CONTACT_NOT_FOUND")
    assert nothing_written()


def test_a_contact_in_any_sequence_is_already_enrolled(api, sequence, rep):
    contact = person()
    EnrollmentFactory(contact=contact, sequence=SequenceFactory(owner=rep), sender=rep, status="paused")
    before = Enrollment.objects.count()
    body = enroll(api, sequence, contacts=[contact.pk]).json()
    assert [item["code"] for item in body["rejected"]] == ["ALREADY_ENROLLED"]
    assert Enrollment.objects.count() == before


def test_a_contact_whose_enrollment_ended_can_be_enrolled_again(api, sequence, rep):
    contact = person()
    EnrollmentFactory(contact=contact, sequence=sequence, sender=rep, status="finished")
    assert enroll(api, sequence, contacts=[contact.pk]).json()["enrolled"]


# --- Tokens ------------------------------------------------------------------------------------


def test_missing_tokens_are_listed_by_name(api, sequence):
    contact = person(first_name="", company=None)
    body = enroll(api, sequence, contacts=[contact.pk]).json()
    [rejection] = body["rejected"]
    assert rejection["code"] == "MISSING_TOKEN_VALUES"
    assert rejection["tokens"] == ["contact.first_name", "company.name"]


def test_update_all_fills_the_token_for_every_contact_lacking_it(api, sequence):
    named, unnamed = person(first_name="Maria"), person(first_name="")
    body = enroll(api, sequence, contacts=[named.pk, unnamed.pk], token_values={"contact.first_name": "there"}).json()
    assert len(body["enrolled"]) == 2
    assert Enrollment.objects.get(contact=unnamed).token_values == {"contact.first_name": "there"}
    assert Enrollment.objects.get(contact=named).token_values == {}


def test_a_per_contact_value_wins_over_update_all_and_the_contacts_own(api, sequence):
    contact = person(first_name="Maria")
    enroll(
        api,
        sequence,
        contacts=[contact.pk],
        token_values={"contact.first_name": "there"},
        contact_overrides={str(contact.pk): {"token_values": {"contact.first_name": "Mia"}}},
    )
    assert Enrollment.objects.get().token_values == {"contact.first_name": "Mia"}


def test_per_contact_step_edits_go_into_that_contacts_snapshot_only(api, sequence):
    first, second = person(), person()
    enroll(
        api,
        sequence,
        contacts=[first.pk, second.pk],
        contact_overrides={str(first.pk): {"steps": {"1": {"subject": "Just for you", "body_html": "<p>x</p>"},
                                                     "3": {"delay_days": 1}}}},
    )
    edited = Enrollment.objects.get(contact=first).snapshot["steps"]
    untouched = Enrollment.objects.get(contact=second).snapshot["steps"]
    assert (edited[0]["subject"], edited[2]["delay_days"]) == ("Just for you", 1)
    assert (untouched[0]["subject"], untouched[2]["delay_days"]) == ("Hi {{ contact.first_name }}", 3)


def test_an_edit_with_a_template_injection_is_refused(api, sequence):
    contact = person()
    response = enroll(api, sequence, contacts=[contact.pk],
                      contact_overrides={str(contact.pk): {"steps": {"1": {"subject": "{{ ''.__class__ }}"}}}})
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert f"contact_overrides.{contact.pk}.steps.1.subject" in response.json()["fields"]
    assert nothing_written()


# --- Request-level codes --------------------------------------------------------------------------


def _assert_refused(response, status_code, code):
    assert response.status_code == status_code, response.json()
    assert response.json()["code"] == code
    assert response.json()["message"]
    assert nothing_written()


def test_a_sender_without_a_qualifying_seat_is_refused(api, sequence, rep):
    rep.seat.tier = "starter"
    rep.seat.save()
    _assert_refused(enroll(api, sequence, contacts=[person().pk]), 403, "NO_SEAT")


def test_a_sender_without_any_seat_is_refused(api, sequence, rep):
    rep.seat.delete()
    api.force_authenticate(type(rep).objects.get(pk=rep.pk))
    _assert_refused(enroll(api, sequence, contacts=[person().pk]), 403, "NO_SEAT")


def test_a_sender_without_a_connected_mailbox_is_refused(api, sequence, rep):
    Mailbox.objects.filter(owner=rep).update(status="disconnected")
    _assert_refused(enroll(api, sequence, contacts=[person().pk]), 400, "NO_CONNECTED_INBOX")


def test_a_private_sequence_of_another_rep_does_not_exist_for_the_caller(api, rep):
    """It answered 403 SEQUENCE_NOT_SHARED, which told a rep the sequence exists (sequences_app/tests/
    test_not_yours.py holds the rest of "not yours answers like not there")."""
    other = SequenceFactory(visibility="private")
    SequenceStep.objects.create(sequence=other, order=1, type=StepType.TODO, title="Hi")
    _assert_refused(enroll(api, other, contacts=[person().pk]), 404, "NOT_FOUND")


def test_an_admin_naming_a_sender_the_sequence_is_not_shared_with_gets_sequence_not_shared(admin_user, rep):
    other = SequenceFactory(visibility="private")
    SequenceStep.objects.create(sequence=other, order=1, type=StepType.TODO, title="Hi")
    client = APIClient()
    client.force_authenticate(admin_user)
    _assert_refused(enroll(client, other, contacts=[person().pk], sender=rep.pk), 403, "SEQUENCE_NOT_SHARED")


def test_a_sequence_shared_with_the_reps_team_can_be_used(api, rep):
    from tests.factories import TeamFactory

    team = TeamFactory()
    team.members.add(rep)
    shared = SequenceFactory(visibility="specific")
    shared.shared_teams.add(team)
    SequenceStep.objects.create(sequence=shared, order=1, type=StepType.TODO, title="Say hi")
    assert enroll(api, shared, contacts=[person().pk]).status_code == 201


def test_more_than_one_contact_needs_the_bulk_permission(api, sequence, rep):
    rep.can_bulk_enroll = False
    rep.save()
    _assert_refused(enroll(api, sequence, contacts=[person().pk, person().pk]), 403, "BULK_PERMISSION_REQUIRED")
    assert enroll(api, sequence, contacts=[person().pk]).status_code == 201


def test_more_than_fifty_contacts_are_refused(api, sequence):
    ids = [person(company=None).pk for _ in range(51)]
    _assert_refused(enroll(api, sequence, contacts=ids), 400, "BULK_LIMIT_EXCEEDED")


def test_a_list_of_more_than_fifty_is_refused(api, sequence):
    contact_list = ContactListFactory(kind=ContactList.Kind.STATIC)
    for _ in range(51):
        ListMembership.objects.create(contact_list=contact_list, contact=ContactFactory())
    _assert_refused(enroll(api, sequence, list=contact_list.pk), 400, "BULK_LIMIT_EXCEEDED")


@pytest.mark.parametrize("start_step", [0, 4, -1])
def test_a_start_step_the_sequence_does_not_have_is_refused(api, sequence, start_step):
    _assert_refused(enroll(api, sequence, contacts=[person().pk], start_step=start_step), 400, "INVALID_START_STEP")


def test_an_unknown_time_zone_is_refused(api, sequence):
    _assert_refused(enroll(api, sequence, contacts=[person().pk], time_zone="Mars/Olympus"), 400, "INVALID_TIME_ZONE")


def test_a_send_later_time_in_the_past_is_refused(api, sequence):
    _assert_refused(
        enroll(api, sequence, contacts=[person().pk], send_at="2026-11-25T09:00:00"), 400, "SEND_AT_IN_PAST"
    )


def test_no_contacts_is_refused(api, sequence):
    _assert_refused(enroll(api, sequence, contacts=[]), 400, "NO_CONTACTS")


def test_an_empty_list_is_refused(api, sequence):
    _assert_refused(enroll(api, sequence, list=ContactListFactory().pk), 400, "NO_CONTACTS")


def test_a_send_at_with_an_offset_is_a_validation_error(api, sequence):
    response = enroll(api, sequence, contacts=[person().pk], send_at="2026-12-01T09:00:00+02:00")
    _assert_refused(response, 400, "VALIDATION_ERROR")
    assert "send_at" in response.json()["fields"]


def test_a_bad_settings_override_is_a_validation_error(api, sequence):
    response = enroll(api, sequence, contacts=[person().pk], settings={"follow_up_days": "SOMETIMES"})
    _assert_refused(response, 400, "VALIDATION_ERROR")
    assert "settings.follow_up_days" in response.json()["fields"]


def test_another_users_mailbox_can_not_be_used(api, sequence):
    theirs = MailboxFactory()
    response = enroll(api, sequence, contacts=[person().pk], mailbox=theirs.pk)
    _assert_refused(response, 400, "VALIDATION_ERROR")
    assert "mailbox" in response.json()["fields"]


def test_only_an_admin_may_name_another_sender(api, sequence, admin_user):
    other = UserFactory()
    SeatFactory(user=other)
    MailboxFactory(owner=other)
    _assert_refused(enroll(api, sequence, contacts=[person().pk], sender=other.pk), 403, "PERMISSION_DENIED")

    api.force_authenticate(admin_user)
    body = enroll(api, sequence, contacts=[person().pk], sender=other.pk).json()
    enrollment = Enrollment.objects.get(pk=body["enrolled"][0]["id"])
    assert (enrollment.sender, enrollment.enrolled_by, enrollment.mailbox.owner) == (other, admin_user, other)


def test_a_deleted_sequence_is_not_found(api, sequence):
    sequence.deleted_at = timezone.now()
    sequence.save()
    _assert_refused(enroll(api, sequence, contacts=[person().pk]), 404, "NOT_FOUND")


# --- Limits and throttle ------------------------------------------------------------------------------


def _fill_load(rep, count, *, at, status="active"):
    for _ in range(count):
        enrollment = EnrollmentFactory(sender=rep, status=status, sequence=SequenceFactory(owner=rep))
        EnrollmentStepFactory(enrollment=enrollment, status="scheduled", scheduled_for=at)


def test_a_sender_exactly_at_the_limit_gets_the_contact_rejected_with_the_next_free_time(api, sequence, rep):
    Mailbox.objects.filter(owner=rep).update(daily_limit=3)
    earlier = timezone.now() - timedelta(hours=5)
    _fill_load(rep, 3, at=earlier)

    body = enroll(api, sequence, contacts=[person().pk]).json()

    [rejection] = body["rejected"]
    assert rejection["code"] == "DAILY_SEND_LIMIT_REACHED"
    assert rejection["next_available_at"] == "2026-11-26T02:30:00Z"  # 24 h after the emails 5 h ago
    assert Enrollment.objects.filter(contact__isnull=False, sender=rep, sequence=sequence).count() == 0


def test_one_below_the_limit_is_still_enrolled_and_the_next_one_is_not(api, sequence, rep):
    Mailbox.objects.filter(owner=rep).update(daily_limit=3)
    _fill_load(rep, 2, at=timezone.now() - timedelta(hours=1))
    first, second = person(), person()
    body = enroll(api, sequence, contacts=[first.pk, second.pk]).json()
    assert [item["contact"] for item in body["enrolled"]] == [first.pk]
    assert [(item["contact"], item["code"]) for item in body["rejected"]] == [(second.pk, "DAILY_SEND_LIMIT_REACHED")]


def test_paused_enrollments_count_against_the_limit(api, sequence, rep):
    Mailbox.objects.filter(owner=rep).update(daily_limit=2)
    _fill_load(rep, 2, at=timezone.now() - timedelta(minutes=30), status="paused")
    body = enroll(api, sequence, contacts=[person().pk]).json()
    assert [item["code"] for item in body["rejected"]] == ["DAILY_SEND_LIMIT_REACHED"]


def test_emails_sent_more_than_24_hours_ago_do_not_count(api, sequence, rep):
    Mailbox.objects.filter(owner=rep).update(daily_limit=2)
    _fill_load(rep, 2, at=timezone.now() - timedelta(hours=24))
    assert enroll(api, sequence, contacts=[person().pk]).json()["enrolled"]


def test_the_seat_limit_applies_when_the_mailbox_has_no_cap(api, sequence, rep):
    PortalSettings.objects.filter(pk=1).update(professional_send_limit=1)
    _fill_load(rep, 1, at=timezone.now() - timedelta(minutes=1))
    body = enroll(api, sequence, contacts=[person().pk]).json()
    assert [item["code"] for item in body["rejected"]] == ["DAILY_SEND_LIMIT_REACHED"]


def _most_in_any_minute(moments):
    """The largest number of `moments` (ISO strings) less than 60 s apart, i.e. in one rolling 60-second window."""
    times = sorted(datetime.fromisoformat(moment) for moment in moments)
    return max(
        sum(1 for other in times if timedelta(0) <= other - first < timedelta(seconds=60)) for first in times
    )


def test_a_bulk_of_fifty_is_spread_twenty_seconds_apart(api, sequence):
    ids = [person().pk for _ in range(50)]
    body = enroll(api, sequence, contacts=ids).json()
    firsts = sorted(item["schedule"][0]["at"] for item in body["enrolled"])
    assert len(firsts) == 50
    assert firsts[:4] == ["2026-11-25T07:30:00Z", "2026-11-25T07:30:20Z", "2026-11-25T07:30:40Z",
                          "2026-11-25T07:31:00Z"]
    assert firsts[-1] == "2026-11-25T07:46:20Z"
    assert _most_in_any_minute(firsts) == 3


def test_a_second_bulk_queues_behind_the_first(api, sequence):
    enroll(api, sequence, contacts=[person().pk for _ in range(6)])
    body = enroll(api, sequence, contacts=[person().pk for _ in range(3)]).json()
    assert sorted(item["schedule"][0]["at"] for item in body["enrolled"]) == [
        "2026-11-25T07:32:00Z", "2026-11-25T07:32:20Z", "2026-11-25T07:32:40Z",
    ]


def test_bulk_emails_sent_at_the_end_of_the_last_minute_hold_back_the_next_bulk(api, sequence, rep):
    # Three went at 09:29:19, :39 and :59; a clock-minute throttle would let three more go at 09:30:00.
    sent = [timezone.now() - timedelta(seconds=seconds) for seconds in (41, 21, 1)]
    for sent_at in sent:
        OutboundMessageFactory(
            enrollment=EnrollmentFactory(sender=rep, is_bulk=True), is_bulk=True, state="sent", sent_at=sent_at
        )
    body = enroll(api, sequence, contacts=[person().pk for _ in range(3)]).json()
    firsts = sorted(item["schedule"][0]["at"] for item in body["enrolled"])
    assert firsts == ["2026-11-25T07:30:19Z", "2026-11-25T07:30:39Z", "2026-11-25T07:30:59Z"]
    assert _most_in_any_minute([moment.isoformat() for moment in sent] + firsts) == 3


def test_a_mailbox_per_minute_cap_holds_single_enrollments_in_every_sixty_seconds(api, sequence, rep):
    Mailbox.objects.filter(owner=rep).update(minute_limit=2)
    firsts = [
        enroll(api, sequence, contacts=[person().pk]).json()["enrolled"][0]["schedule"][0]["at"] for _ in range(5)
    ]
    # Not spread: the cap allows two at once, then the next two when the first two are 60 s old.
    assert firsts == ["2026-11-25T07:30:00Z", "2026-11-25T07:30:00Z", "2026-11-25T07:31:00Z",
                      "2026-11-25T07:31:00Z", "2026-11-25T07:32:00Z"]


def test_a_bulk_meets_both_the_bulk_throttle_and_the_mailbox_cap(api, sequence, rep):
    Mailbox.objects.filter(owner=rep).update(minute_limit=2)
    body = enroll(api, sequence, contacts=[person().pk for _ in range(5)]).json()
    firsts = sorted(item["schedule"][0]["at"] for item in body["enrolled"])
    assert firsts == ["2026-11-25T07:30:00Z", "2026-11-25T07:30:20Z", "2026-11-25T07:31:00Z",
                      "2026-11-25T07:31:20Z", "2026-11-25T07:32:00Z"]
    assert _most_in_any_minute(firsts) == 2


def test_a_dry_run_previews_the_same_per_minute_placement(api, sequence, rep):
    Mailbox.objects.filter(owner=rep).update(minute_limit=1)
    enroll(api, sequence, contacts=[person().pk])
    body = enroll(api, sequence, contacts=[person().pk], dry_run=True).json()
    assert body["enrolled"][0]["schedule"][0]["at"] == "2026-11-25T07:31:00Z"


def test_a_single_enrollment_is_not_throttled(api, sequence):
    enroll(api, sequence, contacts=[person().pk for _ in range(3)])
    body = enroll(api, sequence, contacts=[person().pk]).json()
    assert body["enrolled"][0]["schedule"][0]["at"] == "2026-11-25T07:30:00Z"


# --- Cost ------------------------------------------------------------------------------------------------


def test_the_number_of_queries_does_not_grow_with_the_number_of_contacts(api, sequence):
    few = [person().pk for _ in range(2)]
    many = [person().pk for _ in range(50)]
    with CaptureQueriesContext(connection) as small:
        assert len(enroll(api, sequence, contacts=few).json()["enrolled"]) == 2
    with CaptureQueriesContext(connection) as large:
        assert len(enroll(api, sequence, contacts=many).json()["enrolled"]) == 50
    # Constant on PostgreSQL; SQLite caps a statement at 999 parameters, so
    # Django splits the two bulk inserts into a few batches there.
    batching = 0 if connection.vendor == "postgresql" else 4
    assert len(large) <= len(small) + batching
    assert len(large) <= 21


# --- Garbage in, no 500 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        [],
        "contacts",
        {"contacts": "1,2"},
        {"contacts": [None]},
        {"contacts": [1.5]},
        {"contacts": [True]},
        {"contacts": [2**70]},
        {"contacts": list(range(1, 20_000))},
        {"contacts": [1], "start_step": "first"},
        {"contacts": [1], "time_zone": 5},
        {"contacts": [1], "send_at": "tomorrow"},
        {"contacts": [1], "settings": "fast"},
        {"contacts": [1], "settings": {"send_window": {"start_minute": "8"}}},
        {"contacts": [1], "token_values": {"contact.first_name": ["x"]}},
        {"contacts": [1], "token_values": {"not a token": "x"}},
        {"contacts": [1], "contact_overrides": {"abc": {}}},
        {"contacts": [1], "contact_overrides": {"1": {"steps": {"x": {}}}}},
        {"contacts": [1], "contact_overrides": {"1": {"steps": {"9": {"subject": "x"}}}}},
        {"contacts": [1], "record": {"type": "deal"}},
        {"contacts": [1], "record": "deal"},
        {"contacts": [1], "list": "all"},
        {"contacts": [1], "list": 99999},
        {"contacts": [1], "sender": 99999},
        {"contacts": [1], "mailbox": 99999},
        {"contacts": [1], "dry_run": "maybe"},
    ],
)
def test_malformed_requests_get_a_400_and_change_nothing(api, sequence, payload):
    response = api.post(f"/api/v1/sequences/{sequence.pk}/enrollments/", payload, format="json")
    assert 400 <= response.status_code < 500, response.content
    assert response.json()["code"]
    assert nothing_written()


def test_malformed_json_is_a_validation_error(api, sequence):
    response = api.post(f"/api/v1/sequences/{sequence.pk}/enrollments/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"


def test_an_unknown_sequence_is_not_found(api):
    response = api.post("/api/v1/sequences/424242/enrollments/", {"contacts": [1]}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"
