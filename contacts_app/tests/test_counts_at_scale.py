"""Counts that don't scan: list sizes and the API's `count` are exact up to a cap and say so beyond it."""
from __future__ import annotations

import pytest

from contacts_app.models import ContactList, ListMembership
from contacts_app.selectors import list_sizes
from tests.factories import ContactFactory, ContactListFactory

pytestmark = pytest.mark.django_db

LEADS = [{"field": "lifecycle_stage", "operator": "eq", "value": "lead"}]


@pytest.fixture
def cap_of_three(monkeypatch):
    monkeypatch.setattr("contacts_app.selectors.COUNT_CAP", 3)
    monkeypatch.setattr("config.api.pagination.COUNT_CAP", 3)
    monkeypatch.setattr("config.paging.COUNT_CAP", 3)


def test_a_list_larger_than_the_cap_is_the_cap_and_says_so(cap_of_three):
    contacts = ContactFactory.create_batch(5, lifecycle_stage="lead")
    static = ContactListFactory(kind=ContactList.Kind.STATIC)
    ListMembership.objects.bulk_create(ListMembership(contact_list=static, contact=c) for c in contacts[:3])
    active = ContactListFactory(kind=ContactList.Kind.ACTIVE, filters=LEADS)

    sizes = list_sizes([static, active])

    assert (sizes[static.pk], sizes[static.pk].capped, str(sizes[static.pk])) == (3, False, "3")
    assert (sizes[active.pk], sizes[active.pk].capped, str(sizes[active.pk])) == (3, True, "3+")


def test_the_lists_api_answers_a_capped_size_with_size_capped(api, cap_of_three):
    ContactFactory.create_batch(4, lifecycle_stage="lead")
    ContactListFactory(kind=ContactList.Kind.ACTIVE, filters=LEADS)
    ContactListFactory(kind=ContactList.Kind.ACTIVE, filters=[{"field": "lifecycle_stage", "operator": "eq",
                                                               "value": "customer"}])

    rows = api.get("/api/v1/lists/").json()["results"]

    assert sorted((row["size"], row["size_capped"]) for row in rows) == [(0, False), (3, True)]


def test_the_lists_page_shows_a_capped_size_with_a_plus(client, rep, cap_of_three):
    ContactFactory.create_batch(4, lifecycle_stage="lead")
    ContactListFactory(kind=ContactList.Kind.ACTIVE, filters=LEADS, name="Leads")
    client.force_login(rep)
    assert '<td class="num">3+</td>' in client.get("/lists/").content.decode()


def test_an_api_count_beyond_the_cap_is_the_cap_with_count_capped(api, cap_of_three):
    ContactFactory.create_batch(5)

    body = api.get("/api/v1/contacts/?page_size=2").json()

    assert (body["count"], body["count_capped"], len(body["results"])) == (3, True, 2)
    assert "page=2" in body["next"]


def test_a_deep_page_counts_at_least_the_rows_paged_past(api, cap_of_three):
    ContactFactory.create_batch(8)

    body = api.get("/api/v1/contacts/?page_size=2&page=3").json()

    assert (body["count"], body["count_capped"]) == (7, True)
    assert "page=4" in body["next"]
    assert "page=2" in body["previous"]


def test_the_last_page_counts_exactly_without_a_count_query(api, cap_of_three, django_assert_max_num_queries):
    ContactFactory.create_batch(5)
    with django_assert_max_num_queries(2):  # the session's user and the page itself
        body = api.get("/api/v1/contacts/?page_size=2&page=3").json()
    assert (body["count"], body["count_capped"], body["next"], len(body["results"])) == (5, False, None, 1)


def test_an_exact_count_under_the_cap_is_not_capped(api):
    ContactFactory.create_batch(5)
    body = api.get("/api/v1/contacts/?page_size=2").json()
    assert (body["count"], body["count_capped"]) == (5, False)


@pytest.mark.parametrize("page", ["0", "abc", "-1", "last", "99999999999"])
def test_a_page_that_is_not_a_page_number_is_404(api, page):
    ContactFactory.create_batch(2)
    answer = api.get(f"/api/v1/contacts/?page={page}")
    assert (answer.status_code, answer.json()["code"]) == (404, "NOT_FOUND")
