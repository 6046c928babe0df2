"""The API's common ground: tokens, the error envelope for every failure, pagination, schema and docs."""
from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.test import RequestFactory
from rest_framework.exceptions import ValidationError

from config import views
from config.api.errors import flatten_errors
from tests.factories import ContactFactory, UserFactory
from tests.fixtures_api import api_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle():
    # The token throttle counts in the cache; each test starts from zero.
    cache.clear()
    yield
    cache.clear()


def _is_envelope(body: dict, code: str) -> bool:
    return body["code"] == code and isinstance(body["message"], str) and body["message"]


# --- Tokens -------------------------------------------------------------------------------------


def test_a_user_trades_username_and_password_for_a_token_that_authenticates():
    user = UserFactory(username="ann", password=None)
    user.set_password("a-Long-password-9")
    user.save()

    answer = api_client().post("/api/v1/auth/token/", {"username": "ann", "password": "a-Long-password-9"},
                               format="json")

    assert answer.status_code == 200
    token = answer.json()["token"]
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/users/me/").json()["username"] == "ann"


def test_the_same_user_gets_the_same_token_twice():
    UserFactory(username="ann")
    first = api_client().post("/api/v1/auth/token/", {"username": "ann", "password": "pw-for-tests-1"}, format="json")
    second = api_client().post("/api/v1/auth/token/", {"username": "ann", "password": "pw-for-tests-1"}, format="json")
    assert first.json()["token"] == second.json()["token"]


def test_wrong_credentials_are_a_validation_error_with_a_clear_message():
    UserFactory(username="ann")

    answer = api_client().post("/api/v1/auth/token/", {"username": "ann", "password": "nope"}, format="json")

    assert answer.status_code == 400
    assert answer.json() == {
        "code": "VALIDATION_ERROR",
        "message": "Unable to log in with provided credentials.",
        "fields": {"non_field_errors": ["Unable to log in with provided credentials."]},
    }


def test_a_token_request_without_fields_names_the_missing_fields():
    answer = api_client().post("/api/v1/auth/token/", {}, format="json")
    assert answer.status_code == 400
    assert set(answer.json()["fields"]) == {"username", "password"}


def test_password_guessing_is_locked_out_with_429_and_retry_after(settings):
    UserFactory(username="ann")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        api_client().post("/api/v1/auth/token/", {"username": "ann", "password": "guess"}, format="json")

    answer = api_client().post("/api/v1/auth/token/", {"username": "ann", "password": "guess"}, format="json")

    assert answer.status_code == 429
    assert _is_envelope(answer.json(), "LOGIN_LOCKED_OUT")
    assert int(answer.headers["Retry-After"]) > 0


# --- The envelope ---------------------------------------------------------------------------------


def test_no_credentials_is_401_not_authenticated_with_a_token_challenge():
    answer = api_client().get("/api/v1/contacts/")
    assert answer.status_code == 401
    assert _is_envelope(answer.json(), "NOT_AUTHENTICATED")
    assert answer.headers["WWW-Authenticate"] == "Token"


def test_a_bad_token_is_401_not_authenticated():
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    answer = client.get("/api/v1/contacts/")
    assert answer.status_code == 401
    assert _is_envelope(answer.json(), "NOT_AUTHENTICATED")


def test_a_session_post_without_csrf_token_is_403_permission_denied(rep):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(rep)
    answer = client.post("/api/v1/contacts/", {"email": "a@b.example"}, format="json")
    assert answer.status_code == 403
    assert _is_envelope(answer.json(), "PERMISSION_DENIED")


def test_an_unknown_api_path_is_a_json_404(rep):
    answer = api_client(rep).get("/api/v1/no-such-thing/")
    assert answer.status_code == 404
    assert answer["Content-Type"].startswith("application/json")
    assert _is_envelope(answer.json(), "NOT_FOUND")


def test_a_path_outside_the_api_gets_an_html_404_page(client):
    answer = client.get("/no-such-page/")
    assert answer.status_code == 404
    assert answer["Content-Type"].startswith("text/html")
    assert b"Page not found" in answer.content


@pytest.mark.parametrize("path", ["/api/v1/contacts/999999/", "/api/v1/contacts/abc/", "/api/v1/contacts/-1/",
                                  f"/api/v1/contacts/{10**30}/"])
def test_unknown_or_malformed_ids_are_404_not_found(rep, path):
    answer = api_client(rep).get(path)
    assert answer.status_code == 404
    assert _is_envelope(answer.json(), "NOT_FOUND")


def test_a_method_the_endpoint_lacks_is_405(rep):
    answer = api_client(rep).delete("/api/v1/users/me/")
    assert answer.status_code == 405
    assert _is_envelope(answer.json(), "METHOD_NOT_ALLOWED")


