"""No request, however malformed, gets a 500: garbage posted, patched and queried at every endpoint.

Runs as an admin so permission checks pass and the garbage reaches the
parsers, serializers and services. Every answer must be below 500 and, when
it is an error, carry the envelope's `code` and `message`.
"""
from __future__ import annotations

import pytest

from contacts_app.models import BlockedEntry, ContactList, ObjectSchema
from tests.factories import (
    CompanyFactory,
    ContactFactory,
    ContactListFactory,
    CustomObjectFactory,
    DealFactory,
    MailboxFactory,
    TeamFactory,
    TicketFactory,
)
from tests.fixtures_api import api_client

pytestmark = pytest.mark.django_db

COLLECTIONS = [
    "auth/token/", "users/", "teams/", "contacts/", "companies/", "deals/", "tickets/", "object-schemas/",
    "objects/thing/", "blocklist/", "lists/", "lists/{list}/members/", "mailboxes/", "contacts/import/",
]
RECORDS = [
    "users/{user}/", "teams/{team}/", "portal/", "contacts/{contact}/", "companies/{company}/", "deals/{deal}/",
    "tickets/{ticket}/", "object-schemas/{schema}/", "objects/thing/{record}/", "blocklist/{blocked}/",
    "lists/{list}/", "mailboxes/{mailbox}/",
]
FIELDS = [
    "username", "email", "password", "first_name", "last_name", "is_staff", "is_active", "seat", "can_bulk_enroll",
    "teams", "members", "name", "time_zone", "holiday_country", "send_limits", "out_of_office_default_days",
    "job_title", "phone", "company", "owner", "lifecycle_stage", "properties", "email_bounced", "bounce_reason",
    "unsubscribed", "unsubscribed_sales", "marked_spam", "domain", "contacts", "amount", "stage", "subject",
    "status", "label", "value", "kind", "filters", "is_primary", "smtp_host", "smtp_port", "smtp_security",
    "smtp_username", "smtp_password", "imap_host", "imap_port", "imap_security", "imap_username", "imap_password",
    "daily_limit", "minute_limit", "signature_html", "file",
]
JUNK_VALUES = {
    "object": {"a": {"b": {"c": [1, {"d": None}]}}},
    "list": [[], {}, None, "x"],
    "huge_text": "x" * 20_000,
    "huge_number": 10**40,
    "negative": -(2**63) - 5,
    "float": 1.5e308,
    "true": True,
    "null": None,
    "nul_char": "a\u0000b",
    "operator": {"$gt": ""},
    "many_ids": list(range(1, 2_002)),
    "seat_like": {"hub": [], "tier": {}},
    "filter_like": [{"field": {"x": 1}, "operator": ["eq"], "value": {"y": 2}}],
    "properties_like": {"a\u0000": "\u0000", "nested": {"deep": [1]}, "": 1},
    "unicode": "ÅÄÖ 🐙 \u202e",
}
RAW_BODIES = {
    "list": "[1, 2, 3]",
    "string": '"just text"',
    "number": "12",
    "null": "null",
    "truncated": '{"email": "a@b.c", ',
    "nan": '{"amount": NaN, "value": Infinity}',
    "deep": "[" * 5000 + "]" * 5000,
    "not_utf8": b"\xff\xfe{\x00}".decode("latin-1"),
}


@pytest.fixture
def world(admin_user):
    schema = ObjectSchema.objects.create(name="thing", label="Thing", properties=[
        {"name": "title", "type": "string"}, {"name": "size", "type": "number"},
        {"name": "when", "type": "datetime"}, {"name": "kind", "type": "enumeration", "options": ["a", "b"]},
    ])
    return {
        "user": admin_user.pk,
        "team": TeamFactory().pk,
        "contact": ContactFactory().pk,
        "company": CompanyFactory().pk,
        "deal": DealFactory().pk,
        "ticket": TicketFactory().pk,
        "schema": schema.pk,
        "record": CustomObjectFactory(schema=schema).pk,
        "blocked": BlockedEntry.objects.create(value="blocked.example").pk,
        "list": ContactListFactory(kind=ContactList.Kind.STATIC).pk,
        "mailbox": MailboxFactory(owner=admin_user).pk,
    }


def _check(answer, context: str = "") -> None:
    assert answer.status_code < 500, f"{context}: {answer.content[:500]!r}"
    if answer.status_code >= 400:
        body = answer.json()
        assert isinstance(body.get("code"), str)
        assert body["code"].isupper()
        assert isinstance(body.get("message"), str)
        assert body["message"]


# One test per endpoint, looping over the junk: the world is built once per endpoint.
@pytest.mark.parametrize("path", COLLECTIONS + RECORDS)
def test_junk_in_every_field_is_refused_without_a_500(admin_user, world, path):
    client = api_client(admin_user)
    url = "/api/v1/" + path.format(**world)
    method = "post" if path in COLLECTIONS else "patch"
    for junk, value in JUNK_VALUES.items():
        payload = dict.fromkeys(FIELDS, value)
        _check(getattr(client, method)(url, payload, format="json"), f"{method} {junk}")
        if path in RECORDS:
            _check(client.put(url, payload, format="json"), f"put {junk}")
        if path == "lists/{list}/members/":
            _check(client.delete(url, payload, format="json"), f"delete {junk}")


@pytest.mark.parametrize("path", COLLECTIONS + RECORDS)
def test_bodies_that_are_not_a_json_object_are_refused_without_a_500(admin_user, world, path):
    client = api_client(admin_user)
    method = "post" if path in COLLECTIONS else "patch"
    for name, body in RAW_BODIES.items():
        answer = getattr(client, method)("/api/v1/" + path.format(**world), body, content_type="application/json")
        _check(answer, name)
        assert answer.status_code in (400, 401, 403, 404, 415), name


QUERIES = [
    "page=abc", "page=0", "page=-1", f"page={10**30}", "page_size=-5", "page_size=abc", f"page_size={10**30}",
    "company=[]", "owner=null", f"company={10**30}", "email=%00", "search=%00", "search=" + "x" * 5000,
    "search=%25%5F%5C", "email=" + "a" * 10_000,
]


@pytest.mark.parametrize("path", [p for p in COLLECTIONS if p not in ("auth/token/", "contacts/import/")])
def test_junk_query_parameters_are_refused_without_a_500(admin_user, world, path):
    client = api_client(admin_user)
    for query in QUERIES:
        _check(client.get(f"/api/v1/{path.format(**world)}?{query}"), query)


@pytest.mark.parametrize("path", [p for p in RECORDS if "{" in p])
def test_junk_ids_are_404_without_a_500(admin_user, world, path):
    client = api_client(admin_user)
    for record_id in ["0", "-1", "abc", str(10**30), "1.5", "%00", "9223372036854775808"]:
        url = "/api/v1/" + path.split("{")[0] + record_id + "/"
        for method in ("get", "patch", "delete"):
            answer = getattr(client, method)(url, {}, format="json")
            _check(answer, f"{method} {url}")
            assert answer.status_code == 404, f"{method} {url}"


def test_a_huge_json_body_is_refused_without_a_500(admin_user):
    body = '{"email": "' + "x" * 3_000_000 + '"}'
    _check(api_client(admin_user).post("/api/v1/contacts/", body, content_type="application/json"))


def test_a_form_encoded_body_is_handled_without_a_500(admin_user, world):
    client = api_client(admin_user)
    _check(client.post("/api/v1/contacts/", {"email": "form@example.com", "properties": "{}"}))
    _check(client.post("/api/v1/lists/", {"name": "Form", "kind": "active", "filters": "nonsense"}))
