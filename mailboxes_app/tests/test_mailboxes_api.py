"""`/api/v1/mailboxes/`: a user's own mailboxes, one primary, passwords that never come back."""
from __future__ import annotations

import pytest

from config.errors import ValidationFailed
from mailboxes_app.models import Mailbox
from mailboxes_app.services import NOT_VERIFIED, mailbox_update
from tests.factories import MailboxFactory, UserFactory
from tests.fixtures_api import api_client

pytestmark = pytest.mark.django_db

MAILBOX_KEYS = {
    "id", "owner", "email", "display_name", "is_primary", "provider", "auth", "smtp_host", "smtp_port", "smtp_security",
    "smtp_username", "imap_host", "imap_port", "imap_security", "imap_username", "daily_limit", "minute_limit",
    "status", "status_detail", "verified_at", "verification", "signature_html", "created_at", "updated_at",
    "sending_paused", "sending_paused_at", "sending_paused_reason",
}
SMTP_SECRET = "smtp-Secret-4711"
IMAP_SECRET = "imap-Secret-0815"


def _payload(**overrides):
    return {
        "email": "Second@Nudge.example", "display_name": "Rep Two", "smtp_host": "smtp.nudge.example",
        "smtp_port": 587, "smtp_security": "starttls", "smtp_username": "second@nudge.example",
        "smtp_password": SMTP_SECRET, "imap_host": "imap.nudge.example", "imap_port": 993, "imap_security": "ssl",
        "imap_username": "second@nudge.example", "imap_password": IMAP_SECRET, "daily_limit": 200,
        **overrides,
    }


def test_a_rep_connects_a_mailbox_that_starts_disconnected(api, rep):
    answer = api.post("/api/v1/mailboxes/", _payload(), format="json")

    assert answer.status_code == 201
    body = answer.json()
    assert set(body) == MAILBOX_KEYS
    assert (body["owner"], body["email"], body["status"]) == (rep.pk, "second@nudge.example", "disconnected")
    assert body["status_detail"] == NOT_VERIFIED
    assert body["is_primary"] is False  # the rep's first mailbox stays primary
    stored = Mailbox.objects.get(pk=body["id"])
    assert (stored.smtp_password, stored.imap_password) == (SMTP_SECRET, IMAP_SECRET)


def test_a_users_first_mailbox_becomes_primary():
    newcomer = UserFactory()
    answer = api_client(newcomer).post("/api/v1/mailboxes/", _payload(), format="json")
    assert answer.json()["is_primary"] is True


def test_connecting_a_mailbox_as_primary_demotes_the_old_one(api, rep):
    old = rep.mailboxes.get()
    answer = api.post("/api/v1/mailboxes/", _payload(is_primary=True), format="json")
    old.refresh_from_db()
    assert (answer.json()["is_primary"], old.is_primary) == (True, False)


def test_making_another_mailbox_primary_keeps_exactly_one(api, rep):
    old = rep.mailboxes.get()
    other = MailboxFactory(owner=rep, email="other@nudge.example", is_primary=False)

    answer = api.patch(f"/api/v1/mailboxes/{other.pk}/", {"is_primary": True}, format="json")

    assert answer.json()["is_primary"] is True
    assert list(rep.mailboxes.filter(is_primary=True).values_list("pk", flat=True)) == [other.pk]
    assert api.get(f"/api/v1/mailboxes/{old.pk}/").json()["is_primary"] is False


def test_the_primary_cannot_just_be_unset(api, rep):
    primary = rep.mailboxes.get()
    answer = api.patch(f"/api/v1/mailboxes/{primary.pk}/", {"is_primary": False}, format="json")
    assert answer.status_code == 400
    primary.refresh_from_db()
    assert primary.is_primary


def test_deleting_the_primary_promotes_a_connected_mailbox(api, rep):
    primary = rep.mailboxes.get()
    MailboxFactory(owner=rep, email="a-disconnected@nudge.example", is_primary=False, status="disconnected")
    connected = MailboxFactory(owner=rep, email="z-connected@nudge.example", is_primary=False)

    assert api.delete(f"/api/v1/mailboxes/{primary.pk}/").status_code == 204

    connected.refresh_from_db()
    assert connected.is_primary


def test_the_same_address_twice_for_one_owner_is_refused(api, rep):
    answer = api.post("/api/v1/mailboxes/", _payload(email=rep.mailboxes.get().email.upper()), format="json")
    assert answer.status_code == 400
    assert "email" in answer.json()["fields"]


def test_changed_credentials_disconnect_until_verified_again(api, rep):
    mailbox = rep.mailboxes.get()
    answer = api.patch(f"/api/v1/mailboxes/{mailbox.pk}/", {"smtp_password": "new-password"}, format="json")
    assert (answer.json()["status"], answer.json()["status_detail"]) == ("disconnected", NOT_VERIFIED)


def test_cosmetic_changes_keep_the_mailbox_connected(api, rep):
    mailbox = rep.mailboxes.get()
    answer = api.patch(f"/api/v1/mailboxes/{mailbox.pk}/", {"display_name": "Me", "daily_limit": 50}, format="json")
    assert (answer.json()["status"], answer.json()["daily_limit"]) == ("connected", 50)


