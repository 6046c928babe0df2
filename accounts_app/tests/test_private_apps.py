"""Private app tokens over `/api/v1/private-apps/`, and Bearer tokens on `/api/v1/` with their scopes."""
from __future__ import annotations

import hashlib
import json

import pytest
import time_machine
from rest_framework.test import APIClient

from accounts_app.models import PrivateApp
from accounts_app.private_apps import (
    NUDGE_API_READ,
    NUDGE_API_WRITE,
    READ_SEQUENCES,
    private_app_authenticate,
    private_app_create,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/private-apps/"


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@time_machine.travel("2026-12-01 09:00+00:00", tick=False)
def test_creating_a_token_shows_it_once_and_stores_only_its_hash(api, rep):
    response = api.post(URL, {"name": "Zapier", "scopes": [READ_SEQUENCES, NUDGE_API_READ]}, format="json")
    assert response.status_code == 201
    body = response.json()
    token = body.pop("token")
    assert token.startswith("pat-nudge-")
    assert len(token) > 50
    app = PrivateApp.objects.get()
    assert body == {
        "id": app.pk,
        "name": "Zapier",
        "scopes": [READ_SEQUENCES, NUDGE_API_READ],
        "created_at": "2026-12-01T09:00:00Z",
        "last_used_at": None,
        "user": rep.pk,
        "prefix": token[:14],
    }
    assert app.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = json.dumps(list(PrivateApp.objects.values()), default=str)
    assert token not in stored
    listed = api.get(URL)
    assert token not in listed.content.decode()
    assert "token" not in listed.json()["results"][0]
    assert "token" not in api.get(f"{URL}{app.pk}/").json()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "", "scopes": [READ_SEQUENCES]}, "name"),
        ({"name": "x" * 121, "scopes": [READ_SEQUENCES]}, "name"),
        ({"name": "A", "scopes": []}, "scopes"),
        ({"name": "A", "scopes": ["crm.objects.contacts.write"]}, "scopes"),
        ({"name": "A", "scopes": "automation.sequences.read"}, "scopes"),
        ({"name": "A"}, "scopes"),
    ],
)
def test_a_token_needs_a_name_and_known_scopes(api, payload, field):
    response = api.post(URL, payload, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert field in response.json()["fields"]
    assert not PrivateApp.objects.exists()


def test_a_user_sees_and_revokes_only_their_own_tokens(api, rep):
    mine, _ = private_app_create(user=rep, name="Mine", scopes=[READ_SEQUENCES])
    theirs, _ = private_app_create(user=UserFactory(), name="Theirs", scopes=[READ_SEQUENCES])
    assert [row["id"] for row in api.get(URL).json()["results"]] == [mine.pk]
    assert api.delete(f"{URL}{theirs.pk}/").status_code == 404
    assert api.delete(f"{URL}{mine.pk}/").status_code == 204
    assert list(PrivateApp.objects.values_list("pk", flat=True)) == [theirs.pk]


def test_an_admin_sees_and_revokes_everyones_tokens(admin_api, rep):
    theirs, token = private_app_create(user=rep, name="Theirs", scopes=[READ_SEQUENCES])
    assert [row["user"] for row in admin_api.get(URL).json()["results"]] == [rep.pk]
    assert admin_api.delete(f"{URL}{theirs.pk}/").status_code == 204
    assert private_app_authenticate(token) is None


def test_a_private_app_token_can_not_manage_tokens(rep):
    _, token = private_app_create(user=rep, name="Wide", scopes=[NUDGE_API_READ, NUDGE_API_WRITE])
    client = bearer(token)
    for response in (
        client.get(URL),
        client.post(URL, {"name": "More", "scopes": [NUDGE_API_WRITE]}, format="json"),
    ):
        assert response.status_code == 403
        assert response.json()["code"] == "PERMISSION_DENIED"
    assert PrivateApp.objects.count() == 1


def test_a_bearer_token_acts_as_its_user_on_the_api(rep):
    _, token = private_app_create(user=rep, name="Reports", scopes=[NUDGE_API_READ])
    response = bearer(token).get("/api/v1/users/me/")
    assert response.status_code == 200
    assert response.json()["id"] == rep.pk


def test_reading_the_api_needs_a_nudge_api_scope_and_writing_needs_write(rep):
    _, hubspot_only = private_app_create(user=rep, name="HubSpot", scopes=[READ_SEQUENCES])
    response = bearer(hubspot_only).get("/api/v1/sequences/")
    assert response.status_code == 403
    assert response.json()["code"] == "MISSING_SCOPES"
    _, reader = private_app_create(user=rep, name="Reader", scopes=[NUDGE_API_READ])
    assert bearer(reader).get("/api/v1/sequences/").status_code == 200
    response = bearer(reader).post("/api/v1/contacts/", {"email": "a@example.com"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "MISSING_SCOPES"
    _, writer = private_app_create(user=rep, name="Writer", scopes=[NUDGE_API_WRITE])
    assert bearer(writer).get("/api/v1/sequences/").status_code == 200
    assert bearer(writer).post("/api/v1/contacts/", {"email": "a@example.com"}, format="json").status_code == 201


def test_a_bad_bearer_token_is_not_authenticated(rep):
    for header in ("Bearer nope", "Bearer pat-nudge-" + "x" * 43, "Bearer", "Bearer a b"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        response = client.get("/api/v1/sequences/")
        assert response.status_code == 401, header
        assert response.json()["code"] == "NOT_AUTHENTICATED"


def test_last_used_at_is_written_at_most_once_a_minute(rep):
    app, token = private_app_create(user=rep, name="Sync", scopes=[NUDGE_API_READ])
    with time_machine.travel("2026-12-01 09:00:00+00:00", tick=False):
        private_app_authenticate(token)
    with time_machine.travel("2026-12-01 09:00:59+00:00", tick=False):
        private_app_authenticate(token)
    app.refresh_from_db()
    assert app.last_used_at.isoformat() == "2026-12-01T09:00:00+00:00"
    with time_machine.travel("2026-12-01 09:01:01+00:00", tick=False):
        private_app_authenticate(token)
    app.refresh_from_db()
    assert app.last_used_at.isoformat() == "2026-12-01T09:01:01+00:00"


def test_the_django_admin_lists_and_revokes_tokens_without_their_hash(client, admin_user, rep):
    app, token = private_app_create(user=rep, name="Legacy sync", scopes=[READ_SEQUENCES])
    client.force_login(admin_user)
    listing = client.get("/admin/accounts_app/privateapp/").content.decode()
    assert "Legacy sync" in listing
    detail = client.get(f"/admin/accounts_app/privateapp/{app.pk}/change/").content.decode()
    assert app.token_hash not in detail
    assert token not in detail
    assert client.get("/admin/accounts_app/privateapp/add/").status_code == 403
    client.post(f"/admin/accounts_app/privateapp/{app.pk}/delete/", {"post": "yes"})
    assert private_app_authenticate(token) is None
