"""Property: no request, however malformed, gets a 500 — arbitrary JSON at every write endpoint of the API and
arbitrary form and query values at every page, as a rep and as an admin (Hypothesis, hypothesis.extra.django).

The endpoints are read from the live URL configuration (pages) and the OpenAPI schema (API), so a new one is
covered without touching this file. Values lean toward what broke before: huge and non-ASCII numbers, dates
at the ends of the calendar, empty and very long strings, wrong types, nested junk. Examples are bounded
(PAGE_EXAMPLES, API_EXAMPLES) so the run takes about a minute; each test prints how many it ran.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase
from rest_framework.test import APIClient

from accounts_app.models import PortalSettings
from tests.factories import (
    CompanyFactory,
    ContactFactory,
    ContactListFactory,
    CustomObjectFactory,
    DealFactory,
    EnrollmentFactory,
    MailboxFactory,
    ObjectSchemaFactory,
    SeatFactory,
    SequenceFactory,
    SequenceStepFactory,
    TaskFactory,
    TeamFactory,
    TicketFactory,
    UserFactory,
)

PAGE_EXAMPLES = 300
API_EXAMPLES = 400
ROOT = Path(__file__).resolve().parent.parent
# Page routes that are not Nudge's forms (Django's admin has its own tests; the schema and docs are read-only).
SKIP_PAGES = ("admin/", "api/", "static/", "media/", "logout/")
WRITE_METHODS = ("post", "put", "patch", "delete")

# What broke before, and its neighbours.
NASTY_TEXT = st.sampled_from([
    "", " ", "0", "-1", "1", "²", "٣", "1e9", "NaN", "99999999999999999999999", "9223372036854775808",
    "9999-12-31", "0001-01-01", "9999-12-31T23:00:00", "0001-01-01T00:00:00", "0001-01-01T00:00", "23:59",
    "24:00", "2026-02-30", "Europe/Helsinki", "Mars/Olympus", "null", "true", "[]", "{}", "x" * 5000,
    "<script>alert(1)</script>", "{{ settings.SECRET_KEY }}", "a@b", "\x00", "later", "now", "all", "on",
])
TEXT = st.one_of(NASTY_TEXT, st.text(max_size=40))
SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), TEXT,
)
JSON = st.recursive(SCALAR, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
                    max_leaves=12)


def _form_field_names() -> list[str]:
    """Every `name="..."` a template's form has, plus the query parameters pages read."""
    names = set()
    for template in (ROOT / "templates").rglob("*.html"):
        names.update(re.findall(r'\bname="([a-z_][\w.-]*)"', template.read_text()))
    return sorted(names | {"owner", "page", "q", "stage", "sequence", "status", "due", "tab", "send_date",
                           "send_time", "starts_at", "focus", "only", "contacts", "source"})


FORM_NAMES = _form_field_names()
FORM = st.dictionaries(st.sampled_from(FORM_NAMES), st.one_of(TEXT, st.lists(TEXT, max_size=3)), max_size=8)


def _page_routes() -> list[str]:
    routes = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                routes.append(prefix + str(pattern.pattern))

    walk(get_resolver().url_patterns, "")
    return sorted({route for route in routes if not route.startswith(SKIP_PAGES) and "(?P" not in route})


