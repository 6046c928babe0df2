"""What bounces and complaints do, through a real sync from the IMAP server: soft bounces send again,
repeated ones turn hard, and a mailbox whose mail bounces or is reported pauses its sending (the
circuit breaker) until a person resumes it."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine

from accounts_app.models import Notification
from mailboxes_app.breaker import breaker_figures, mailbox_breaker_check
from mailboxes_app.models import InboundMessage, Mailbox, OutboundMessage
from mailboxes_app.sync.imap import mailbox_sync
from mailboxes_app.tests.sync.helpers import REPLY_AT, SYNC_AT, imap_append
from sequences_app.models import EmailEvent, Enrollment
from sequences_app.tests.scheduler_helpers import run_scheduler
from tests.factories import ContactFactory, UserFactory
from tests.fixtures_api import api_client

pytestmark = pytest.mark.django_db
SYNC_TIME = datetime.fromisoformat(SYNC_AT)


def sync(world, at=SYNC_AT):
    with time_machine.travel(at, tick=False):
        return mailbox_sync(mailbox_id=world.mailbox.pk)


def earlier_soft_bounces(world, count, *, delayed=False, days_ago=1):
    for n in range(count):
        EmailEvent.objects.create(
            kind="temporary_bounce", contact=world.contact, enrollment=world.enrollment,
            occurred_at=SYNC_TIME - timedelta(days=days_ago, hours=n), detail={"delayed": delayed},
        )


# --- Soft bounces ---------------------------------------------------------------------------------------


def test_a_soft_bounce_sends_the_email_again_later_and_the_step_says_why(world, inbox, mailserver):
    imap_append(inbox, world.eml("bounce_qmail_mailbox_full.eml"), when=REPLY_AT)
    sync(world)

    message = OutboundMessage.objects.get(pk=world.message.pk)
    assert message.state == "retry"
    assert message.next_attempt_at == SYNC_TIME + timedelta(minutes=1)  # as after a 4xx, first attempt
    step = world.enrollment.steps.get(order=1)
    assert step.bounce_note.startswith("Soft bounce, sending again at 2026-11-23 10:01 UTC: Mailbox full:")
    world.refresh()
    assert (world.enrollment.status, world.contact.email_bounced) == ("active", False)

    sent_before = len(mailserver.handler.received)
    run_scheduler(SYNC_TIME + timedelta(minutes=2))
    assert OutboundMessage.objects.get(pk=world.message.pk).state == "sent"
    assert len(mailserver.handler.received) == sent_before + 1
    assert world.enrollment.steps.get(order=2).status == "scheduled"  # the sequence goes on as before


def test_a_delay_warning_sends_nothing_again_but_says_why(world, inbox):
    imap_append(inbox, world.eml("bounce_postfix_delayed.eml"), when=REPLY_AT)
    sync(world)
    assert OutboundMessage.objects.get(pk=world.message.pk).state == "sent"
    assert world.enrollment.steps.get(order=1).bounce_note.startswith("Delivery delayed")


def test_the_third_soft_bounce_of_an_address_in_seven_days_is_hard(world, inbox):
    earlier_soft_bounces(world, 2)
    imap_append(inbox, world.eml("bounce_opensmtpd.eml"), when=REPLY_AT)
    sync(world)
    world.refresh()
    assert (world.enrollment.status, world.enrollment.reason) == ("bounced", "BOUNCED")
    assert world.contact.email_bounced
    assert world.contact.bounce_code == "mailbox_full"
    assert "3 soft bounces in 7 days" in world.contact.bounce_reason
    assert InboundMessage.objects.get().detail["escalated"] is True


@pytest.mark.parametrize(("delayed", "days_ago"), [(True, 1), (False, 8)], ids=["delay warnings", "older than 7 days"])
def test_delay_warnings_and_older_soft_bounces_do_not_count(world, inbox, delayed, days_ago):
    earlier_soft_bounces(world, 2, delayed=delayed, days_ago=days_ago)
    imap_append(inbox, world.eml("bounce_opensmtpd.eml"), when=REPLY_AT)
    sync(world)
    world.refresh()
    assert (world.enrollment.status, world.contact.email_bounced) == ("active", False)


def test_a_hard_bounce_shows_its_reason_on_the_contact_and_the_enrollment(world, inbox, client):
    imap_append(inbox, world.eml("bounce_dragonfly_dma.eml"), when=REPLY_AT)
    sync(world)
    client.force_login(world.rep)
    page = client.get(f"/contacts/{world.contact.pk}/").content.decode()
    assert "An email bounced: User unknown: " in page
    assert 'data-testid="enrollment-bounce">Bounced: User unknown: ' in page
    api = api_client(world.rep).get(f"/api/v1/contacts/{world.contact.pk}/").json()
    assert (api["email_bounced"], api["bounce_code"]) == (True, "user_unknown")
    assert "550 5.1.1" in api["bounce_reason"]


# --- The mailbox circuit breaker ------------------------------------------------------------------------


def more_sends(world, count):
    """`count` more sent emails from the world's mailbox within the last hours (other contacts)."""
    contacts = [ContactFactory() for _ in range(count)]
    for n, contact in enumerate(contacts):
        enrollment = Enrollment.objects.create(
            sequence=world.sequence, contact=contact, sender=world.rep, mailbox=world.mailbox,
            time_zone="UTC", snapshot=world.enrollment.snapshot, status="finished",
        )
        OutboundMessage.objects.create(
            enrollment=enrollment, step_order=1, sender=world.rep, mailbox=world.mailbox,
            message_id=f"<more.{n}@nudge.example>", from_email=world.mailbox.email, to_email=contact.email,
            state="sent", sent_at=SYNC_TIME - timedelta(hours=2),
        )
    return contacts


