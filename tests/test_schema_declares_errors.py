"""The OpenAPI schema says what every operation may answer: the error envelope for 400/401/403/404/409/429,
and, on /users/, only the fields everyone receives as required (a rep reading a colleague gets no seat)."""
from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests.factories import SeatFactory, UserFactory
from tests.fixtures_api import api_client

ERRORS = ("400", "401", "403", "404", "409", "429")


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def test_every_operation_declares_the_error_responses_with_the_envelope(schema):
    missing = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                for status in ERRORS:
                    content = operation["responses"].get(status, {}).get("content", {})
                    if content.get("application/json", {}).get("schema") != {"$ref": "#/components/schemas/Error"}:
                        missing.append(f"{method.upper()} {path} {status}")
    assert missing == []
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["code", "message"]
    assert set(error["properties"]) >= {"code", "message", "fields"}


def test_the_user_schema_requires_only_what_a_non_admin_receives(schema):
    assert set(schema["components"]["schemas"]["User"]["required"]) <= {"id", "username"}


@pytest.mark.django_db
def test_a_rep_reading_a_colleague_gets_no_seat_and_no_limit_as_the_schema_allows(rep):
    colleague = UserFactory()
    SeatFactory(user=colleague)
    body = api_client(rep).get(f"/api/v1/users/{colleague.pk}/").json()
    assert "seat" not in body
    assert "daily_send_limit" not in body


@pytest.mark.django_db
def test_an_error_answer_matches_the_declared_envelope():
    body = api_client().get("/api/v1/contacts/").json()
    assert set(body) <= {"code", "message", "fields", "retry_after"}
    assert {"code", "message"} <= set(body)