def _api_operations() -> list[tuple[str, str, list[str]]]:
    """(method, path, the request body's property names) for every write operation in the OpenAPI schema."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    operations = []
    for path, item in schema["paths"].items():
        for method in WRITE_METHODS:
            if method not in item:
                continue
            body = item[method].get("requestBody", {}).get("content", {})
            ref = next((c["schema"].get("$ref", "") for c in body.values() if "schema" in c), "")
            names = list(components.get(ref.rsplit("/", 1)[-1], {}).get("properties", {})) if ref else []
            operations.append((method, path, names))
    return operations


class _Seeded(TestCase):
    """One of everything a path can name, owned by the rep (and the admin's own), so ids in paths exist."""

    @classmethod
    def setUpTestData(cls) -> None:
        PortalSettings.objects.update_or_create(pk=1, defaults={"time_zone": "Europe/Helsinki"})
        cls.rep = UserFactory(can_bulk_enroll=True)
        SeatFactory(user=cls.rep)
        cls.admin = UserFactory(is_staff=True, is_superuser=True)
        SeatFactory(user=cls.admin, tier="enterprise")
        mailbox = MailboxFactory(owner=cls.rep)
        company = CompanyFactory()
        contact = ContactFactory(company=company, owner=cls.rep)
        sequence = SequenceFactory(owner=cls.rep, visibility="everyone")
        SequenceStepFactory(sequence=sequence, order=1)
        SequenceStepFactory(sequence=sequence, order=2, delay_days=2)
        enrollment = EnrollmentFactory(sequence=sequence, contact=ContactFactory(owner=cls.rep), sender=cls.rep)
        schema = ObjectSchemaFactory()
        objects = [
            mailbox, company, contact, sequence, enrollment, schema, CustomObjectFactory(schema=schema),
            DealFactory(company=company), TicketFactory(), ContactListFactory(created_by=cls.rep),
            TaskFactory(owner=cls.rep, contact=contact), TeamFactory(), cls.rep, cls.admin,
        ]
        cls.ids = sorted({obj.pk for obj in objects})
        cls.schema_name = schema.name
        cls.examples = 0

    def _fill(self, route: str, data: st.DataObject) -> str:
        """A concrete path for `route`: ids of seeded rows (or junk), a known action, the schema's name."""
        ids = st.sampled_from([*self.ids, 0, 99999999999999999999]).map(str)

        def value(kind: str, name: str) -> str:
            if name in ("schema", "schema_name"):
                return data.draw(st.sampled_from([self.schema_name, "nope"]))
            if kind == "int" or name in ("id", "pk"):
                return data.draw(ids)
            if name == "action":
                return data.draw(st.sampled_from(["verify", "primary", "delete", "pause", "resume", "unenroll",
                                                  "complete", "x"]))
            return data.draw(st.sampled_from(["abc", "00000000-0000-0000-0000-000000000000", "x" * 300]))

        path = re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: value(m.group(1) or "str", m.group(2)), route)
        return "/" + re.sub(r"\{(\w+)\}", lambda m: value("str", m.group(1)), path).lstrip("/")


class TestPagesNeverAnswer5xx(_Seeded):
    routes = _page_routes()

    @settings(max_examples=PAGE_EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=st.data())
    def test_no_form_or_query_value_makes_a_page_answer_5xx(self, data: st.DataObject) -> None:
        route = data.draw(st.sampled_from(self.routes), label="route")
        path = self._fill(route, data)
        self.client.force_login(data.draw(st.sampled_from([self.rep, self.admin]), label="user"))
        values = data.draw(FORM, label="values")
        if data.draw(st.booleans(), label="post"):
            answer = self.client.post(path, values, HTTP_HX_REQUEST=data.draw(st.sampled_from(["true", ""])))
        else:
            answer = self.client.get(path, values)
        type(self).examples += 1
        assert answer.status_code < 500, (path, values, answer.status_code)

    @classmethod
    def tearDownClass(cls) -> None:
        print(f"\npages: {cls.examples} examples over {len(cls.routes)} routes")
        super().tearDownClass()


class TestApiNeverAnswers5xx(_Seeded):
    operations = _api_operations()

    @settings(max_examples=API_EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=st.data())
    def test_no_json_body_makes_a_write_endpoint_answer_5xx(self, data: st.DataObject) -> None:
        method, route, names = data.draw(st.sampled_from(self.operations), label="operation")
        path = self._fill(route, data)
        # The operation's own fields with arbitrary values, strange keys, or no object at all.
        keys = st.sampled_from(names) if names else TEXT
        body = data.draw(st.one_of(st.dictionaries(keys, JSON, max_size=6), JSON), label="body")
        client = APIClient()
        client.force_authenticate(data.draw(st.sampled_from([self.rep, self.admin]), label="user"))
        raw = json.dumps(body)  # NaN and Infinity come out as bare words: not JSON, sent all the same
        answer = getattr(client, method)(path, raw, content_type="application/json")
        type(self).examples += 1
        assert answer.status_code < 500, (method, path, body, answer.status_code)

    @classmethod
    def tearDownClass(cls) -> None:
        print(f"\napi: {cls.examples} examples over {len(cls.operations)} write operations")
        super().tearDownClass()
