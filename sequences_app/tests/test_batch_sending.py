"""Sending in batches: one claim and one follow-through per sender batch, and what a dying worker leaves."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from types import SimpleNamespace

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts_app.models import Notification, PortalSettings
from mailboxes_app.models import Mailbox, OutboundMessage
from mailboxes_app.transport import smtp_connect
from sequences_app.models import EmailEvent, Enrollment, EnrollmentStep, SequenceStep, StepType
from sequences_app.rendering import RenderedEmail, mime_build
from sequences_app.scheduling import dispatch
from sequences_app.scheduling import sender as sender_module
from sequences_app.scheduling.dispatch import enrollments_claim_due, messages_reap_expired_leases, scheduler_tick
from sequences_app.scheduling.runner import enrollments_run_steps
from sequences_app.scheduling.sender import messages_send
from sequences_app.services.enrollment_state import enrollment_pause, enrollment_unenroll
from sequences_app.services.enrollments import enrollment_create
from sequences_app.tests.scheduler_helpers import free_port, mailserver_fixture, run_scheduler
from tests.factories import ContactFactory, MailboxFactory, SeatFactory, SequenceFactory, UserFactory

pytestmark = pytest.mark.django_db
START = "2026-11-23T09:00:00+02:00"  # a Monday in Helsinki
TOKEN = "00000000-0000-0000-0000-000000000001"


@pytest.fixture
def mailserver():
    yield from mailserver_fixture()


@pytest.fixture
def sender(rep, mailserver):
    PortalSettings.objects.update_or_create(pk=1, defaults={"time_zone": "Europe/Helsinki", "holiday_country": "FI"})
    Mailbox.objects.filter(owner=rep).update(smtp_host=mailserver.host, smtp_port=mailserver.port)
    return rep


def two_email_sequence(owner):
    sequence = SequenceFactory(owner=owner, visibility="everyone")
    SequenceStep.objects.create(
        sequence=sequence, order=1, type=StepType.AUTOMATED_EMAIL, subject="Hi {{ contact.first_name }}",
        body_html="<p>Hello {{ contact.first_name }}</p>",
    )
    SequenceStep.objects.create(
        sequence=sequence, order=2, type=StepType.AUTOMATED_EMAIL, delay_days=1, subject="", body_html="<p>Bump</p>"
    )
    return sequence


def queued_messages(sender, count: int) -> list[int]:
    """`count` enrollments on their first email, its message queued and not yet handed to a sender."""
    sequence = two_email_sequence(sender)
    for n in range(count):  # one by one: a bulk enrollment's emails would be throttled to 3 a minute
        contact = ContactFactory(first_name=f"C{n}", time_zone="Europe/Helsinki")
        assert enrollment_create(sequence=sequence, caller=sender, contact_ids=[contact.pk]).enrolled
    [batch] = enrollments_run_steps(enrollments_claim_due(now=timezone.now()))["batches"]
    return batch


def test_a_batch_costs_a_fixed_number_of_queries_plus_one_per_email(sender, mailserver):
    with time_machine.travel(START, tick=False):
        small = queued_messages(sender, 5)
        with CaptureQueriesContext(connection) as five:
            assert messages_send(small) == {"sent": 5}
        large = queued_messages(sender, 20)
        with CaptureQueriesContext(connection) as twenty:
            assert messages_send(large) == {"sent": 20}
    assert len(mailserver.handler.received) == 25
    # Each email adds its one `sent` UPDATE; the claim and the follow-through are per batch.
    assert len(twenty.captured_queries) - len(five.captured_queries) == 15
    assert len(five.captured_queries) <= 30


def test_accepted_emails_move_their_enrollments_on_together(sender, mailserver):
    with time_machine.travel(START, tick=False):
        batch = queued_messages(sender, 3)
        messages_send(batch)
    assert set(OutboundMessage.objects.values_list("state", "lease_token")) == {("sent", None)}
    assert EmailEvent.objects.filter(kind="sent").count() == 3
    assert set(EnrollmentStep.objects.filter(order=1).values_list("status", flat=True)) == {"sent"}
    assert set(Enrollment.objects.values_list("current_step", "status")) == {(2, "active")}
    # The follow-up is due a day later at the same local time.
    assert {e.next_action_at.isoformat() for e in Enrollment.objects.all()} == {"2026-11-24T07:00:00+00:00"}


def test_a_dead_workers_claim_makes_only_the_email_in_flight_unknown_and_requeues_the_rest(sender, mailserver):
    with time_machine.travel(START, tick=False) as traveller:
        batch = queued_messages(sender, 4)
        first, second, *rest = sorted(batch)
        # A worker claimed the batch, had the first one accepted, was handing over the second and died.
        claimed_at = timezone.now()
        OutboundMessage.objects.filter(pk__in=batch).update(
            state="sending", lease_token=TOKEN, lease_expires_at=claimed_at + timedelta(minutes=10), sent_at=claimed_at,
            attempts=1,
        )
        OutboundMessage.objects.filter(pk=first).update(state="sent")
        traveller.shift(timedelta(minutes=11))
        assert messages_reap_expired_leases(now=timezone.now()) == 1
        states = dict(OutboundMessage.objects.values_list("pk", "state"))
        assert (states[first], states[second]) == ("sent", "unknown")
        assert {states[pk] for pk in rest} == {"queued"}
        # The accepted one was followed through by the reaper; the requeued ones go out normally.
        assert EmailEvent.objects.filter(kind="sent", message_id=first).exists()
        run_scheduler()
    assert sorted(message["Message-ID"] for message in mailserver.handler.received) == sorted(
        OutboundMessage.objects.filter(pk__in=rest).values_list("message_id", flat=True)
    )
    assert OutboundMessage.objects.get(pk=second).state == "unknown"


def test_an_accepted_email_whose_worker_died_before_following_through_is_followed_through(sender, mailserver):
    with time_machine.travel(START, tick=False) as traveller:
        [message_id] = queued_messages(sender, 1)
        OutboundMessage.objects.filter(pk=message_id).update(
            state="sent", lease_token=TOKEN, lease_expires_at=timezone.now() + timedelta(minutes=10),
            sent_at=timezone.now(),
        )
        assert messages_reap_expired_leases(now=timezone.now()) == 0
        assert not EmailEvent.objects.exists()  # its lease still runs: maybe its worker is still at it
        traveller.shift(timedelta(minutes=11))
        messages_reap_expired_leases(now=timezone.now())
    message = OutboundMessage.objects.get()
    assert (message.state, message.lease_token) == ("sent", None)
    assert EmailEvent.objects.filter(kind="sent", message=message).count() == 1
    assert Enrollment.objects.get().current_step == 2
    assert mailserver.handler.received == []  # never sent again


class Clock:
    """A stand-in for the sender's monotonic clock: each email handed over takes `per_email` seconds."""

    def __init__(self, monkeypatch, per_email: float) -> None:
        self.now, self.per_email, self.handed_over = 0.0, per_email, 0
        real_deliver = sender_module._deliver

        def timed_deliver(connection, claim):
            answer = real_deliver(connection, claim)
            self.now += self.per_email
            self.handed_over += 1
            self.after(self.handed_over)
            return answer

        monkeypatch.setattr(sender_module, "time", SimpleNamespace(monotonic=lambda: self.now))
        monkeypatch.setattr(sender_module, "_deliver", timed_deliver)

    def after(self, handed_over: int) -> None:
        """Called after each email handed over."""


