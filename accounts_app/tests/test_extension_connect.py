"""Connecting an inbox extension: the approval page, its token, Disconnect, and CORS for EXTENSION_ORIGINS only."""
from __future__ import annotations

import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts_app.models import PrivateApp
from accounts_app.private_apps import extension_token_create, private_app_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
EXTENSION_ID = "abcdefghijklmnopabcdefghijklmnop"
ORIGIN = f"chrome-extension://{EXTENSION_ID}"
CONNECT = f"/connect/extension/?client=gmail&extension={EXTENSION_ID}&state=s-1_x"


@pytest.fixture(autouse=True)
def _extension_allowed(settings):
    settings.EXTENSION_ORIGINS = [ORIGIN]
    settings.CORS_ALLOWED_ORIGINS = [ORIGIN]


@pytest.fixture
def rep_client():
    client = Client()
    client.force_login(UserFactory(username="rita", email="rita@example.com"))
    return client


def _approve(http, **overrides):
    data = {"client": "gmail", "extension": EXTENSION_ID, "state": "s-1_x", **overrides}
    return http.post("/connect/extension/", data)


def test_the_connect_page_sends_a_signed_out_rep_to_log_in_first():
    response = Client().get(CONNECT)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/connect/extension/")


def test_the_connect_page_asks_before_it_makes_a_token(rep_client):
    response = rep_client.get(CONNECT)
    assert response.status_code == 200
    assert "Approve Nudge for Gmail" in response.content.decode()
    assert not PrivateApp.objects.exists()


def test_approving_makes_a_scoped_token_listed_as_the_reps_and_hands_it_only_to_the_page(rep_client):
    response = _approve(rep_client)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    app = PrivateApp.objects.get()
    assert (app.user.username, app.name) == ("rita", "Nudge for Gmail")
    assert app.scopes == ["nudge.api.read", "nudge.api.write"]
    page = response.content.decode()
    handoff = json.loads(page.split('id="nudge-handoff" type="application/json">')[1].split("</script>")[0])
    assert handoff["state"] == "s-1_x"
    assert handoff["token"].startswith(app.token_prefix)
    assert EXTENSION_ID in page
    assert "Nudge for Gmail" in rep_client.get("/settings/?tab=private-apps").content.decode()


def test_an_extension_outside_extension_origins_gets_no_token(rep_client):
    other = "ponmlkjihgfedcbaponmlkjihgfedcba"
    assert rep_client.get(CONNECT.replace(EXTENSION_ID, other)).status_code == 400
    response = _approve(rep_client, extension=other)
    assert response.status_code == 400
    assert "EXTENSION_ORIGINS" in response.content.decode()
    assert not PrivateApp.objects.exists()


@pytest.mark.parametrize("state", ["", "x" * 101, "has space", "<script>"])
def test_approval_without_a_well_formed_state_is_refused(rep_client, state):
    assert _approve(rep_client, state=state).status_code == 400
    assert not PrivateApp.objects.exists()


@pytest.mark.parametrize("client_name", ["", "thunderbird", "GMAIL"])
def test_approval_for_an_unknown_client_is_refused(rep_client, client_name):
    assert _approve(rep_client, client=client_name).status_code == 400
    assert not PrivateApp.objects.exists()


def test_approving_needs_the_pages_csrf_token(rep_client):
    client = Client(enforce_csrf_checks=True)
    client.cookies = rep_client.cookies
    data = {"client": "gmail", "extension": EXTENSION_ID, "state": "s"}
    assert client.post("/connect/extension/", data).status_code == 403
    assert not PrivateApp.objects.exists()


def test_a_token_revokes_itself_and_only_itself():
    user = UserFactory()
    _, token = extension_token_create(user=user, client="gmail")
    other, _ = private_app_create(user=user, name="Zapier", scopes=["nudge.api.read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.delete("/api/v1/private-apps/current/").status_code == 204
    assert list(PrivateApp.objects.values_list("pk", flat=True)) == [other.pk]
    assert client.get("/api/v1/users/me/").status_code == 401


def test_revoking_the_current_token_needs_a_token():
    client = APIClient()
    client.force_authenticate(UserFactory())
    response = client.delete("/api/v1/private-apps/current/")
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"


def test_cors_answers_an_allowed_extension_origin_on_the_api():
    response = Client().options(
        "/api/v1/contacts/", HTTP_ORIGIN=ORIGIN, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert "authorization" in response["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in response


@pytest.mark.parametrize(
    "origin", ["chrome-extension://ponmlkjihgfedcbaponmlkjihgfedcba", "https://mail.google.com", "null"]
)
def test_cors_answers_no_other_origin(origin):
    response = Client().options(
        "/api/v1/contacts/", HTTP_ORIGIN=origin, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    assert "Access-Control-Allow-Origin" not in response


def test_cors_stays_off_the_pages_even_for_the_extension():
    response = Client().get("/login/", HTTP_ORIGIN=ORIGIN)
    assert "Access-Control-Allow-Origin" not in response


def test_outlook_approval_needs_no_extension_id_and_names_its_token(rep_client):
    response = _approve(rep_client, client="outlook", extension="")
    assert response.status_code == 200
    assert PrivateApp.objects.get().name == "Nudge for Outlook"
    assert "appsforoffice.microsoft.com/lib/1/hosted/office.js" in response.content.decode()