def hard_bounce_events(world, count):
    messages = OutboundMessage.objects.filter(mailbox=world.mailbox).exclude(pk=world.message.pk)[:count]
    for message in messages:
        EmailEvent.of_message(message, EmailEvent.Kind.BOUNCE, SYNC_TIME - timedelta(hours=1)).save()


@pytest.mark.parametrize(("sends", "bounces", "trips"), [(18, 3, False), (20, 1, False), (20, 2, True)],
                         ids=["3 of 19 sends: too few to judge", "1 of 21", "2 of 21"])
def test_the_breaker_trips_past_8_percent_hard_bounces_of_at_least_20_sends(world, sends, bounces, trips):
    more_sends(world, sends)  # plus the world's own email
    hard_bounce_events(world, bounces)
    with time_machine.travel(SYNC_AT, tick=False):
        figures = breaker_figures(mailbox=world.mailbox)
        reason = mailbox_breaker_check(mailbox_id=world.mailbox.pk)
    assert (figures.sends, figures.hard_bounces) == (sends + 1, bounces)
    assert bool(reason) == trips
    world.mailbox.refresh_from_db()
    assert world.mailbox.sending_paused == trips


def test_a_hard_bounce_that_tips_the_rate_pauses_the_mailbox_and_tells_the_rep_and_admins(world, inbox, admin_user):
    more_sends(world, 19)
    hard_bounce_events(world, 1)
    imap_append(inbox, world.eml("bounce_postfix_permanent.eml"), when=REPLY_AT)
    sync(world)

    world.mailbox.refresh_from_db()
    assert world.mailbox.sending_paused_reason.startswith("2 of 20 emails bounced hard in 24 hours (10 %")
    assert InboundMessage.objects.get().detail["mailbox_paused"] == world.mailbox.sending_paused_reason
    told = Notification.objects.filter(kind="mailbox_sending_paused").values_list("user_id", flat=True)
    assert sorted(told) == sorted([world.rep.pk, admin_user.pk])


def test_two_complaints_in_24_hours_pause_the_mailbox(world, inbox):
    [other] = more_sends(world, 1)
    message = OutboundMessage.objects.get(to_email=other.email)
    EmailEvent.of_message(message, EmailEvent.Kind.SPAM, SYNC_TIME - timedelta(hours=3)).save()
    imap_append(inbox, world.eml("arf_rfc5965_example.eml"), when=REPLY_AT)
    sync(world)
    world.mailbox.refresh_from_db()
    assert world.mailbox.sending_paused_reason == "2 spam complaints in 24 hours (the limit is 2)."
    world.refresh()
    assert (world.enrollment.status, world.enrollment.reason) == ("unenrolled", "SPAM_REPORTED")