def test_a_batch_starts_no_email_after_half_its_lease_and_requeues_the_rest(sender, mailserver, monkeypatch, settings):
    settings.SEND_LEASE_SECONDS = 60
    Clock(monkeypatch, per_email=15)  # the second email ends at 30 s: half the lease
    with time_machine.travel(START, tick=False):
        batch = queued_messages(sender, 4)
        outcomes = messages_send(batch)
    assert outcomes == {"sent": 2, "released": 2}
    assert len(mailserver.handler.received) == 2
    states = sorted(OutboundMessage.objects.values_list("state", "lease_token", "attempts"))
    assert states == [("queued", None, 0), ("queued", None, 0), ("sent", None, 1), ("sent", None, 1)]


def test_a_stop_during_a_slow_batch_stops_its_emails_not_yet_handed_over(sender, mailserver, monkeypatch):
    clock = Clock(monkeypatch, per_email=2)  # a slow server: the batch checks its enrollments between emails
    with time_machine.travel(START, tick=False):
        first, second, third, fourth = sorted(queued_messages(sender, 4))
        by_message = dict(OutboundMessage.objects.values_list("pk", "enrollment_id"))

        def stops(handed_over: int) -> None:
            if handed_over == 1:
                enrollment_unenroll(enrollment=Enrollment.objects.get(pk=by_message[second]))
                enrollment_pause(enrollment=Enrollment.objects.get(pk=by_message[third]))

        clock.after = stops
        outcomes = messages_send([first, second, third, fourth])
    assert outcomes == {"sent": 2, "cancelled": 1, "parked": 1}
    received = {message["Message-ID"] for message in mailserver.handler.received}
    assert received == set(OutboundMessage.objects.filter(pk__in=[first, fourth]).values_list("message_id", flat=True))
    states = dict(OutboundMessage.objects.values_list("pk", "state"))
    assert (states[second], states[third]) == ("cancelled", "queued")
    parked = OutboundMessage.objects.get(pk=third)
    assert (parked.next_attempt_at, parked.sent_at, parked.attempts, parked.lease_token) == (None, None, 0, None)


def test_a_refused_login_disconnects_the_mailbox_once_for_the_whole_batch(sender, mailserver):
    mailserver.handler.refuse_login = True
    with time_machine.travel(START, tick=False):
        batch = queued_messages(sender, 3)
        assert messages_send(batch) == {"inbox disconnected": 3}
    assert len(mailserver.handler.login_sessions) == 1  # not one knock per email
    assert Mailbox.objects.get(owner=sender).status == "disconnected"
    assert set(OutboundMessage.objects.values_list("state", "attempts")) == {("queued", 0)}
    assert set(Enrollment.objects.values_list("status", "reason")) == {("paused", "INBOX_DISCONNECTED")}
    assert Notification.objects.filter(user=sender, kind="inbox_disconnected").count() == 1


