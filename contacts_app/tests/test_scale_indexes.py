"""Each index added for a portal of a million contacts serves its consumer (PostgreSQL's plans).

Consumers, as the migration names them: the contacts search (trigram GIN
indexes on first name, last name and email), every list of contacts newest
first (`contact_created_idx`), active-list filters on the lifecycle stage
(`contact_stage_upper_idx`).
"""
from __future__ import annotations

import pytest
from django.db import connection

from contacts_app.models import ContactList
from contacts_app.selectors import contacts_filtered, list_members
from tests.factories import ContactFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the query plans are PostgreSQL's"),
]


def _plan(queryset) -> str:
    with connection.cursor() as cursor:
        # A test table is tiny: a sequential scan would always win, so take it off the menu.
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = queryset.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.fixture
def contacts():
    ContactFactory(first_name="Ann", last_name="Korkoski", email="ann@acme.example", lifecycle_stage="lead")
    # Fixed names: a generated one can contain "ann" ("Joanna") and match the search too.
    for n, (first, last) in enumerate([("Bo", "Costa"), ("Eero", "Lind"), ("Sini", "Puro")]):
        ContactFactory(first_name=first, last_name=last, email=f"other{n}@elsewhere.example")


@pytest.mark.parametrize("word", ["korkoski", "Ann", "acme.example"])
def test_the_contacts_search_goes_through_the_trigram_indexes(contacts, word):
    plan = _plan(contacts_filtered(search=word).order_by())
    for index in ("contact_first_name_trgm", "contact_last_name_trgm", "contact_email_trgm"):
        assert index in plan, plan
    assert [c.last_name for c in contacts_filtered(search=word)] == ["Korkoski"]


def test_the_contacts_index_reads_the_newest_first_from_contact_created_idx(contacts):
    plan = _plan(contacts_filtered()[:51])
    assert "contact_created_idx" in plan, plan
    assert "Sort" not in plan.split("contact_created_idx")[0], plan


def test_an_active_list_on_the_lifecycle_stage_goes_through_contact_stage_upper_idx(contacts):
    leads = ContactList(kind=ContactList.Kind.ACTIVE,
                        filters=[{"field": "lifecycle_stage", "operator": "in", "value": ["Lead", "customer"]}])
    plan = _plan(list_members(contact_list=leads).order_by())
    assert "contact_stage_upper_idx" in plan, plan
    assert [c.last_name for c in list_members(contact_list=leads)] == ["Korkoski"]
