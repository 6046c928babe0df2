"""Deleting a contact or a seat, or deactivating a user, in Django's admin stops what it must, as the services do."""

from __future__ import annotations

import pytest

from accounts_app.models import Seat
from contacts_app.models import Contact
from sequences_app.models import Enrollment
from tests.factories import ContactFactory, EnrollmentFactory, SequenceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_logged_in(client, admin_user):
    client.force_login(admin_user)
    return client


def live_enrollment(sender, contact=None) -> Enrollment:
    return EnrollmentFactory(sequence=SequenceFactory(owner=sender), sender=sender, contact=contact or ContactFactory())


def test_deleting_a_contact_in_the_admin_ends_its_live_enrollments(admin_client_logged_in, rep):
    enrollment = live_enrollment(rep)
    contact = enrollment.contact
    response = admin_client_logged_in.post(f"/admin/contacts_app/contact/{contact.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Contact.objects.filter(pk=contact.pk).exists()
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.reason, enrollment.contact_id) == ("unenrolled", "CONTACT_DELETED", None)


def test_the_admins_delete_selected_action_ends_each_contacts_enrollments(admin_client_logged_in, rep):
    enrollments = [live_enrollment(rep) for _ in range(2)]
    response = admin_client_logged_in.post(
        "/admin/contacts_app/contact/",
        {"action": "delete_selected", "_selected_action": [e.contact_id for e in enrollments], "post": "yes"},
    )
    assert response.status_code == 302
    assert set(Enrollment.objects.values_list("reason", flat=True)) == {"CONTACT_DELETED"}


def test_deleting_a_seat_in_the_admin_stops_the_reps_sequences(admin_client_logged_in, rep):
    enrollment = live_enrollment(rep)
    response = admin_client_logged_in.post(f"/admin/accounts_app/seat/{rep.seat.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Seat.objects.filter(user=rep).exists()
    enrollment.refresh_from_db()
    assert enrollment.reason == "SENDER_LOST_SEAT"
    assert enrollment.status != "active"


def test_removing_the_seat_inline_on_the_user_page_stops_the_reps_sequences(admin_client_logged_in, rep):
    enrollment = live_enrollment(rep)
    page = admin_client_logged_in.get(f"/admin/accounts_app/user/{rep.pk}/change/")
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and not isinstance(value, list)}
    data.update(
        {
            "username": rep.username, "date_joined_0": "2026-11-01", "date_joined_1": "09:00:00",
            "seat-TOTAL_FORMS": "1", "seat-INITIAL_FORMS": "1", "seat-MIN_NUM_FORMS": "0", "seat-MAX_NUM_FORMS": "1",
            "seat-0-id": rep.seat.pk, "seat-0-user": rep.pk, "seat-0-hub": rep.seat.hub, "seat-0-tier": rep.seat.tier,
            "seat-0-DELETE": "on",
        }
    )
    data.pop("password", None)
    data.pop("last_login", None)
    response = admin_client_logged_in.post(f"/admin/accounts_app/user/{rep.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    assert not Seat.objects.filter(user=rep).exists()
    enrollment.refresh_from_db()
    assert enrollment.reason == "SENDER_LOST_SEAT"


def test_deactivating_a_user_in_the_admin_stops_their_sequences(admin_client_logged_in, rep):
    enrollment = live_enrollment(rep)
    page = admin_client_logged_in.get(f"/admin/accounts_app/user/{rep.pk}/change/")
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and not isinstance(value, list)}
    data.update(
        {
            "username": rep.username, "date_joined_0": "2026-11-01", "date_joined_1": "09:00:00",
            "seat-TOTAL_FORMS": "1", "seat-INITIAL_FORMS": "1", "seat-MIN_NUM_FORMS": "0", "seat-MAX_NUM_FORMS": "1",
            "seat-0-id": rep.seat.pk, "seat-0-user": rep.pk, "seat-0-hub": rep.seat.hub, "seat-0-tier": rep.seat.tier,
        }
    )
    for name in ("password", "last_login", "is_active"):  # an unticked checkbox is not posted
        data.pop(name, None)
    response = admin_client_logged_in.post(f"/admin/accounts_app/user/{rep.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    rep.refresh_from_db()
    assert not rep.is_active
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.reason) == ("unenrolled", "SENDER_DEACTIVATED")
