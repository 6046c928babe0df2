"""Finding a contact by email goes through the unique LOWER(email) index, in any case."""

from __future__ import annotations

import pytest
from django.db import connection

from config.errors import ValidationFailed
from contacts_app.selectors import contacts_filtered, contacts_with_email
from contacts_app.services import contact_create
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def test_an_address_in_any_case_finds_its_contact_and_blank_finds_none():
    ann = ContactFactory(email="ann@acme.example")
    ContactFactory(email="")
    assert list(contacts_with_email("  Ann@ACME.example ")) == [ann]
    assert list(contacts_with_email("")) == []
    assert list(contacts_filtered(email="ANN@acme.example")) == [ann]


def test_a_second_contact_with_the_same_address_in_another_case_is_refused():
    first = contact_create(email="ann@acme.example")
    with pytest.raises(ValidationFailed) as refused:
        contact_create(email="ANN@Acme.Example")
    assert refused.value.extra["fields"]["email"] == [f"Contact {first.pk} already has this email address."]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the query plan is PostgreSQL's")
def test_the_lookup_uses_the_unique_lower_email_index():
    ContactFactory.create_batch(3)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = contacts_with_email("ann@acme.example").query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "contact_email_unique" in plan, plan
