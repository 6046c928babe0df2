"""Authentication, scopes, the burst limit and every kind of bad input, answered in HubSpot's error shape."""
from __future__ import annotations

import json
import logging
import uuid

import pytest
from django.test import Client

from accounts_app.models import PrivateApp, PrivateAppWindow
from accounts_app.private_apps import NUDGE_API_WRITE, READ_SEQUENCES, WRITE_ENROLLMENTS
from contacts_app.models import BlockedEntry
from hubspot_api.tests.conftest import HubSpotClient, token_for
from hubspot_api.tests.spec import PREFIXES, assert_matches_spec
from mailboxes_app.models import Mailbox
from sequences_app.models import Enrollment
from tests.factories import ContactFactory, EnrollmentFactory, MailboxFactory, SequenceFactory, UserFactory

pytestmark = pytest.mark.django_db

ENROLL = "/enrollments"


def enroll(hub: HubSpotClient, user, body: dict):
    return hub.post(f"{ENROLL}?userId={user.pk}", body)


# --- Authentication and scopes ----------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Bearer pat-nudge-not-a-real-token", "Bearer", "Token abc", "Bearer a b"])
def test_a_call_without_a_valid_token_is_invalid_authentication(rep, family, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = Client(**extra).get(PREFIXES[family], {"userId": rep.pk})
    assert response.status_code == 401
    body = assert_matches_spec(response, family=family, method="GET", template="")
    assert body["category"] == "INVALID_AUTHENTICATION"
    assert body["status"] == "error"


def test_a_signed_in_browser_session_is_not_enough(rep, family):
    client = Client()
    client.force_login(rep)
    assert client.get(PREFIXES[family], {"userId": rep.pk}).status_code == 401


def test_a_revoked_token_stops_working_at_once(rep, family, sequence):
    hub = HubSpotClient(token_for(rep), family)
    assert hub.get("", {"userId": rep.pk}).status_code == 200
    PrivateApp.objects.get().delete()
    assert hub.get("", {"userId": rep.pk}).status_code == 401


def test_a_deactivated_users_token_stops_working(rep, family):
    hub = HubSpotClient(token_for(rep), family)
    rep.is_active = False
    rep.save()
    assert hub.get("", {"userId": rep.pk}).status_code == 401


@pytest.mark.parametrize(
    ("method", "template", "needed"),
    [
        ("GET", "", READ_SEQUENCES),
        ("GET", "/{sequenceId}", READ_SEQUENCES),
        ("GET", "/enrollments/contact/{contactId}", READ_SEQUENCES),
        ("POST", "/enrollments", WRITE_ENROLLMENTS),
    ],
)
def test_each_call_needs_its_scope(rep, family, sequence, method, template, needed):
    other = WRITE_ENROLLMENTS if needed == READ_SEQUENCES else READ_SEQUENCES
    hub = HubSpotClient(token_for(rep, [other, NUDGE_API_WRITE]), family)
    path = template.replace("{sequenceId}", str(sequence.pk)).replace("{contactId}", "1")
    if method == "GET":
        response = hub.get(path, {"userId": rep.pk})
    else:
        contact = ContactFactory()
        response = hub.post(f"{path}?userId={rep.pk}",
                            {"contactId": contact.pk, "sequenceId": sequence.pk, "senderEmail": rep.email})
    assert response.status_code == 403
    body = assert_matches_spec(response, family=family, method=method, template=template)
    assert body["category"] == "MISSING_SCOPES"
    assert body["context"] == {"requiredScopes": [needed]}
    assert not Enrollment.objects.exists()


def test_the_token_notes_when_it_was_last_used_without_a_write_per_request(rep, family, django_assert_num_queries):
    hub = HubSpotClient(token_for(rep), family)
    hub.get("", {"userId": rep.pk})
    first = PrivateApp.objects.get().last_used_at
    assert first is not None
    # Token lookup, burst upsert, the list's count and page: no UPDATE of last_used_at within the minute.
    with django_assert_num_queries(4):
        hub.get("", {"userId": rep.pk})
    assert PrivateApp.objects.get().last_used_at == first


def test_errors_carry_a_fresh_correlation_id_that_is_also_logged(rep, family, caplog):
    hub = HubSpotClient(token_for(rep), family)
    with caplog.at_level(logging.INFO, logger="hubspot_api"):
        first = hub.get("/999999", {"userId": rep.pk})
        second = hub.get("/999999", {"userId": rep.pk})
    ids = [first.json()["correlationId"], second.json()["correlationId"]]
    assert len({str(uuid.UUID(value)) for value in ids}) == 2
    assert first["X-HubSpot-Correlation-Id"] == ids[0]
    assert all(any(value in record.getMessage() for record in caplog.records) for value in ids)


# --- The burst limit ---------------------------------------------------------------------------


def test_past_the_burst_limit_the_answer_is_429_rate_limits_with_the_headers(rep, family, settings):
    settings.PRIVATE_APP_BURST_LIMIT = 3
    hub = HubSpotClient(token_for(rep), family)
    remaining = []
    for _ in range(3):
        response = hub.get("", {"userId": rep.pk})
        assert response.status_code == 200
        assert response["X-HubSpot-RateLimit-Max"] == "3"
        assert response["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
        remaining.append(response["X-HubSpot-RateLimit-Remaining"])
    assert remaining == ["2", "1", "0"]
    response = hub.get("", {"userId": rep.pk})
    assert response.status_code == 429
    body = assert_matches_spec(response, family=family, method="GET", template="")
    assert body["category"] == "RATE_LIMITS"
    assert response["X-HubSpot-RateLimit-Remaining"] == "0"
    # Another token of the same user has its own budget.
    assert HubSpotClient(token_for(rep), family).get("", {"userId": rep.pk}).status_code == 200


def test_the_burst_window_reopens_and_old_windows_are_deleted(rep, family, settings, time_machine):
    settings.PRIVATE_APP_BURST_LIMIT = 1
    time_machine.move_to("2026-12-01 09:00:00+00:00", tick=False)
    hub = HubSpotClient(token_for(rep), family)
    assert hub.get("", {"userId": rep.pk}).status_code == 200
    assert hub.get("", {"userId": rep.pk}).status_code == 429
    time_machine.move_to("2026-12-01 09:00:10+00:00", tick=False)
    assert hub.get("", {"userId": rep.pk}).status_code == 200
    assert PrivateAppWindow.objects.count() == 1


def test_the_limit_is_counted_in_the_database_so_every_process_shares_it(rep, family, settings):
    """Two clients stand for two web processes: nothing is kept in process memory, only the row counts."""
    settings.PRIVATE_APP_BURST_LIMIT = 4
    token = token_for(rep)
    first, second = HubSpotClient(token, family), HubSpotClient(token, family)
    statuses = [client.get("", {"userId": rep.pk}).status_code for client in (first, second, first, second, first)]
    assert statuses == [200, 200, 200, 200, 429]
    assert PrivateAppWindow.objects.get().hits == 5


def test_unauthenticated_answers_still_say_the_limit(rep, family):
    response = Client().get(PREFIXES[family], {"userId": rep.pk})
    assert response["X-HubSpot-RateLimit-Max"] == "190"
    assert response["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"


# --- Bad input never gets a 500 ----------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [{}, {"userId": ""}, {"userId": "abc"}, {"userId": "-1"}, {"userId": "9" * 40}, {"userId": "1.0"},
     {"userId": "٣"}, {"name": "x\x00y"}],
)
def test_a_bad_user_id_or_parameter_is_a_validation_error(hub, family, params):
    response = hub.get("", params)
    assert response.status_code == 400, params
    body = assert_matches_spec(response, family=family, method="GET", template="")
    assert body["category"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("sequence_id", ["abc", "0", "-5", "9" * 30, "1e3", "%20"])
def test_a_bad_sequence_id_is_not_found(hub, rep, family, sequence_id):
    response = hub.get(f"/{sequence_id}", {"userId": rep.pk})
    assert response.status_code == 404
    assert_matches_spec(response, family=family, method="GET", template="/{sequenceId}")


@pytest.mark.parametrize("contact_id", ["abc", "0", "9" * 30])
def test_a_bad_contact_id_is_not_found(hub, family, contact_id):
    response = hub.get(f"/enrollments/contact/{contact_id}")
    assert response.status_code == 404
    assert_matches_spec(response, family=family, method="GET", template="/enrollments/contact/{contactId}")


def test_an_unknown_path_or_method_answers_in_hubspots_shape(hub, rep, sequence):
    for response in (
        hub.get("/1/steps"),
        hub.get("/"),
        hub.http.delete(f"{hub.prefix}/{sequence.pk}?userId={rep.pk}"),
        hub.get(ENROLL, {"userId": rep.pk}),
        hub.http.options(f"{hub.prefix}?userId={rep.pk}"),
    ):
        assert response.status_code in (404, 405)
        assert response.json()["status"] == "error"
        assert uuid.UUID(response.json()["correlationId"])


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json", b"[]", b"null", b"42", b'"text"', b"{", b"[" * 100_000, b"\xff\xfe", b'{"contactId": {}}',
     b'{"contactId": true, "sequenceId": 1, "senderEmail": "a@b"}', b'{"contactId": 1.5}',
     b'{"contactId": "1", "sequenceId": "99999999999999999999999", "senderEmail": "a@b"}',
     b'{"contactId": "1", "sequenceId": "1", "senderEmail": 7}'],
)
def test_a_garbage_enrollment_body_is_a_validation_error_and_enrolls_nobody(hub, rep, family, sequence, raw):
    response = hub.post(f"{ENROLL}?userId={rep.pk}", None, raw=raw)
    assert response.status_code == 400, (raw[:40], response.content)
    body = assert_matches_spec(response, family=family, method="POST", template="/enrollments")
    assert body["category"] == "VALIDATION_ERROR"
    assert not Enrollment.objects.exists()


def test_a_body_too_big_to_read_is_a_validation_error(hub, rep, family, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = hub.post(f"{ENROLL}?userId={rep.pk}", None, raw=b'{"contactId": "' + b"1" * 5000 + b'"}')
    assert response.status_code == 400
    assert_matches_spec(response, family=family, method="POST", template="/enrollments")


def test_numbers_for_ids_are_accepted_as_hubspot_clients_send_them(hub, rep, sequence):
    contact = ContactFactory()
    response = enroll(hub, rep, {"contactId": contact.pk, "sequenceId": sequence.pk, "senderEmail": rep.email})
    assert response.status_code == 200, response.content


# --- Enrollment refusals -----------------------------------------------------------------------


def refusal(response, family):
    body = assert_matches_spec(response, family=family, method="POST", template="/enrollments")
    return response.status_code, body["category"], body.get("subCategory"), body["message"]


def test_enrolling_an_enrolled_contact_is_refused_in_hubspots_words(hub, rep, family, sequence):
    contact = EnrollmentFactory(sequence=sequence, sender=rep).contact
    response = enroll(hub, rep, {"contactId": contact.pk, "sequenceId": sequence.pk, "senderEmail": rep.email})
    assert refusal(response, family) == (
        400, "VALIDATION_ERROR", "ALREADY_ENROLLED", "Contact already enrolled in a sequence"
    )
    assert Enrollment.objects.count() == 1


def test_a_sender_email_that_is_not_one_of_the_users_inboxes_is_refused(hub, rep, family, sequence):
    contact = ContactFactory()
    colleague_box = MailboxFactory(owner=UserFactory())
    for address in ("nobody@nudge.example", colleague_box.email):
        response = enroll(hub, rep, {"contactId": contact.pk, "sequenceId": sequence.pk, "senderEmail": address})
        assert refusal(response, family) == (
            400, "VALIDATION_ERROR", "NO_CONNECTED_INBOX",
            f"User {rep.pk} has no connected inboxes for specified user email",
        )
    assert not Enrollment.objects.exists()


def test_a_disconnected_inbox_is_refused_by_the_service_with_the_same_words(hub, rep, family, sequence):
    Mailbox.objects.filter(owner=rep).update(status=Mailbox.Status.DISCONNECTED)
    contact = ContactFactory()
    response = enroll(hub, rep, {"contactId": contact.pk, "sequenceId": sequence.pk, "senderEmail": rep.email})
    assert refusal(response, family)[:3] == (400, "VALIDATION_ERROR", "NO_CONNECTED_INBOX")


@pytest.mark.parametrize(
    ("contact_fields", "code"),
    [
        ({"email": ""}, "MISSING_EMAIL"),
        ({"email_bounced": True}, "BOUNCED"),
        ({"unsubscribed": True}, "UNSUBSCRIBED"),
        ({"unsubscribed_sales": True}, "UNSUBSCRIBED_SALES"),
        ({"marked_spam": True}, "PREVIOUSLY_MARKED_AS_SPAM"),
        ({"email": "blocked@example.com"}, "BLOCKED_ADDRESS"),
    ],
)
def test_the_services_per_contact_refusals_come_back_with_their_code(hub, rep, family, sequence, contact_fields, code):
    BlockedEntry.objects.create(value="blocked@example.com")
    contact = ContactFactory(**contact_fields)
    response = enroll(hub, rep, {"contactId": contact.pk, "sequenceId": sequence.pk, "senderEmail": rep.email})
    assert refusal(response, family)[:3] == (400, "VALIDATION_ERROR", code)
    assert not Enrollment.objects.exists()


def test_missing_token_values_name_the_tokens_in_the_context(hub, rep, family):
    sequence = SequenceFactory(owner=rep)
    sequence.steps.create(order=1, type="automated_email", subject="Hi {{ contact.first_name }}", body_html="x")
    contact = ContactFactory(first_name="")
    response = enroll(hub, rep, {"contactId": contact.pk, "sequenceId": sequence.pk, "senderEmail": rep.email})
    assert refusal(response, family)[:3] == (400, "VALIDATION_ERROR", "MISSING_TOKEN_VALUES")
    assert response.json()["context"] == {"missingTokens": ["contact.first_name"]}


def test_a_sender_without_a_seat_is_refused(hub, rep, family, sequence):
    rep.seat.delete()
    contact = ContactFactory()
    response = enroll(hub, rep, {"contactId": contact.pk, "sequenceId": sequence.pk, "senderEmail": rep.email})
    assert refusal(response, family)[:3] == (400, "VALIDATION_ERROR", "NO_SEAT")


def test_an_unknown_contact_is_not_found(hub, rep, family, sequence):
    response = enroll(hub, rep, {"contactId": "424242", "sequenceId": sequence.pk, "senderEmail": rep.email})
    assert refusal(response, family)[:3] == (404, "OBJECT_NOT_FOUND", "CONTACT_NOT_FOUND")


def test_a_sequence_not_shared_with_the_sender_is_not_found(hub, rep, family):
    private = SequenceFactory(owner=UserFactory(), visibility="private")
    private.steps.create(order=1, type="automated_email", subject="Hi", body_html="x")
    contact = ContactFactory()
    response = enroll(hub, rep, {"contactId": contact.pk, "sequenceId": private.pk, "senderEmail": rep.email})
    assert refusal(response, family)[:2] == (404, "OBJECT_NOT_FOUND")
    assert "subCategory" not in response.json()


def test_one_contact_needs_no_bulk_permission(hub, rep, sequence):
    rep.can_bulk_enroll = False
    rep.save()
    contact = ContactFactory()
    response = enroll(hub, rep, {"contactId": contact.pk, "sequenceId": sequence.pk, "senderEmail": rep.email})
    assert response.status_code == 200


def test_a_sender_alias_other_than_the_inbox_is_refused(hub, rep, family, sequence):
    contact = ContactFactory()
    body = {"contactId": contact.pk, "sequenceId": sequence.pk, "senderEmail": rep.email,
            "senderAliasAddress": "alias@nudge.example"}
    response = enroll(hub, rep, body)
    assert refusal(response, family)[:2] == (400, "VALIDATION_ERROR")
    assert response.json()["errors"][0]["in"] == "senderAliasAddress"
    body["senderAliasAddress"] = rep.email
    assert enroll(hub, rep, body).status_code == 200


def test_the_enrollment_goes_through_the_one_enrollment_service(hub, rep, sequence, monkeypatch):
    from hubspot_api import views
    from sequences_app.services import enrollments

    calls = []

    def spy(**kwargs):
        calls.append(kwargs)
        return enrollments.enrollment_create(**kwargs)

    monkeypatch.setattr(views, "enrollment_create", spy)
    contact = ContactFactory()
    enroll(hub, rep, {"contactId": contact.pk, "sequenceId": sequence.pk, "senderEmail": rep.email})
    assert [(c["contact_ids"], c["sender"], c["caller"]) for c in calls] == [([contact.pk], rep, rep)]


def test_no_answer_ever_echoes_the_token(rep, family, sequence):
    token = token_for(rep)
    hub = HubSpotClient(token, family)
    for response in (hub.get("", {"userId": rep.pk}), hub.get("/x"), hub.post(ENROLL, None, raw=b"{")):
        assert token not in response.content.decode() + json.dumps(dict(response.headers))
