"""The scheduler in-process against a real SMTP server on loopback, with time moved by time-machine."""
from __future__ import annotations

import smtplib
from datetime import timedelta
from itertools import pairwise

import pytest
import time_machine
from django.core import signing
from django.utils import timezone
from rest_framework.test import APIClient

from accounts_app.models import Notification, PortalSettings
from config.errors import Conflict
from contacts_app.models import Contact
from mailboxes_app.models import Mailbox, OutboundMessage
from sequences_app.models import EmailEvent, Enrollment, EnrollmentStep, SequenceStep, StepType, Task
from sequences_app.rendering import UNSUBSCRIBE_SALT
from sequences_app.scheduling import dispatch
from sequences_app.scheduling.dispatch import enrollments_claim_due, messages_reap_expired_leases, scheduler_tick
from sequences_app.scheduling.runner import enrollment_run_step, enrollments_run_steps
from sequences_app.scheduling.sender import messages_send
from sequences_app.services import tasks as task_services
from sequences_app.services.enrollment_state import enrollment_pause, enrollment_resume, enrollment_unenroll
from sequences_app.services.enrollments import enrollment_create
from sequences_app.services.tasks import task_complete
from sequences_app.tasks import task_reminders
from sequences_app.tests.scheduler_helpers import mailserver_fixture, run_scheduler
from tests.factories import CompanyFactory, ContactFactory, SequenceFactory

pytestmark = pytest.mark.django_db
START = "2026-11-23T09:00:00+02:00"  # a Monday in Helsinki


@pytest.fixture
def mailserver():
    yield from mailserver_fixture()


@pytest.fixture(autouse=True)
def _setup(db, monkeypatch):
    PortalSettings.objects.update_or_create(pk=1, defaults={"time_zone": "Europe/Helsinki", "holiday_country": "FI"})


@pytest.fixture
def sender(rep, mailserver):
    Mailbox.objects.filter(owner=rep).update(smtp_host=mailserver.host, smtp_port=mailserver.port)
    return rep


def make_sequence(owner, *steps, **settings):
    sequence = SequenceFactory(owner=owner, visibility="everyone", **settings)
    for order, step in enumerate(steps, start=1):
        SequenceStep.objects.create(sequence=sequence, order=order, **step)
    return sequence


EMAIL_1 = {"type": StepType.AUTOMATED_EMAIL, "subject": "Hello {{ contact.first_name }}",
           "body_html": "<p>Hi {{ contact.first_name }}, <a href='https://acme.example/demo'>see the demo</a></p>"}
CALL_2 = {"type": StepType.CALL, "delay_days": 1, "title": "Call {{ contact.first_name }}"}
EMAIL_3 = {"type": StepType.AUTOMATED_EMAIL, "delay_days": 2, "subject": "", "body_html": "<p>Any thoughts?</p>"}


def contact(**kwargs):
    kwargs.setdefault("first_name", "Maria")
    kwargs.setdefault("company", CompanyFactory(name="Acme Oy"))
    kwargs.setdefault("time_zone", "Europe/Helsinki")
    return ContactFactory(**kwargs)


def enroll(sequence, sender, contacts, **kwargs):
    result = enrollment_create(sequence=sequence, caller=sender, contact_ids=[c.pk for c in contacts], **kwargs)
    assert not result.rejected, result.rejected
    return [Enrollment.objects.get(pk=item.id) for item in result.enrolled]


def test_an_enrollment_runs_email_task_and_a_threaded_follow_up_end_to_end(sender, mailserver):
    sequence = make_sequence(sender, EMAIL_1, CALL_2, EMAIL_3)
    with time_machine.travel(START, tick=False) as traveller:
        [enrollment] = enroll(sequence, sender, [contact()])
        run_scheduler()

        assert len(mailserver.handler.received) == 1
        first = mailserver.handler.received[0]
        assert first["Subject"] == "Hello Maria"
        assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert first.is_multipart()
        text, html = (part.get_payload(decode=True).decode() for part in first.get_payload())
        assert "Hi Maria, see the demo (https://acme.example/demo)" in text
        assert "unsubscribe" in html
        enrollment.refresh_from_db()
        assert enrollment.current_step == 2
        assert enrollment.steps.get(order=1).status == "sent"
        assert OutboundMessage.objects.get(step_order=1).message_id == first["Message-ID"]

        traveller.move_to("2026-11-24T09:00:01+02:00")  # the call is due a day later, same local time
        run_scheduler()
        task = Task.objects.get()
        assert (task.title, task.owner, task.step_order) == ("Call Maria", sender, 2)
        assert Enrollment.objects.get().next_action_at is None  # waits for the task

        traveller.move_to("2026-11-25T15:00:00+02:00")
        task_complete(task=task, user=sender)
        step_3 = EnrollmentStep.objects.get(enrollment=enrollment, order=3)
        assert step_3.scheduled_for.isoformat() == "2026-11-27T13:00:00+00:00"  # 2 days after completion

        traveller.move_to("2026-11-27T15:00:01+02:00")
        run_scheduler()

    assert len(mailserver.handler.received) == 2
    follow_up = mailserver.handler.received[1]
    assert follow_up["Subject"] == "Re: Hello Maria"
    assert follow_up["In-Reply-To"] == first["Message-ID"]
    assert follow_up["References"] == first["Message-ID"]
    enrollment.refresh_from_db()
    assert enrollment.status == "finished"
    assert list(enrollment.steps.values_list("status", flat=True)) == ["sent", "task_done", "sent"]