def test_one_complaint_does_not_pause_the_mailbox(world, inbox):
    imap_append(inbox, world.eml("arf_report.eml"), when=REPLY_AT)
    sync(world)
    world.mailbox.refresh_from_db()
    assert not world.mailbox.sending_paused


def paused(world, reason="2 spam complaints in 24 hours (the limit is 2)."):
    Mailbox.objects.filter(pk=world.mailbox.pk).update(sending_paused_at=SYNC_TIME, sending_paused_reason=reason)


def test_a_paused_mailbox_sends_nothing_its_enrollments_wait_and_a_resume_sends_it(world, mailserver):
    paused(world)
    due = world.enrollment.steps.get(order=2).scheduled_for
    sent_before = len(mailserver.handler.received)
    run_scheduler(due + timedelta(minutes=1))

    world.refresh()
    assert (world.enrollment.status, world.enrollment.reason) == ("paused", "SENDING_PAUSED")
    second = world.enrollment.messages.get(step_order=2)
    assert (second.state, second.next_attempt_at) == ("queued", None)
    assert second.last_error.startswith("Sending from this mailbox is paused: 2 spam complaints")
    assert len(mailserver.handler.received) == sent_before

    with time_machine.travel(due + timedelta(minutes=5), tick=False):
        answer = api_client(world.rep).post(f"/api/v1/mailboxes/{world.mailbox.pk}/resume-sending/")
    assert answer.status_code == 200
    assert (answer.json()["sending_paused"], answer.json()["sending_paused_reason"]) == (False, "")
    world.refresh()
    assert world.enrollment.status == "active"
    run_scheduler(due + timedelta(minutes=6))
    assert world.enrollment.messages.get(step_order=2).state == "sent"
    assert len(mailserver.handler.received) == sent_before + 1


def test_after_a_resume_the_breaker_counts_afresh(world):
    more_sends(world, 20)
    hard_bounce_events(world, 5)
    paused(world)
    with time_machine.travel(SYNC_AT, tick=False):
        api_client(world.rep).post(f"/api/v1/mailboxes/{world.mailbox.pk}/resume-sending/")
        assert mailbox_breaker_check(mailbox_id=world.mailbox.pk) == ""
        assert breaker_figures(mailbox=world.mailbox.__class__.objects.get(pk=world.mailbox.pk)).sends == 0


def test_only_the_owner_or_an_admin_resumes_and_only_a_paused_mailbox(world, admin_user):
    url = f"/api/v1/mailboxes/{world.mailbox.pk}/resume-sending/"
    assert api_client(world.rep).post(url).json()["code"] == "NOT_PAUSED"
    paused(world)
    assert api_client(UserFactory()).post(url).status_code == 404  # someone else's mailbox is not theirs to see
    assert api_client(admin_user).post(url).status_code == 200


def test_the_mailbox_page_shows_the_counts_the_threshold_and_a_resume_button(world, client):
    paused(world)
    client.force_login(world.rep)
    with time_machine.travel(SYNC_AT, tick=False):
        page = client.get("/mailboxes/").content.decode()
    assert "0 hard bounces of 1 email (0.0 %), 0 spam complaints since" in page
    assert "Sending pauses past 8 % hard bounces (of at least 20 emails) or at 2 complaints in 24 hours." in page
    assert "Sending paused 23 Nov 2026, 12:00 EET: 2 spam complaints" in page  # the portal's zone, named
    client.post(f"/mailboxes/{world.mailbox.pk}/resume-sending/")
    world.mailbox.refresh_from_db()
    assert not world.mailbox.sending_paused


def test_every_notice_fixture_of_this_batch_is_read_with_one_fetch_of_whole_messages(world, inbox):
    for name in ("bounce_relay_quoting_reply.eml", "arf_auto_submitted.eml", "bounce_plain_null_sender.eml"):
        imap_append(inbox, world.eml(name), when=REPLY_AT)
    report = sync(world)
    assert report.folders[0].bodies_fetched == 3
    kinds = sorted(InboundMessage.objects.values_list("kind", flat=True))
    assert kinds == ["bounce", "bounce", "spam_report"]
    assert not EmailEvent.objects.filter(kind="reply").exists()


