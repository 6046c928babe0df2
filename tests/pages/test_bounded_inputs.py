"""The six inputs an outside probe got a 500 from, each answered with a clear error instead (no request,
however malformed, gets a 500): dates far ahead or before the calendar's start, and integers too big."""
from __future__ import annotations

import pytest
import time_machine

from accounts_app.models import PortalSettings
from sequences_app.models import Enrollment, Meeting
from tests.factories import ContactFactory, SequenceFactory, SequenceStepFactory
from tests.pages.conftest import portal  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
NOW = "2026-11-25T09:30:00+02:00"


@pytest.fixture(autouse=True)
def _helsinki(db):
    PortalSettings.objects.update_or_create(pk=1, defaults={"time_zone": "Europe/Helsinki", "holiday_country": "FI"})
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def sequence(rep):
    sequence = SequenceFactory(owner=rep, visibility="everyone")
    SequenceStepFactory(sequence=sequence, order=1)
    SequenceStepFactory(sequence=sequence, order=2, delay_days=3)
    return sequence


def _enroll(api, sequence, send_at, **extra):
    payload = {"contacts": [ContactFactory().pk], "time_zone": "Europe/Helsinki", "send_at": send_at, **extra}
    return api.post(f"/api/v1/sequences/{sequence.pk}/enrollments/", payload, format="json")


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_send_at_at_the_end_of_the_calendar_is_too_far_not_a_500(api, sequence, dry_run):
    answer = _enroll(api, sequence, "9999-12-31T23:00:00", dry_run=dry_run)
    assert answer.status_code == 400
    assert answer.json()["code"] == "SEND_AT_TOO_FAR"
    assert not Enrollment.objects.exists()


def test_a_send_at_more_than_a_year_ahead_is_too_far(api, sequence):
    assert _enroll(api, sequence, "2027-11-26T09:00:00").json()["code"] == "SEND_AT_TOO_FAR"
    assert _enroll(api, sequence, "2027-11-24T09:00:00").status_code == 201


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_send_at_before_the_calendar_starts_in_helsinki_is_past_not_a_500(api, sequence, dry_run):
    answer = _enroll(api, sequence, "0001-01-01T00:00:00", dry_run=dry_run)
    assert answer.status_code == 400
    assert answer.json()["code"] == "SEND_AT_IN_PAST"


@pytest.mark.parametrize(("day", "words"), [("9999-12-31", "more than a year ahead"), ("0001-01-01", "already past")])
def test_the_enroll_pages_send_later_form_says_what_is_wrong(rep_client, portal, day, words):  # noqa: F811
    data = {"sequence": portal["sequence"].pk, "contacts": [c.pk for c in portal["contacts"]], "focus": "all",
            "send": "later", "send_date": day, "send_time": "23:00" if day.startswith("9") else "00:00"}
    for path in ("/enroll/preview/", "/enroll/submit/"):
        answer = rep_client.post(path, data)
        assert answer.status_code < 500
        assert words in answer.content.decode()
    assert not Enrollment.objects.exists()


@pytest.mark.parametrize("owner", ["99999999999999999999999", "9223372036854775808", "²", "-1", "1e9"])
def test_the_contacts_page_takes_any_owner_filter(rep_client, owner):
    assert rep_client.get("/contacts/", {"owner": owner}).status_code == 200


@pytest.mark.parametrize("page", ["99999999999999999999999", "٣", "-5"])
def test_a_page_number_of_any_shape_is_a_page(rep_client, page):
    assert rep_client.get("/contacts/", {"page": page}).status_code == 200


def test_the_meeting_form_refuses_a_date_before_the_calendar_starts(rep_client, rep):
    contact = ContactFactory(owner=rep)
    for starts_at in ("0001-01-01T00:00", "9999-12-31T23:59"):
        answer = rep_client.post(f"/contacts/{contact.pk}/meetings/", {"starts_at": starts_at}, follow=True)
        assert answer.status_code == 200
        assert "within ten years" in answer.content.decode()
    assert not Meeting.objects.exists()


@pytest.mark.parametrize("starts_at", ["0001-01-01T00:00:00+02:00", "2040-01-01T00:00:00Z"])
def test_the_meetings_api_refuses_it_too(api, rep, starts_at):
    contact = ContactFactory(owner=rep)
    answer = api.post("/api/v1/meetings/", {"contact": contact.pk, "starts_at": starts_at}, format="json")
    assert answer.status_code == 400
    assert answer.json()["code"] == "VALIDATION_ERROR"
    assert "starts_at" in answer.json()["fields"]
    assert not Meeting.objects.exists()


@pytest.mark.parametrize("value", ["99999999999999999999999", "²"])
def test_mailbox_ports_and_caps_of_any_shape_are_form_errors(rep_client, value):
    form = {"email": "x@nudge.example", "smtp_host": "smtp.nudge.example", "smtp_port": value, "imap_port": "993",
            "daily_limit": value}
    answer = rep_client.post("/mailboxes/new/", form)
    assert answer.status_code == 400
    assert "Enter a port number from 1 to 65535." in answer.content.decode()


@pytest.mark.parametrize("key", ["²", "99999999999999999999999", "0"])
def test_a_step_number_or_contact_id_of_any_shape_in_overrides_is_a_validation_error(api, sequence, key):
    contact = ContactFactory()
    for payload in ({"step_overrides": {key: {"subject": "x"}}}, {"contact_overrides": {key: {}}}):
        answer = api.post(f"/api/v1/sequences/{sequence.pk}/enrollments/",
                          {"contacts": [contact.pk], "dry_run": True, **payload}, format="json")
        assert answer.status_code == 400, answer.content
        assert answer.json()["code"] == "VALIDATION_ERROR"