def test_malformed_json_is_a_validation_error(rep):
    answer = api_client(rep).post("/api/v1/contacts/", data='{"email": ', content_type="application/json")
    assert answer.status_code == 400
    body = answer.json()
    assert _is_envelope(body, "VALIDATION_ERROR")
    assert body["fields"] == {}


@pytest.mark.parametrize("body", ["[1, 2]", '"text"', "42", "null", "true"])
def test_a_json_body_that_is_not_an_object_is_a_validation_error(rep, body):
    answer = api_client(rep).post("/api/v1/contacts/", data=body, content_type="application/json")
    assert answer.status_code == 400
    assert _is_envelope(answer.json(), "VALIDATION_ERROR")


def test_an_unsupported_content_type_is_415(rep):
    answer = api_client(rep).post("/api/v1/contacts/", data="<x/>", content_type="application/xml")
    assert answer.status_code == 415
    assert _is_envelope(answer.json(), "UNSUPPORTED_MEDIA_TYPE")


def test_wrong_types_name_each_field(rep):
    answer = api_client(rep).post(
        "/api/v1/contacts/", {"email": 5, "company": "acme", "unsubscribed": "perhaps", "properties": []},
        format="json",
    )
    assert answer.status_code == 400
    assert set(answer.json()["fields"]) == {"email", "company", "unsubscribed", "properties"}


def test_a_crash_under_api_answers_a_json_500_envelope():
    request = RequestFactory().get("/api/v1/contacts/")
    answer = views.server_error(request)
    assert answer.status_code == 500
    assert answer["Content-Type"].startswith("application/json")
    assert b'"SERVER_ERROR"' in answer.content


def test_a_crash_outside_api_answers_an_html_500_page():
    answer = views.server_error(RequestFactory().get("/sequences/"))
    assert answer.status_code == 500
    assert answer["Content-Type"].startswith("text/html")
    assert answer.content.lstrip().lower().startswith(b"<!doctype html>")


def test_nested_errors_are_flattened_to_dotted_paths():
    detail = ValidationError({
        "seat": {"tier": ["Bad tier."], "non_field_errors": ["Bad seat."]},
        "filters": [{}, {"field": ["Unknown field."]}],
        "contacts": {0: ["Not a number."]},
        "non_field_errors": ["Whole thing wrong."],
    }).detail
    assert flatten_errors(detail) == {
        "seat.tier": ["Bad tier."],
        "seat": ["Bad seat."],
        "filters.1.field": ["Unknown field."],
        "contacts.0": ["Not a number."],
        "non_field_errors": ["Whole thing wrong."],
    }


def test_a_service_refusal_keeps_its_code_status_and_extra_keys():
    from config.api.errors import api_exception_handler
    from config.errors import Conflict

    answer = api_exception_handler(Conflict("INVALID_STATE", "Already finished.", state="finished"), {})
    assert answer.status_code == 409
    assert answer.data == {"code": "INVALID_STATE", "message": "Already finished.", "state": "finished"}


# --- Pagination -----------------------------------------------------------------------------------


def test_lists_are_paginated_with_count_next_previous_results(rep):
    ContactFactory.create_batch(5)

    body = api_client(rep).get("/api/v1/contacts/?page_size=2&page=2").json()

    assert body["count"] == 5
    assert "page=3" in body["next"]
    assert body["previous"].endswith("page_size=2")
    assert len(body["results"]) == 2


def test_page_size_is_capped_at_200(rep):
    ContactFactory.create_batch(205)
    body = api_client(rep).get("/api/v1/contacts/?page_size=1000").json()
    assert len(body["results"]) == 200


def test_the_default_page_is_50(rep):
    ContactFactory.create_batch(51)
    assert len(api_client(rep).get("/api/v1/contacts/").json()["results"]) == 50


def test_a_page_past_the_end_is_404(rep):
    answer = api_client(rep).get("/api/v1/contacts/?page=9")
    assert answer.status_code == 404
    assert _is_envelope(answer.json(), "NOT_FOUND")


# --- Schema and docs ------------------------------------------------------------------------------


def test_the_openapi_schema_describes_the_api(client):
    answer = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert answer.status_code == 200
    paths = answer.json()["paths"]
    for path in ("/api/v1/auth/token/", "/api/v1/users/me/", "/api/v1/contacts/import/",
                 "/api/v1/lists/{id}/members/", "/api/v1/mailboxes/{id}/verify/", "/api/v1/portal/"):
        assert path in paths


def test_the_docs_page_loads_swagger_ui_from_our_own_static_files(client):
    answer = client.get("/api/docs/")
    assert answer.status_code == 200
    html = answer.content.decode()
    assert "cdn.jsdelivr.net" not in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