def test_a_task_step_that_continues_without_completion_moves_on(sender, mailserver):
    sequence = make_sequence(sender, {**CALL_2, "delay_days": 0, "continue_without_completion": True}, EMAIL_3)
    with time_machine.travel(START, tick=False) as traveller:
        [enrollment] = enroll(sequence, sender, [contact()])
        run_scheduler()
        assert Task.objects.get().status == "open"
        traveller.move_to("2026-11-25T09:00:01+02:00")
        run_scheduler()
    assert len(mailserver.handler.received) == 1
    assert Enrollment.objects.get(pk=enrollment.pk).status == "finished"


def test_a_task_created_immediately_is_due_where_the_delay_puts_it(sender, mailserver):
    sequence = make_sequence(sender, EMAIL_1, {**CALL_2, "delay_days": 3, "create_task_immediately": True})
    with time_machine.travel(START, tick=False):
        enroll(sequence, sender, [contact()])
        run_scheduler()
        task = Task.objects.get()
    assert task.due_at.isoformat() == "2026-11-26T07:00:00+00:00"


def _sent_times():
    return sorted(OutboundMessage.objects.filter(state="sent").values_list("sent_at", flat=True))


def _most_in_any_minute(times):
    return max(sum(1 for other in times if timedelta(0) <= other - first < timedelta(seconds=60)) for first in times)


def test_seven_bulk_contacts_leave_twenty_seconds_apart(sender, mailserver):
    sequence = make_sequence(sender, EMAIL_1)
    with time_machine.travel("2026-11-23T09:00:10+02:00", tick=False) as traveller:
        enroll(sequence, sender, [contact() for _ in range(7)])
        for second in range(0, 150, 5):  # a tick every 5 s for two and a half minutes
            traveller.move_to(timezone.now() + timedelta(seconds=5) if second else timezone.now())
            run_scheduler()
    sent = _sent_times()
    assert len(sent) == len(mailserver.handler.received) == 7
    assert [int((later - earlier).total_seconds()) for earlier, later in pairwise(sent)] == [20] * 6
    assert _most_in_any_minute(sent) == 3


def test_the_send_time_throttle_holds_even_when_the_projection_was_bypassed(sender, mailserver):
    sequence = make_sequence(sender, EMAIL_1)
    with time_machine.travel(START, tick=False):
        enrollments = enroll(sequence, sender, [contact() for _ in range(5)])
        Enrollment.objects.filter(pk__in=[e.pk for e in enrollments]).update(next_action_at=timezone.now())
        run_scheduler()
        # One goes now; the other four wait for their slots, 20 s apart.
        assert len(mailserver.handler.received) == 1
        waiting = OutboundMessage.objects.filter(state="queued").order_by("next_attempt_at")
        assert [int((m.next_attempt_at - timezone.now()).total_seconds()) for m in waiting] == [20, 40, 60, 80]


