"""Workflow filters and active lists agree, because both are the list filter language run by the database."""
from __future__ import annotations

import pytest

from contacts_app.filters import filters_validate
from contacts_app.models import ContactList
from contacts_app.selectors import list_members
from tests.factories import CompanyFactory, ContactFactory
from workflows_app.matching import contacts_matching

pytestmark = pytest.mark.django_db

FILTERS = [
    [{"field": "lifecycle_stage", "operator": "eq", "value": "LEAD"}],
    [{"field": "lifecycle_stage", "operator": "neq", "value": "lead"}],
    [{"field": "job_title", "operator": "contains", "value": "chief"}],
    [{"field": "company.name", "operator": "eq", "value": "acme"}],
    [{"field": "company.domain", "operator": "is_not_set", "value": None}],
    [{"field": "properties.score", "operator": "eq", "value": "42"}],
    [{"field": "properties.score", "operator": "in", "value": [7, "42"]}],
    [{"field": "properties.city", "operator": "is_set", "value": None}],
    [{"field": "email_bounced", "operator": "eq", "value": "true"}],
    [{"field": "email_bounced", "operator": "is_set", "value": None}],  # always true: an empty Q
    [{"field": "owner", "operator": "is_not_set", "value": None},
     {"field": "unsubscribed", "operator": "neq", "value": True}],
]


def test_contacts_matching_agrees_with_active_list_membership(django_assert_num_queries):
    acme = CompanyFactory(name="Acme", domain="")
    contacts = [
        ContactFactory(lifecycle_stage="lead", job_title="Chief of staff", company=acme, properties={"score": 42}),
        ContactFactory(lifecycle_stage="customer", properties={"score": "42", "city": "Oulu"}),
        ContactFactory(lifecycle_stage="", email_bounced=True, properties={"score": 7, "city": ""}),
        ContactFactory(lifecycle_stage="lead", unsubscribed=True, company=CompanyFactory(name="Other")),
    ]
    predicates = {f"p{index}": filters_validate(item) for index, item in enumerate(FILTERS)}
    with django_assert_num_queries(1):
        matching = contacts_matching([c.pk for c in contacts] + [999_999], predicates)
    assert set(matching) == {c.pk for c in contacts}  # a contact that doesn't exist is left out
    for key, filters in predicates.items():
        members = set(list_members(contact_list=ContactList(kind="active", filters=filters)).values_list("pk",
                                                                                                       flat=True))
        assert {pk for pk, keys in matching.items() if key in keys} == members, filters
