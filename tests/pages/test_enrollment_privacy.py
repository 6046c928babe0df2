"""CRM pages show other users' enrollments only as "in a sequence" (API.md: a user sees the enrollments
they sent; admins see all).

The probe: the contact page and the contacts index showed another rep's
enrollment in a private sequence — its name, the sender and the next send.
"""
from __future__ import annotations

import pytest
import time_machine

from sequences_app.models import EmailEvent
from sequences_app.services.enrollments import enrollment_create
from tests.factories import MailboxFactory, SeatFactory, SequenceFactory, SequenceStepFactory, UserFactory

pytestmark = pytest.mark.django_db
SECRET = "Olga secret plan"


@pytest.fixture
def olgas(portal):
    """Olga's enrollment of the portal's first contact in her private sequence, with an email sent."""
    olga = UserFactory(first_name="Olga", last_name="Other")
    SeatFactory(user=olga)
    MailboxFactory(owner=olga)
    sequence = SequenceFactory(owner=olga, name=SECRET, visibility="private")
    SequenceStepFactory(sequence=sequence, order=1)
    SequenceStepFactory(sequence=sequence, order=2, delay_days=3)
    contact = portal["contacts"][0]
    with time_machine.travel("2026-12-01 09:00+00:00"):
        enrollment = enrollment_create(sequence=sequence, caller=olga, contact_ids=[contact.pk]).enrolled[0]
    EmailEvent.objects.create(kind=EmailEvent.Kind.OPEN, contact=contact, enrollment_id=enrollment.id,
                              sequence=sequence, occurred_at="2026-12-01T10:00:00Z")
    return contact


def test_a_rep_sees_only_that_the_contact_is_in_a_sequence(rep_client, olgas, portal):
    record = rep_client.get(f"/contacts/{olgas.pk}/").content.decode()
    assert SECRET not in record
    assert "Olga" not in record
    assert "next " not in record
    assert "In a sequence" in record
    index = rep_client.get("/contacts/").content.decode()
    assert SECRET not in index
    assert "In a sequence" in index
    for page in (f"/lists/{portal['list'].pk}/", f"/deals/{portal['deal'].pk}/"):
        body = rep_client.get(page).content.decode()
        assert SECRET not in body
        assert "In a sequence" in body


def test_an_admin_and_the_sender_see_the_details(client, admin_user, olgas):
    client.force_login(admin_user)
    assert SECRET in client.get(f"/contacts/{olgas.pk}/").content.decode()
    assert SECRET in client.get("/contacts/").content.decode()
    client.force_login(olgas.enrollments.get().sender)
    record = client.get(f"/contacts/{olgas.pk}/").content.decode()
    assert SECRET in record
    assert "Olga Other" in record


def test_a_reps_own_enrollment_shows_its_details(rep_client, rep, portal):
    contact = portal["contacts"][1]
    enrollment_create(sequence=portal["sequence"], caller=rep, contact_ids=[contact.pk])
    assert "In “Intro”" in rep_client.get("/contacts/").content.decode()
    assert "Intro" in rep_client.get(f"/contacts/{contact.pk}/").content.decode()
