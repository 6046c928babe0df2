"""`/api/v1/lists/`: static lists edited by hand, active lists by filters; members paginated; sizes cheap."""
from __future__ import annotations

import pytest

from contacts_app.models import ContactList, ListMembership
from contacts_app.selectors import list_sizes
from tests.factories import CompanyFactory, ContactFactory, ContactListFactory

pytestmark = pytest.mark.django_db

LEADS = [{"field": "lifecycle_stage", "operator": "eq", "value": "lead"}]


def _static(*contacts):
    contact_list = ContactListFactory(kind=ContactList.Kind.STATIC)
    ListMembership.objects.bulk_create(ListMembership(contact_list=contact_list, contact=c) for c in contacts)
    return contact_list


def test_a_rep_creates_an_active_list_and_sees_its_size(api, rep):
    ContactFactory.create_batch(3, lifecycle_stage="lead")
    ContactFactory(lifecycle_stage="customer")

    answer = api.post("/api/v1/lists/", {"name": "Leads", "kind": "active", "filters": LEADS}, format="json")

    assert answer.status_code == 201
    body = answer.json()
    assert {key: body[key] for key in ("name", "kind", "filters", "size", "created_by")} == {
        "name": "Leads", "kind": "active", "filters": [{"field": "lifecycle_stage", "operator": "eq", "value": "lead"}],
        "size": 3, "created_by": rep.pk,
    }


def test_a_static_list_starts_empty(api):
    answer = api.post("/api/v1/lists/", {"name": "Booth visitors", "kind": "static"}, format="json")
    assert (answer.status_code, answer.json()["size"], answer.json()["filters"]) == (201, 0, [])


@pytest.mark.parametrize("filters", [
    [{"field": "shoe_size", "operator": "eq", "value": "42"}],
    [{"field": "email", "operator": "like", "value": "x"}],
    [{"field": "email", "operator": "in", "value": []}],
    [{"field": "unsubscribed", "operator": "contains", "value": "x"}],
    [{"field": "unsubscribed", "operator": "eq", "value": "perhaps"}],
    [{"field": "owner", "operator": "eq", "value": "bob"}],
    [{"field": "properties.bad name", "operator": "is_set"}],
    ["lifecycle_stage = lead"],
    {"field": "email"},
    [],
])
def test_bad_filters_are_a_validation_error_on_filters(api, filters):
    answer = api.post("/api/v1/lists/", {"name": "X", "kind": "active", "filters": filters}, format="json")
    assert answer.status_code == 400
    assert answer.json()["code"] == "VALIDATION_ERROR"
    assert list(answer.json()["fields"]) == ["filters"]
    assert not ContactList.objects.exists()


def test_a_static_list_takes_no_filters(api):
    answer = api.post("/api/v1/lists/", {"name": "X", "kind": "static", "filters": LEADS}, format="json")
    assert answer.status_code == 400
    assert "filters" in answer.json()["fields"]


def test_a_lists_kind_cannot_change(api):
    contact_list = ContactListFactory(kind="static")
    answer = api.patch(f"/api/v1/lists/{contact_list.pk}/", {"kind": "active", "filters": LEADS}, format="json")
    assert answer.status_code == 400
    assert "kind" in answer.json()["fields"]


def test_an_active_lists_filters_can_change(api):
    contact_list = ContactListFactory(kind="active", filters=LEADS)
    ContactFactory(lifecycle_stage="customer")
    answer = api.patch(f"/api/v1/lists/{contact_list.pk}/", {
        "filters": [{"field": "lifecycle_stage", "operator": "eq", "value": "customer"}]}, format="json")
    assert answer.json()["size"] == 1


def test_members_of_an_active_list_are_evaluated_when_read(api):
    acme = CompanyFactory(name="Acme")
    ContactFactory(email="in@acme.example", company=acme)
    ContactFactory(email="out@else.example")
    contact_list = ContactListFactory(kind="active",
                                      filters=[{"field": "company.name", "operator": "eq", "value": "acme"}])

    first = api.get(f"/api/v1/lists/{contact_list.pk}/members/").json()
    ContactFactory(email="new@acme.example", company=acme)
    second = api.get(f"/api/v1/lists/{contact_list.pk}/members/").json()

    assert [row["email"] for row in first["results"]] == ["in@acme.example"]
    assert second["count"] == 2
    assert set(second["results"][0]) >= {"id", "email", "company", "properties"}