def test_the_email_is_multipart_utf8_with_encoded_headers_and_no_injected_header():
    rendered = RenderedEmail(
        subject="Grüße, Zoë\r\nBcc: someone@evil.example",
        html="<p>Héllo</p>\n<p>" + "x" * 200 + "</p>",
        text="Héllo  \n.a line starting with a dot\n" + "word " * 40,
        unsubscribe_url="https://nudge.example/u/abc/",
    )
    payload = mime_build(
        rendered=rendered, message_id="<m.1@nudge.example>", from_name='Zoë "Z" Smith, Sales',
        from_email="zoe@nudge.example", to_name="Ann Lee", to_email="ann@customer.example",
        in_reply_to="<first@nudge.example>", references="<first@nudge.example>",
    )
    assert b"\n" not in payload.replace(b"\r\n", b"")
    assert max(len(line) for line in payload.split(b"\r\n")) <= 998
    parsed = message_from_bytes(payload, policy=default_policy)
    assert parsed["Subject"] == "Grüße, Zoë Bcc: someone@evil.example"
    assert parsed["Bcc"] is None
    assert parsed["From"].addresses[0].display_name == 'Zoë "Z" Smith, Sales'
    assert parsed["From"].addresses[0].addr_spec == "zoe@nudge.example"
    assert (parsed["In-Reply-To"], parsed["References"]) == ("<first@nudge.example>", "<first@nudge.example>")
    assert parsed["List-Unsubscribe"] == "<https://nudge.example/u/abc/>"
    assert [part.get_content_type() for part in parsed.iter_parts()] == ["text/plain", "text/html"]
    text = parsed.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text.startswith("Héllo  \n.a line starting with a dot\nword word")
    assert "x" * 200 in parsed.get_body(("html",)).get_content()


def test_an_unreachable_server_is_tried_once_per_batch_and_every_email_retries_later(sender, mailserver, monkeypatch):
    Mailbox.objects.filter(owner=sender).update(smtp_port=free_port())  # nobody listens there
    attempts = []

    def counted_connect(mailbox):
        attempts.append(mailbox.pk)
        return smtp_connect(mailbox)

    monkeypatch.setattr(sender_module, "smtp_connect", counted_connect)
    with time_machine.travel(START, tick=False):
        batch = queued_messages(sender, 3)
        assert messages_send(batch) == {"retry": 3}
    assert len(attempts) == 1
    rows = OutboundMessage.objects.values_list("state", "attempts", "sent_at", "last_error")
    assert {(state, tries, sent_at) for state, tries, sent_at, _ in rows} == {("retry", 1, None)}
    assert all(error.startswith("Could not reach the mail server") for *_, error in rows)


def enrollments_due(sender, count: int) -> list[int]:
    """`count` enrollments of `sender` whose first email is due now (nothing claimed yet)."""
    sequence = two_email_sequence(sender)
    for n in range(count):
        contact = ContactFactory(first_name=f"D{n}", time_zone="Europe/Helsinki")
        assert enrollment_create(sequence=sequence, caller=sender, contact_ids=[contact.pk]).enrolled
    return list(Enrollment.objects.filter(sender=sender).values_list("pk", flat=True))


def test_a_tick_claims_in_rounds_up_to_its_limit_and_leaves_the_rest_for_the_next(sender, monkeypatch, settings):
    monkeypatch.setattr(dispatch, "BATCH", 2)
    settings.SCHEDULER_MAX_CLAIMS_PER_TICK = 6
    handed_out: list[list[tuple[int, int]]] = []
    with time_machine.travel(START, tick=False):
        enrollments_due(sender, 7)
        ignore = lambda ids: None  # noqa: E731
        first = scheduler_tick(run_steps=handed_out.append, send_messages=ignore, send_reminders=ignore)
        second = scheduler_tick(run_steps=handed_out.append, send_messages=ignore, send_reminders=ignore)
    assert (first.steps, second.steps) == (6, 1)  # three rounds of 2, then the seventh
    claimed = sorted(pk for chunk in handed_out for pk, _ in chunk)
    assert claimed == sorted(Enrollment.objects.values_list("pk", flat=True))


def test_claimed_steps_come_in_mailbox_order_so_a_chunk_is_one_smtp_batch(sender, mailserver):
    other = UserFactory(can_bulk_enroll=True)
    SeatFactory(user=other)
    MailboxFactory(owner=other, smtp_host=mailserver.host, smtp_port=mailserver.port)
    with time_machine.travel(START, tick=False):
        for _ in range(3):  # interleaved: one enrollment of each sender at a time
            enrollments_due(sender, 1)
            enrollments_due(other, 1)
        pairs = enrollments_claim_due(now=timezone.now())
        mailbox_of = dict(Enrollment.objects.values_list("pk", "mailbox_id"))
        order = [mailbox_of[pk] for pk, _ in pairs]
        assert order == sorted(order)
        assert len(set(order)) == 2
        assert len(enrollments_run_steps(pairs)["batches"]) == 2
