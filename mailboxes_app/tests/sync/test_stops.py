"""The rules that stop or pause enrollments on their own: through a real sync where mail is involved,
through the seat and contact services otherwise."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import time_machine

from accounts_app.services import seat_remove, seat_set, user_update
from contacts_app.services import contact_delete
from mailboxes_app.models import InboundMessage
from mailboxes_app.sync.imap import mailbox_sync
from mailboxes_app.tests.sync.helpers import (
    EMAIL_1,
    EMAIL_2,
    HELSINKI,
    REPLY_AT,
    SYNC_AT,
    enroll_and_send,
    imap_append,
    make_sequence,
)
from sequences_app.analytics import sequence_performance
from sequences_app.models import EmailEvent, Enrollment
from sequences_app.services.enrollment_state import enrollment_pause
from sequences_app.services.stops import out_of_office_record
from sequences_app.tests.scheduler_helpers import run_scheduler
from tests.factories import CompanyFactory, ContactFactory, SeatFactory

pytestmark = pytest.mark.django_db
SYNC_TIME = datetime.fromisoformat(SYNC_AT)


def sync(world, at=SYNC_AT):
    with time_machine.travel(at, tick=False):
        return mailbox_sync(mailbox_id=world.mailbox.pk)


def set_settings(enrollment, **settings):
    enrollment.snapshot["settings"].update(settings)
    enrollment.save(update_fields=["snapshot"])


def status(enrollment):
    enrollment.refresh_from_db()
    return enrollment.status, enrollment.reason


# --- Replies ------------------------------------------------------------------------------------------


def test_with_account_based_a_reply_stops_every_live_enrollment_at_the_company(world, inbox):
    set_settings(world.enrollment, account_based=True)
    colleague = ContactFactory(email="jukka.lahtinen@acme.example", company=world.contact.company)
    elsewhere = ContactFactory(email="olli@beta.example", company=CompanyFactory(name="Beta"))
    [colleague_enrollment, elsewhere_enrollment] = enroll_and_send(world.sequence, world.rep, [colleague, elsewhere])
    imap_append(inbox, world.eml("reply_gmail_threaded.eml"), when=REPLY_AT)

    sync(world)

    assert status(world.enrollment) == ("unenrolled", "REPLIED")
    assert status(colleague_enrollment) == ("unenrolled", "COMPANY_REPLIED")
    assert status(elsewhere_enrollment) == ("active", None)
    assert InboundMessage.objects.get().detail["company_stopped"] == 1


def test_without_account_based_colleagues_keep_their_sequence(world, inbox):
    colleague = ContactFactory(email="jukka.lahtinen@acme.example", company=world.contact.company)
    [colleague_enrollment] = enroll_and_send(world.sequence, world.rep, [colleague])
    imap_append(inbox, world.eml("reply_gmail_threaded.eml"), when=REPLY_AT)
    sync(world)
    assert status(world.enrollment) == ("unenrolled", "REPLIED")
    assert status(colleague_enrollment) == ("active", None)


def test_without_unenroll_on_reply_a_reply_is_recorded_and_the_sequence_goes_on(world, inbox):
    set_settings(world.enrollment, unenroll_on_reply=False, account_based=True)
    imap_append(inbox, world.eml("reply_outlook_threaded.eml"), when=REPLY_AT)
    sync(world)
    assert status(world.enrollment) == ("active", None)
    assert list(EmailEvent.objects.filter(kind="reply").values_list("enrollment", flat=True)) == [world.enrollment.pk]


def test_a_reply_counts_in_the_sequence_analytics(world, inbox):
    imap_append(inbox, world.eml("reply_plain_from_contact.eml"), when=REPLY_AT)
    sync(world)
    with time_machine.travel(SYNC_AT, tick=False):
        performance = sequence_performance(sequence=world.sequence)
    assert performance["replied"] == 1
    assert performance["steps"][0]["replied"] == 1


def test_a_reply_to_an_earlier_sequence_stops_the_contacts_current_one(world, inbox):
    """Maria answers the first sequence's email while a second sequence from the same rep runs."""
    Enrollment.objects.filter(pk=world.enrollment.pk).update(status="finished", next_action_at=None)
    later = make_sequence(world.rep, EMAIL_1, EMAIL_2)
    [current] = enroll_and_send(later, world.rep, [world.contact], at="2026-11-23T10:00:00+02:00")
    imap_append(inbox, world.eml("reply_gmail_threaded.eml"), when=REPLY_AT)

    sync(world)

    assert status(current) == ("unenrolled", "REPLIED")
    assert status(world.enrollment) == ("finished", None)
    # The reply belongs to the email it answered, for the first sequence's analytics.
    assert EmailEvent.objects.get(kind="reply").enrollment_id == world.enrollment.pk


