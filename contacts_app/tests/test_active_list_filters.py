"""Active lists select contacts by a saved filter, evaluated when read."""
from __future__ import annotations

import pytest

from contacts_app.filters import FilterError, filters_validate
from contacts_app.models import ContactList, ListMembership
from contacts_app.selectors import list_members
from tests.factories import CompanyFactory, ContactFactory, ContactListFactory, UserFactory

pytestmark = pytest.mark.django_db


def _active(*filters: dict) -> set[str]:
    contact_list = ContactListFactory(kind=ContactList.Kind.ACTIVE, filters=list(filters))
    return set(list_members(contact_list=contact_list).values_list("email", flat=True))


@pytest.fixture
def people():
    acme = CompanyFactory(name="Acme Oy", domain="acme.example")
    owner = UserFactory()
    ContactFactory(email="lead@acme.example", lifecycle_stage="lead", company=acme, owner=owner,
                   properties={"industry": "Software", "employees": 42, "vip": True})
    ContactFactory(email="customer@acme.example", lifecycle_stage="customer", company=acme,
                   properties={"industry": "Retail", "employees": "7"})
    ContactFactory(email="nobody@else.example", lifecycle_stage="", properties={"industry": ""})
    ContactFactory(email="", first_name="No", last_name="Email", lifecycle_stage="lead", properties={})
    return owner


def test_eq_matches_case_insensitively(people):
    assert _active({"field": "lifecycle_stage", "operator": "eq", "value": "LEAD"}) == {"lead@acme.example", ""}


def test_neq_includes_contacts_without_a_value(people):
    assert _active({"field": "lifecycle_stage", "operator": "neq", "value": "lead"}) == {
        "customer@acme.example", "nobody@else.example"}


def test_contains_searches_inside_text(people):
    assert _active({"field": "email", "operator": "contains", "value": "ACME"}) == {
        "lead@acme.example", "customer@acme.example"}


def test_in_matches_any_of_several_values(people):
    assert _active({"field": "lifecycle_stage", "operator": "in", "value": ["customer", "opportunity"]}) == {
        "customer@acme.example"}


def test_is_set_and_is_not_set_on_a_column(people):
    assert _active({"field": "lifecycle_stage", "operator": "is_set"}) == {
        "lead@acme.example", "customer@acme.example", ""}
    assert _active({"field": "lifecycle_stage", "operator": "is_not_set"}) == {"nobody@else.example"}


def test_property_operators(people):
    assert _active({"field": "properties.industry", "operator": "eq", "value": "software"}) == {"lead@acme.example"}
    assert _active({"field": "properties.industry", "operator": "neq", "value": "software"}) == {
        "customer@acme.example", "nobody@else.example", ""}
    assert _active({"field": "properties.industry", "operator": "contains", "value": "tai"}) == {
        "customer@acme.example"}
    assert _active({"field": "properties.industry", "operator": "in", "value": ["Retail", "Software"]}) == {
        "lead@acme.example", "customer@acme.example"}
    assert _active({"field": "properties.industry", "operator": "is_set"}) == {
        "lead@acme.example", "customer@acme.example"}
    assert _active({"field": "properties.industry", "operator": "is_not_set"}) == {"nobody@else.example", ""}


def test_numbers_match_whether_stored_as_numbers_or_text(people):
    assert _active({"field": "properties.employees", "operator": "eq", "value": "42"}) == {"lead@acme.example"}
    assert _active({"field": "properties.employees", "operator": "eq", "value": 7}) == {"customer@acme.example"}


def test_a_boolean_property(people):
    assert _active({"field": "properties.vip", "operator": "eq", "value": True}) == {"lead@acme.example"}


def test_company_and_owner_fields(people):
    assert _active({"field": "company.domain", "operator": "eq", "value": "acme.example"}) == {
        "lead@acme.example", "customer@acme.example"}
    assert _active({"field": "owner", "operator": "eq", "value": people.pk}) == {"lead@acme.example"}
    assert _active({"field": "owner", "operator": "is_not_set"}) == {
        "customer@acme.example", "nobody@else.example", ""}


def test_filters_are_combined_with_and(people):
    assert _active(
        {"field": "lifecycle_stage", "operator": "eq", "value": "lead"},
        {"field": "email", "operator": "is_set"},
    ) == {"lead@acme.example"}


def test_an_active_list_follows_changes_to_contacts(people):
    contact_list = ContactListFactory(
        kind=ContactList.Kind.ACTIVE, filters=[{"field": "lifecycle_stage", "operator": "eq", "value": "customer"}]
    )
    assert list_members(contact_list=contact_list).count() == 1
    ContactFactory(email="new@customer.example", lifecycle_stage="customer")
    assert list_members(contact_list=contact_list).count() == 2


def test_a_static_list_holds_exactly_its_members(people):
    contact_list = ContactListFactory(kind=ContactList.Kind.STATIC)
    member = ContactFactory(email="member@x.example")
    ListMembership.objects.create(contact_list=contact_list, contact=member)
    assert list(list_members(contact_list=contact_list)) == [member]


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ("lead", "must be a list"),
        ([{"field": "password", "operator": "eq", "value": "x"}], "unknown field"),
        ([{"field": "properties.a b", "operator": "eq", "value": "x"}], "unknown field"),
        ([{"field": "email", "operator": "like", "value": "x"}], "operator must be"),
        ([{"field": "email", "operator": "in", "value": "x"}], "needs a list"),
        ([{"field": "email", "operator": "eq"}], "needs a value"),
        ([{"field": "email", "operator": "contains", "value": 3}], "text value"),
    ],
)
def test_bad_filters_are_refused_with_a_clear_message(filters, message):
    with pytest.raises(FilterError, match=message):
        filters_validate(filters)
