"""Invariants held by the database itself, whatever code writes the rows."""
from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from accounts_app.models import Seat
from sequences_app.models import Enrollment
from tests.factories import (
    ContactFactory,
    EnrollmentFactory,
    OutboundMessageFactory,
    SeatFactory,
    SequenceFactory,
    TaskFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_a_contact_cannot_hold_two_live_enrollments():
    contact = ContactFactory()
    EnrollmentFactory(contact=contact, status=Enrollment.Status.ACTIVE)
    for status in ("scheduled", "active", "paused"):
        with pytest.raises(IntegrityError), transaction.atomic():
            EnrollmentFactory(contact=contact, status=status)


def test_a_contact_may_be_enrolled_again_once_the_previous_enrollment_ended():
    contact = ContactFactory()
    for status in ("finished", "unenrolled", "bounced", "failed"):
        EnrollmentFactory(contact=contact, status=status)
    EnrollmentFactory(contact=contact, status=Enrollment.Status.ACTIVE)
    assert Enrollment.objects.filter(contact=contact).count() == 5


def test_an_enrollment_that_ends_frees_the_contact_for_a_new_one():
    contact = ContactFactory()
    first = EnrollmentFactory(contact=contact)
    with pytest.raises(IntegrityError), transaction.atomic():
        EnrollmentFactory(contact=contact)
    Enrollment.objects.filter(pk=first.pk).update(status=Enrollment.Status.FINISHED)
    EnrollmentFactory(contact=contact)


def test_one_outbound_message_per_enrollment_step():
    enrollment = EnrollmentFactory()
    OutboundMessageFactory(enrollment=enrollment, step_order=1)
    OutboundMessageFactory(enrollment=enrollment, step_order=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        OutboundMessageFactory(enrollment=enrollment, step_order=1)


def test_message_ids_are_unique():
    message = OutboundMessageFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        OutboundMessageFactory(message_id=message.message_id)


def test_a_sequence_step_creates_its_task_only_once():
    enrollment = EnrollmentFactory()
    TaskFactory(enrollment=enrollment, step_order=2)
    TaskFactory(enrollment=None, step_order=None)
    TaskFactory(enrollment=None, step_order=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        TaskFactory(enrollment=enrollment, step_order=2)


def test_a_user_holds_at_most_one_seat():
    user = UserFactory()
    SeatFactory(user=user)
    with pytest.raises(IntegrityError), transaction.atomic():
        Seat.objects.create(user=user, hub="service", tier="enterprise")


def test_a_seat_tier_outside_the_known_ones_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        Seat.objects.create(user=UserFactory(), hub="sales", tier="platinum")


def test_contact_emails_are_unique_regardless_of_case_but_many_contacts_may_lack_one():
    ContactFactory(email="ann@example.com")
    ContactFactory(email="")
    ContactFactory(email="")
    with pytest.raises(IntegrityError), transaction.atomic():
        ContactFactory(email="ANN@example.com")


def test_a_send_window_must_open_before_it_closes():
    SequenceFactory(send_window_start_minute=480, send_window_end_minute=1020)
    with pytest.raises(IntegrityError), transaction.atomic():
        SequenceFactory(send_window_start_minute=1020, send_window_end_minute=480)
    with pytest.raises(IntegrityError), transaction.atomic():
        SequenceFactory(send_window_start_minute=480, send_window_end_minute=None)


def test_a_user_has_at_most_one_primary_mailbox(rep):
    from tests.factories import MailboxFactory

    MailboxFactory(owner=rep, email="second@nudge.example", is_primary=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        MailboxFactory(owner=rep, email="third@nudge.example", is_primary=True)