# --- Out of office ----------------------------------------------------------------------------------


def test_an_out_of_office_pause_resumes_on_the_return_date_and_the_sequence_goes_on(world, inbox, mailserver):
    imap_append(inbox, world.eml("ooo_en_outlook_date.eml"), when=REPLY_AT)
    sync(world)
    assert status(world.enrollment) == ("paused", "OUT_OF_OFFICE")

    with time_machine.travel("2026-12-07T08:59:00+02:00", tick=False):
        run_scheduler()
    assert status(world.enrollment) == ("paused", "OUT_OF_OFFICE")
    with time_machine.travel("2026-12-07T09:00:30+02:00", tick=False):
        run_scheduler()
    assert status(world.enrollment) == ("active", None)

    # The 2 days the second email still had to wait when the pause began run from the return.
    with time_machine.travel("2026-12-10T12:00:00+02:00", tick=False):
        run_scheduler()
    assert len(mailserver.handler.received) == 2
    assert status(world.enrollment) == ("finished", None)


def test_a_real_reply_after_an_out_of_office_ends_the_paused_enrollment(world, inbox):
    imap_append(inbox, world.eml("ooo_sv_outlook_date.eml"), when=REPLY_AT)
    sync(world)
    assert status(world.enrollment) == ("paused", "OUT_OF_OFFICE")
    back = datetime(2026, 12, 7, 10, 0, tzinfo=HELSINKI)
    imap_append(inbox, world.eml("reply_outlook_threaded.eml", at=back), when=back)
    sync(world, at=back + timedelta(minutes=5))
    world.enrollment.refresh_from_db()
    assert (world.enrollment.status, world.enrollment.reason, world.enrollment.resume_at) == (
        "unenrolled", "REPLIED", None
    )


def test_an_auto_reply_leaves_an_enrollment_paused_by_hand_alone(world, inbox):
    with time_machine.travel(SYNC_AT, tick=False):
        enrollment_pause(enrollment=world.enrollment)
    imap_append(inbox, world.eml("ooo_de_outlook_date.eml"), when=REPLY_AT)
    sync(world)
    world.enrollment.refresh_from_db()
    assert (world.enrollment.status, world.enrollment.reason, world.enrollment.resume_at) == ("paused", None, None)
    assert EmailEvent.objects.filter(kind="out_of_office").count() == 1


def test_an_auto_reply_never_unenrolls_even_with_unenroll_on_reply(world, inbox):
    set_settings(world.enrollment, unenroll_on_reply=True, account_based=True)
    imap_append(inbox, world.eml("ooo_es_nodate.eml"), when=REPLY_AT)
    sync(world)
    assert status(world.enrollment) == ("paused", "OUT_OF_OFFICE")
    assert EmailEvent.objects.filter(kind="reply").count() == 0


def test_a_return_date_that_has_come_pauses_nothing(world):
    with time_machine.travel(SYNC_AT, tick=False):
        outcome = out_of_office_record(message=world.message, return_date=date(2026, 11, 23), occurred_at=REPLY_AT)
    assert outcome["paused"] is None
    assert status(world.enrollment) == ("active", None)


def test_the_default_pause_is_the_portals_number_of_days(world, inbox, portal):
    portal.out_of_office_default_days = 3
    portal.save()
    imap_append(inbox, world.eml("ooo_fr_nodate.eml"), when=REPLY_AT)
    sync(world)
    world.enrollment.refresh_from_db()
    assert world.enrollment.resume_at == SYNC_TIME + timedelta(days=3)


def test_the_return_morning_is_in_the_enrollments_time_zone(world, inbox):
    Enrollment.objects.filter(pk=world.enrollment.pk).update(time_zone="America/New_York")
    imap_append(inbox, world.eml("ooo_fi_outlook_date.eml"), when=REPLY_AT)
    sync(world)
    world.enrollment.refresh_from_db()
    assert world.enrollment.resume_at.isoformat() == "2026-12-07T14:00:00+00:00"  # 09:00 in New York