def test_contacts_are_added_to_and_removed_from_a_static_list(api):
    contact_list = ContactListFactory(kind="static")
    ann, bob, cid = ContactFactory(), ContactFactory(), ContactFactory()

    added = api.post(f"/api/v1/lists/{contact_list.pk}/members/", {"contacts": [ann.pk, bob.pk, ann.pk]},
                     format="json")
    again = api.post(f"/api/v1/lists/{contact_list.pk}/members/", {"contacts": [bob.pk, cid.pk]}, format="json")
    removed = api.delete(f"/api/v1/lists/{contact_list.pk}/members/", {"contacts": [ann.pk]}, format="json")

    assert added.json() == {"changed": 2, "size": 2, "size_capped": False}
    assert again.json() == {"changed": 1, "size": 3, "size_capped": False}
    assert removed.json() == {"changed": 1, "size": 2, "size_capped": False}
    members = api.get(f"/api/v1/lists/{contact_list.pk}/members/").json()
    assert {row["id"] for row in members["results"]} == {bob.pk, cid.pk}


def test_an_active_list_refuses_hand_edits_with_409(api):
    contact_list = ContactListFactory(kind="active", filters=LEADS)
    contact = ContactFactory()
    for method in ("post", "delete"):
        answer = getattr(api, method)(f"/api/v1/lists/{contact_list.pk}/members/", {"contacts": [contact.pk]},
                                      format="json")
        assert answer.status_code == 409
        assert answer.json()["code"] == "LIST_NOT_STATIC"


@pytest.mark.parametrize("body", [
    {"contacts": [424242]},
    {"contacts": []},
    {"contacts": "1,2"},
    {"contacts": [{"id": 1}]},
    {"contacts": list(range(1, 1002))},
    {},
])
def test_bad_member_payloads_are_validation_errors(api, body):
    contact_list = ContactListFactory(kind="static")
    answer = api.post(f"/api/v1/lists/{contact_list.pk}/members/", body, format="json")
    assert answer.status_code == 400
    assert "contacts" in "".join(answer.json()["fields"])
    assert not ListMembership.objects.exists()


def test_sizes_of_every_kind_are_counted_in_one_query(django_assert_max_num_queries):
    contacts = ContactFactory.create_batch(4, lifecycle_stage="lead")
    ContactFactory(unsubscribed=True)
    lists = [
        _static(*contacts[:2]),
        _static(),
        ContactListFactory(kind="active", filters=LEADS),
        # An always-true and an always-false condition must count like any other.
        ContactListFactory(kind="active", filters=[{"field": "unsubscribed", "operator": "is_set"}]),
        ContactListFactory(kind="active", filters=[{"field": "unsubscribed", "operator": "is_not_set"}]),
        ContactListFactory(kind="active", filters=[{"field": "company.name", "operator": "is_not_set"}]),
    ]
    with django_assert_max_num_queries(1):
        sizes = list_sizes(lists)
    assert [sizes[c.pk] for c in lists] == [2, 0, 4, 5, 0, 5]


def test_the_lists_index_does_not_grow_in_queries_with_lists(api, django_assert_max_num_queries):
    ContactFactory.create_batch(5, lifecycle_stage="lead")
    for _ in range(20):
        _static(*ContactFactory.create_batch(2))
        ContactListFactory(kind="active", filters=LEADS)
    with django_assert_max_num_queries(4):
        body = api.get("/api/v1/lists/").json()
    assert body["count"] == 40


def test_a_page_of_members_costs_three_queries(api, django_assert_max_num_queries):
    contact_list = _static(*ContactFactory.create_batch(60))
    with django_assert_max_num_queries(3):
        body = api.get(f"/api/v1/lists/{contact_list.pk}/members/").json()
    assert (body["count"], len(body["results"])) == (60, 50)


def test_deleting_a_list_keeps_its_contacts(api):
    contact = ContactFactory()
    contact_list = _static(contact)
    assert api.delete(f"/api/v1/lists/{contact_list.pk}/").status_code == 204
    contact.refresh_from_db()