def test_the_per_minute_cap_is_writable_and_cleared_with_null(api, rep):
    mailbox = rep.mailboxes.get()
    answer = api.patch(f"/api/v1/mailboxes/{mailbox.pk}/", {"minute_limit": 30}, format="json")
    assert (answer.json()["status"], answer.json()["minute_limit"]) == ("connected", 30)
    assert api.get(f"/api/v1/mailboxes/{mailbox.pk}/").json()["minute_limit"] == 30
    answer = api.patch(f"/api/v1/mailboxes/{mailbox.pk}/", {"minute_limit": None}, format="json")
    assert answer.json()["minute_limit"] is None
    mailbox.refresh_from_db()
    assert mailbox.minute_limit is None


def test_a_per_minute_cap_of_zero_is_refused_by_the_service_too(rep):
    mailbox = rep.mailboxes.get()
    with pytest.raises(ValidationFailed) as refused:
        mailbox_update(mailbox=mailbox, data={"minute_limit": 0})
    assert "minute_limit" in refused.value.extra["fields"]
    mailbox.refresh_from_db()
    assert mailbox.minute_limit is None


def test_the_signature_is_sanitised(api, rep):
    mailbox = rep.mailboxes.get()
    answer = api.patch(f"/api/v1/mailboxes/{mailbox.pk}/", {
        "signature_html": '<p onclick="steal()">Best, <b>Rep</b><script>alert(1)</script></p>'}, format="json")
    assert answer.json()["signature_html"] == "<p>Best, <b>Rep</b></p>"


@pytest.mark.parametrize(("overrides", "field"), [
    ({"smtp_port": 0}, "smtp_port"),
    ({"imap_port": 70000}, "imap_port"),
    ({"smtp_security": "tls"}, "smtp_security"),
    ({"smtp_host": "smtp host.example"}, "smtp_host"),
    ({"smtp_host": "https://smtp.example"}, "smtp_host"),
    ({"smtp_host": ""}, "smtp_host"),
    ({"email": "nobody"}, "email"),
    ({"daily_limit": -1}, "daily_limit"),
    ({"minute_limit": 0}, "minute_limit"),
    ({"minute_limit": "lots"}, "minute_limit"),
    ({"smtp_password": "x" * 501}, "smtp_password"),
])
def test_bad_settings_are_refused_and_never_echo_a_password(api, overrides, field):
    answer = api.post("/api/v1/mailboxes/", _payload(**overrides), format="json")
    assert answer.status_code == 400
    assert field in answer.json()["fields"]
    assert SMTP_SECRET not in answer.content.decode()
    assert "x" * 50 not in answer.content.decode()


def test_passwords_are_never_in_any_answer(api, rep):
    created = api.post("/api/v1/mailboxes/", _payload(), format="json")
    mailbox_id = created.json()["id"]
    answers = [
        created,
        api.get("/api/v1/mailboxes/"),
        api.get(f"/api/v1/mailboxes/{mailbox_id}/"),
        api.patch(f"/api/v1/mailboxes/{mailbox_id}/", {"imap_password": IMAP_SECRET + "2"}, format="json"),
        api.put(f"/api/v1/mailboxes/{mailbox_id}/", _payload(), format="json"),
    ]
    for answer in answers:
        text = answer.content.decode()
        assert answer.status_code < 300
        assert SMTP_SECRET not in text
        assert IMAP_SECRET not in text
        assert "_password" not in text


def test_a_rep_sees_only_their_own_mailboxes(api, rep):
    other = MailboxFactory()
    listed = [row["id"] for row in api.get("/api/v1/mailboxes/").json()["results"]]
    assert listed == [rep.mailboxes.get().pk]
    for answer in (
        api.get(f"/api/v1/mailboxes/{other.pk}/"),
        api.patch(f"/api/v1/mailboxes/{other.pk}/", {"display_name": "Mine now"}, format="json"),
        api.delete(f"/api/v1/mailboxes/{other.pk}/"),
        api.post(f"/api/v1/mailboxes/{other.pk}/verify/"),
    ):
        assert answer.status_code == 404
        assert answer.json()["code"] == "NOT_FOUND"
    assert Mailbox.objects.filter(pk=other.pk, display_name=other.display_name).exists()


def test_an_admin_sees_every_mailbox(admin_api, rep):
    MailboxFactory()
    assert admin_api.get("/api/v1/mailboxes/").json()["count"] == 2


def test_only_an_admin_connects_a_mailbox_for_someone_else(api, admin_api, rep):
    colleague = UserFactory()
    refused = api.post("/api/v1/mailboxes/", _payload(owner=colleague.pk), format="json")
    allowed = admin_api.post("/api/v1/mailboxes/", _payload(owner=colleague.pk), format="json")
    assert (refused.status_code, refused.json()["code"]) == (403, "PERMISSION_DENIED")
    assert (allowed.status_code, allowed.json()["owner"]) == (201, colleague.pk)


def test_a_mailbox_cannot_change_owner(admin_api, rep):
    mailbox = rep.mailboxes.get()
    answer = admin_api.patch(f"/api/v1/mailboxes/{mailbox.pk}/", {"owner": UserFactory().pk}, format="json")
    assert answer.status_code == 400
    assert "owner" in answer.json()["fields"]


def test_listing_mailboxes_costs_two_queries(admin_api, django_assert_max_num_queries):
    for _ in range(30):
        MailboxFactory()
    with django_assert_max_num_queries(2):
        assert admin_api.get("/api/v1/mailboxes/").json()["count"] == 30