# --- Bounces and complaints ---------------------------------------------------------------------------


def test_a_hard_bounce_of_an_earlier_sequence_stops_the_contacts_current_one(world, inbox):
    Enrollment.objects.filter(pk=world.enrollment.pk).update(status="finished", next_action_at=None)
    later = make_sequence(world.rep, EMAIL_1, EMAIL_2)
    [current] = enroll_and_send(later, world.rep, [world.contact], at="2026-11-23T10:00:00+02:00")
    imap_append(inbox, world.eml("bounce_exim_permanent.eml"), when=REPLY_AT)

    sync(world)

    assert status(current) == ("bounced", "BOUNCED")
    assert status(world.enrollment) == ("finished", None)
    world.contact.refresh_from_db()
    assert world.contact.email_bounced


def test_a_bounce_for_an_address_nobody_here_emailed_changes_nothing(world, inbox):
    stranger = ContactFactory(email="someone@else.example")
    raw = world.eml("bounce_postfix_permanent.eml", contact=stranger).replace(
        world.message.message_id.encode(), b"<not-ours@elsewhere.example>"
    )
    imap_append(inbox, raw, when=REPLY_AT)
    sync(world)
    stranger.refresh_from_db()
    assert not stranger.email_bounced
    inbound = InboundMessage.objects.get()
    assert (inbound.kind, inbound.contact, inbound.detail["recipients"]) == ("bounce", None, ["someone@else.example"])
    assert not EmailEvent.objects.exclude(kind="sent").exists()


# --- Seats and deleted contacts -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "stops"),
    [
        (lambda user: seat_remove(user=user), True),
        (lambda user: user_update(user=user, data={"seat": None}), True),
        (lambda user: seat_set(user=user, hub="sales", tier="starter"), True),
        (lambda user: user_update(user=user, data={"seat": {"tier": "starter"}}), True),
        (lambda user: seat_set(user=user, hub="service", tier="enterprise"), False),
    ],
    ids=["seat removed", "seat removed over the API", "downgraded to starter", "downgraded over the API",
         "moved to another qualifying seat"],
)
def test_a_sender_who_loses_the_seat_has_their_live_enrollments_unenrolled(world, change, stops):
    other_sender = SeatFactory().user
    bystander = Enrollment.objects.create(
        sequence=world.sequence, contact=ContactFactory(), sender=other_sender, time_zone="UTC",
        snapshot=world.enrollment.snapshot,
    )
    change(world.rep)
    expected = ("unenrolled", "SENDER_LOST_SEAT") if stops else ("active", None)
    assert status(world.enrollment) == expected
    assert status(bystander) == ("active", None)
    if stops:
        assert world.enrollment.steps.get(order=2).status == "skipped"


def test_a_deleted_contact_has_their_live_enrollment_unenrolled_and_the_history_kept(world):
    finished = Enrollment.objects.create(
        sequence=world.sequence, contact=world.contact, sender=world.rep, time_zone="UTC",
        snapshot=world.enrollment.snapshot, status="finished",
    )
    contact_delete(contact=world.contact)
    world.enrollment.refresh_from_db()
    assert (world.enrollment.status, world.enrollment.reason, world.enrollment.contact) == (
        "unenrolled", "CONTACT_DELETED", None
    )
    assert status(finished) == ("finished", None)
    assert world.enrollment.steps.get(order=2).status == "skipped"  # the second email never goes


def test_stops_change_only_live_enrollments(world):
    Enrollment.objects.filter(pk=world.enrollment.pk).update(status="finished", next_action_at=None)
    seat_remove(user=world.rep)
    assert status(world.enrollment) == ("finished", None)


def test_a_deleted_contacts_reply_afterwards_is_unrelated(world, inbox):
    contact_delete(contact=world.contact)
    imap_append(inbox, world.eml("reply_plain_from_contact.eml", at=datetime(2026, 11, 23, 11, 0, tzinfo=HELSINKI)),
                when=REPLY_AT)
    sync(world)
    assert InboundMessage.objects.get().kind == "other"