def test_bulk_emails_at_the_end_of_a_minute_hold_back_those_due_at_the_start_of_the_next(sender, mailserver):
    sequence = make_sequence(sender, EMAIL_1)
    with time_machine.travel("2026-11-23T12:00:59+02:00", tick=False) as traveller:
        enrollments = enroll(sequence, sender, [contact() for _ in range(6)])
        Enrollment.objects.filter(pk__in=[e.pk for e in enrollments[:3]]).update(next_action_at=timezone.now())
        Enrollment.objects.filter(pk__in=[e.pk for e in enrollments[3:]]).update(
            next_action_at=timezone.now() + timedelta(seconds=1)
        )
        run_scheduler()
        traveller.move_to("2026-11-23T12:01:00+02:00")
        run_scheduler()
        # A clock-minute throttle let three go at 12:00:59 and three more at 12:01:00.
        assert len(mailserver.handler.received) == 1
        for _ in range(24):
            traveller.move_to(timezone.now() + timedelta(seconds=5))
            run_scheduler()
    assert len(mailserver.handler.received) == 6
    assert _most_in_any_minute(_sent_times()) == 3


def test_a_mailbox_never_sends_more_than_its_per_minute_cap_in_any_sixty_seconds(sender, mailserver):
    Mailbox.objects.filter(owner=sender).update(minute_limit=3)
    sequence = make_sequence(sender, EMAIL_1)
    with time_machine.travel("2026-11-23T12:00:59+02:00", tick=False) as traveller:
        # Single enrollments (no bulk throttle) whose schedule is bypassed: all due at once.
        enrollments = [enroll(sequence, sender, [contact()])[0] for _ in range(7)]
        Enrollment.objects.filter(pk__in=[e.pk for e in enrollments]).update(next_action_at=timezone.now())
        run_scheduler()
        assert len(mailserver.handler.received) == 3
        traveller.move_to("2026-11-23T12:01:00+02:00")  # a new clock minute, the same 60 seconds
        run_scheduler()
        assert len(mailserver.handler.received) == 3
        traveller.move_to("2026-11-23T12:01:59+02:00")
        run_scheduler()
        assert len(mailserver.handler.received) == 6
        traveller.move_to("2026-11-23T12:02:59+02:00")
        run_scheduler()
    assert len(mailserver.handler.received) == 7
    assert _most_in_any_minute(_sent_times()) == 3


def test_an_email_meeting_a_full_window_is_deferred_then_sent_when_the_window_frees(sender, mailserver):
    Mailbox.objects.filter(owner=sender).update(daily_limit=1)
    sequence = make_sequence(sender, EMAIL_1, {**EMAIL_3, "delay_days": 0})
    with time_machine.travel(START, tick=False) as traveller:
        [enrollment] = enroll(sequence, sender, [contact()])
        run_scheduler()
        assert len(mailserver.handler.received) == 1
        step = EnrollmentStep.objects.get(enrollment=enrollment, order=2)
        assert step.status == "deferred"
        assert "send limit" in step.detail
        assert step.scheduled_for.isoformat() == "2026-11-24T07:00:00+00:00"

        traveller.move_to("2026-11-24T08:59:00+02:00")
        run_scheduler()
        assert len(mailserver.handler.received) == 1
        traveller.move_to("2026-11-24T09:00:00+02:00")
        run_scheduler()
    assert len(mailserver.handler.received) == 2
    assert EnrollmentStep.objects.get(enrollment=enrollment, order=2).status == "sent"


def test_a_4xx_answer_is_retried_with_backoff_and_delivered_once(sender, mailserver):
    mailserver.handler.replies.append("451 4.3.0 Try again later")
    sequence = make_sequence(sender, EMAIL_1)
    with time_machine.travel(START, tick=False) as traveller:
        enroll(sequence, sender, [contact()])
        run_scheduler()
        message = OutboundMessage.objects.get()
        assert message.state == "retry"
        assert "451" in message.last_error
        traveller.move_to("2026-11-23T09:01:01+02:00")
        run_scheduler()
        run_scheduler()
    assert len(mailserver.handler.received) == 1
    assert OutboundMessage.objects.get().state == "sent"


def test_a_5xx_answer_fails_the_step_and_the_enrollment(sender, mailserver):
    mailserver.handler.replies.append("554 5.7.1 Message rejected as spam")
    sequence = make_sequence(sender, EMAIL_1, EMAIL_3)
    with time_machine.travel(START, tick=False):
        [enrollment] = enroll(sequence, sender, [contact()])
        run_scheduler()
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.reason) == ("failed", "SEND_FAILED")
    step = enrollment.steps.get(order=1)
    assert step.status == "failed"
    assert "554" in step.detail
    assert enrollment.steps.get(order=2).status == "skipped"


def test_a_refused_login_disconnects_the_mailbox_and_verify_resumes_the_enrollment(sender, mailserver):
    from mailboxes_app.services import mailbox_verify

    mailserver.handler.refuse_login = True
    sequence = make_sequence(sender, EMAIL_1)
    with time_machine.travel(START, tick=False):
        [enrollment] = enroll(sequence, sender, [contact()])
        run_scheduler()
        mailbox = Mailbox.objects.get(owner=sender)
        enrollment.refresh_from_db()
        assert mailbox.status == "disconnected"
        assert (enrollment.status, enrollment.reason) == ("paused", "INBOX_DISCONNECTED")
        assert Notification.objects.filter(user=sender, kind="inbox_disconnected").exists()

        mailserver.handler.refuse_login = False
        mailbox_verify(mailbox=mailbox)
        run_scheduler()
    enrollment.refresh_from_db()
    assert enrollment.status == "finished"
    assert len(mailserver.handler.received) == 1


def test_pause_keeps_the_remaining_delay_and_resume_continues_from_there(sender, mailserver):
    sequence = make_sequence(sender, EMAIL_1, {**EMAIL_3, "delay_days": 2})
    with time_machine.travel(START, tick=False) as traveller:
        [enrollment] = enroll(sequence, sender, [contact()])
        run_scheduler()
        traveller.move_to("2026-11-24T09:00:00+02:00")  # one day of the two left
        enrollment_pause(enrollment=Enrollment.objects.get(pk=enrollment.pk))
        traveller.move_to("2026-11-27T09:00:00+02:00")
        run_scheduler()
        assert len(mailserver.handler.received) == 1
        resumed = enrollment_resume(enrollment=Enrollment.objects.get(pk=enrollment.pk))
        assert resumed.next_action_at.isoformat() == "2026-11-28T07:00:00+00:00"


def test_unenroll_stops_a_message_already_queued(sender, mailserver):
    sequence = make_sequence(sender, EMAIL_1)
    with time_machine.travel(START, tick=False):
        [enrollment] = enroll(sequence, sender, [contact()])
        [(pk, order)] = enrollments_claim_due(now=timezone.now())
        enrollment_run_step(enrollment_id=pk, step_order=order)
        assert OutboundMessage.objects.get().state == "queued"
        enrollment_unenroll(enrollment=Enrollment.objects.get(pk=enrollment.pk))
        run_scheduler()
    assert mailserver.handler.received == []
    assert OutboundMessage.objects.get().state == "cancelled"


def test_a_repeated_or_stale_step_task_creates_nothing_twice(sender, mailserver):
    sequence = make_sequence(sender, EMAIL_1)
    with time_machine.travel(START, tick=False) as traveller:
        enroll(sequence, sender, [contact()])
        [(pk, order)] = enrollments_claim_due(now=timezone.now())
        assert enrollment_run_step(enrollment_id=pk, step_order=order) == "email queued"
        assert enrollment_run_step(enrollment_id=pk, step_order=order) == "stale"
        # Nobody handed the message to a sender (a lost task): the tick does once its lease is over.
        run_scheduler()
        assert mailserver.handler.received == []
        traveller.shift(timedelta(minutes=3))
        run_scheduler()
    assert OutboundMessage.objects.count() == 1
    assert len(mailserver.handler.received) == 1


def test_a_message_whose_worker_died_mid_send_becomes_unknown_and_is_never_resent(sender, mailserver):
    sequence = make_sequence(sender, EMAIL_1, {**EMAIL_3, "delay_days": 0})
    with time_machine.travel(START, tick=False) as traveller:
        [enrollment] = enroll(sequence, sender, [contact()])
        [(pk, order)] = enrollments_claim_due(now=timezone.now())
        enrollment_run_step(enrollment_id=pk, step_order=order)
        # A worker claimed it and died before recording the answer.
        OutboundMessage.objects.update(
            state="sending", lease_token="00000000-0000-0000-0000-000000000001",
            lease_expires_at=timezone.now() + timedelta(minutes=10), sent_at=timezone.now(),
        )
        traveller.move_to("2026-11-23T09:11:00+02:00")
        assert messages_reap_expired_leases(now=timezone.now()) == 1
        run_scheduler()
    first = OutboundMessage.objects.get(step_order=1)
    assert first.state == "unknown"
    assert EnrollmentStep.objects.get(enrollment=enrollment, order=1).status == "unknown"
    assert Notification.objects.filter(user=sender, kind="send_unknown").exists()
    assert [m["Subject"] for m in mailserver.handler.received] == ["Re: Hello Maria"]


def test_the_unsubscribe_link_and_the_one_click_post_unenroll_the_contact(sender, mailserver, client):
    sequence = make_sequence(sender, EMAIL_1, EMAIL_3)
    with time_machine.travel(START, tick=False):
        [enrollment] = enroll(sequence, sender, [contact()])
        run_scheduler()
    link = mailserver.handler.received[0]["List-Unsubscribe"].strip("<>")
    path = link.split("127.0.0.1:8000", 1)[-1]

    page = client.get(path)
    assert page.status_code == 200
    assert b"Unsubscribe" in page.content
    assert Contact.objects.get(pk=enrollment.contact_id).unsubscribed_sales is False

    response = client.post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.reason) == ("unenrolled", "UNSUBSCRIBED")
    assert Contact.objects.get(pk=enrollment.contact_id).unsubscribed_sales is True
    assert EmailEvent.objects.filter(kind="unsubscribe").count() == 1
    assert client.post(path).status_code == 200  # twice is fine
    assert EmailEvent.objects.filter(kind="unsubscribe").count() == 1


def test_a_forged_unsubscribe_link_is_not_found(client):
    assert client.get("/u/forged-token/").status_code == 404
    assert client.get("/u/" + signing.dumps(999, salt=UNSUBSCRIBE_SALT) + "/").status_code == 404


def test_open_and_click_tracking_record_events_through_signed_urls(sender, mailserver, client):
    sequence = make_sequence(sender, EMAIL_1, track_opens=True, track_clicks=True)
    with time_machine.travel(START, tick=False):
        enroll(sequence, sender, [contact()])
        run_scheduler()
    html = mailserver.handler.received[0].get_payload()[1].get_payload(decode=True).decode()
    import re

    click = re.search(r'href="http://127.0.0.1:8000(/t/c/[^"]+)"', html).group(1)
    pixel = re.search(r'src="http://127.0.0.1:8000(/t/o/[^"]+)"', html).group(1)
    response = client.get(click)
    assert (response.status_code, response["Location"]) == (302, "https://acme.example/demo")
    assert client.get(pixel)["Content-Type"] == "image/gif"
    assert set(EmailEvent.objects.values_list("kind", flat=True)) == {"sent", "click", "open"}
    assert client.get(click[:-5] + "xxxx/").status_code == 404


def test_a_due_task_reminds_its_owner_once(sender, mailserver, mailoutbox):
    sequence = make_sequence(sender, {**CALL_2, "delay_days": 0})
    with time_machine.travel(START, tick=False):
        enroll(sequence, sender, [contact()])
        run_scheduler()
        run_scheduler()
    assert Notification.objects.filter(user=sender, kind="task_due").count() == 1
    assert [message.to for message in mailoutbox] == [[sender.email]]


def test_the_tick_only_claims_due_reminders_and_hands_out_their_ids(sender, mailoutbox):
    sequence = make_sequence(sender, {**CALL_2, "delay_days": 0})
    with time_machine.travel(START, tick=False):
        enroll(sequence, sender, [contact()])
        run_scheduler()  # the task is created and reminded
        [task] = Task.objects.all()
        Task.objects.filter(pk=task.pk).update(reminder_sent_at=None)
        Notification.objects.all().delete()
        mailoutbox.clear()
        handed_out = []
        report = scheduler_tick(run_steps=lambda pairs: None, send_messages=lambda ids: None,
                                send_reminders=handed_out.append)
        again = scheduler_tick(run_steps=lambda pairs: None, send_messages=lambda ids: None,
                               send_reminders=handed_out.append)
    assert handed_out == [[task.pk]]
    assert (report.reminders, again.reminders) == (1, 0)
    # No mail I/O and no notice in the tick: the worker's task does both.
    assert mailoutbox == []
    assert not Notification.objects.exists()


def test_a_reminder_email_the_mail_server_fails_is_retried_without_a_second_notice(sender, mailoutbox, monkeypatch):
    sequence = make_sequence(sender, {**CALL_2, "delay_days": 0})
    with time_machine.travel(START, tick=False):
        enroll(sequence, sender, [contact()])
        [pair] = enrollments_claim_due(now=timezone.now())
        enrollments_run_steps([pair])
    [task] = Task.objects.all()
    real_send = task_services.send_mail
    answers = [smtplib.SMTPServerDisconnected("gone"), OSError("timed out")]

    def flaky_send(**kwargs):
        if answers:
            raise answers.pop(0)
        return real_send(**kwargs)

    monkeypatch.setattr(task_services, "send_mail", flaky_send)
    task_reminders.apply(args=[[task.pk]])  # eager: each retry runs at once
    assert Notification.objects.filter(user=sender, kind="task_due").count() == 1
    assert [message.to for message in mailoutbox] == [[sender.email]]


def test_a_real_error_while_resuming_is_raised_not_taken_for_a_lost_race(sender, monkeypatch):
    sequence = make_sequence(sender, EMAIL_1)
    with time_machine.travel(START, tick=False):
        [enrollment] = enroll(sequence, sender, [contact()])
        enrollment_pause(enrollment=enrollment, resume_at=timezone.now())

        def broken_resume(**kwargs):
            raise RuntimeError("a bug, not a race")

        monkeypatch.setattr(dispatch, "enrollment_resume", broken_resume)
        with pytest.raises(RuntimeError):
            dispatch.enrollments_resume_due(now=timezone.now())


def test_a_resume_that_lost_a_race_is_skipped(sender, monkeypatch):
    sequence = make_sequence(sender, EMAIL_1)
    with time_machine.travel(START, tick=False):
        [enrollment] = enroll(sequence, sender, [contact()])
        enrollment_pause(enrollment=enrollment, resume_at=timezone.now())

        def changed_meanwhile(**kwargs):  # what the service raises when a rep resumed or ended it first
            raise Conflict("INVALID_STATE", "This enrollment is active and can't be resumed.")

        monkeypatch.setattr(dispatch, "enrollment_resume", changed_meanwhile)
        assert dispatch.enrollments_resume_due(now=timezone.now()) == 0


def test_the_tick_with_nothing_due_changes_nothing(sender):
    [report] = run_scheduler()
    assert (report.steps, report.messages, report.unknown) == (0, 0, 0)


def test_an_enrollment_api_client_sees_the_message_id_of_a_sent_step(sender, mailserver):
    sequence = make_sequence(sender, EMAIL_1)
    with time_machine.travel(START, tick=False):
        [enrollment] = enroll(sequence, sender, [contact()])
        run_scheduler()
    api = APIClient()
    api.force_authenticate(sender)
    body = api.get(f"/api/v1/enrollments/{enrollment.pk}/").json()
    assert body["steps"][0]["status"] == "sent"
    assert body["steps"][0]["message_id"] == mailserver.handler.received[0]["Message-ID"]


def test_the_claim_refuses_a_sender_deactivated_after_the_email_was_queued(sender, mailserver):
    sequence = make_sequence(sender, EMAIL_1)
    with time_machine.travel(START, tick=False):
        [enrollment] = enroll(sequence, sender, [contact()])
        [batch] = enrollments_run_steps(enrollments_claim_due(now=timezone.now()))["batches"]
        # Deactivated without the accounts service (e.g. a script): the claim is the last check.
        type(sender).objects.filter(pk=sender.pk).update(is_active=False)
        assert messages_send(batch) == {"sender deactivated": 1}
    assert mailserver.handler.received == []
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.reason) == ("unenrolled", "SENDER_DEACTIVATED")
    assert OutboundMessage.objects.get().state == "cancelled"


def test_starting_at_a_threaded_follow_up_sends_the_first_emails_subject_then_threads_under_it(sender, mailserver):
    EMAIL_4 = {**EMAIL_3, "delay_days": 1, "body_html": "<p>Last one</p>"}
    sequence = make_sequence(sender, EMAIL_1, CALL_2, EMAIL_3, EMAIL_4)
    with time_machine.travel(START, tick=False) as traveller:
        [enrollment] = enroll(sequence, sender, [contact()], start_step=3)
        run_scheduler()
        traveller.move_to("2026-11-24T09:00:01+02:00")
        run_scheduler()
    opening, follow_up = mailserver.handler.received
    assert opening["Subject"] == "Hello Maria"  # the sequence's first subject, for this contact, no "Re:"
    assert opening["In-Reply-To"] is None
    assert follow_up["Subject"] == "Re: Hello Maria"
    assert follow_up["In-Reply-To"] == opening["Message-ID"]
    assert OutboundMessage.objects.get(enrollment=enrollment, step_order=3).subject == "Hello Maria"


def test_a_borrowed_subject_needs_its_tokens_like_the_steps_that_run(sender):
    sequence = make_sequence(sender, {**EMAIL_1, "subject": "About {{ contact.favourite_colour }}"}, EMAIL_3)
    result = enrollment_create(sequence=sequence, caller=sender, contact_ids=[contact().pk], start_step=2)
    assert [rejection.code for rejection in result.rejected] == ["MISSING_TOKEN_VALUES"]
