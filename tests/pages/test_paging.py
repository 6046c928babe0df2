"""Pagination never counts past its cap, and pages link to each other with the filters kept."""
from __future__ import annotations

import pytest
from django.http import QueryDict

from config import paging
from contacts_app.models import Contact
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def test_the_total_is_capped_and_says_so(monkeypatch):
    monkeypatch.setattr(paging, "COUNT_CAP", 5)
    ContactFactory.create_batch(8)
    page = paging.paginate(Contact.objects.all(), QueryDict("q=ann&page=2"), per_page=3)
    assert [page.start, page.end] == [4, 6]
    assert page.has_next
    assert page.has_previous
    assert page.total_label == "5+"
    assert page.query == "q=ann"


def test_a_page_number_that_is_not_a_number_is_the_first_page():
    assert paging.page_number(QueryDict("page=abc")) == 1
    assert paging.page_number(QueryDict("page=0")) == 1


# --- Keyset pages: "Next" carries where the page ended -----------------------------------------------


def _newest_first_with_ties() -> list[int]:
    """Seven contacts, three of them created at the very same instant (ties broken by id)."""
    contacts = ContactFactory.create_batch(7)
    moment = Contact.objects.order_by("pk").values_list("created_at", flat=True).first()
    Contact.objects.filter(pk__in=[c.pk for c in contacts[2:5]]).update(created_at=moment)
    return list(Contact.objects.order_by("-created_at", "-id").values_list("pk", flat=True))


def test_following_next_links_walks_every_row_once_in_order_through_ties():
    expected = _newest_first_with_ties()
    seen, params = [], QueryDict("q=ann")
    while True:
        page = paging.paginate(Contact.objects.order_by("-created_at", "-id"), params, per_page=2,
                               keyset=("created_at", "id"))
        seen += [c.pk for c in page.items]
        if not page.has_next:
            break
        assert "after=" in page.next_query
        assert page.next_query.startswith("q=ann&page=")
        params = QueryDict(page.next_query)
    assert seen == expected


def test_a_keyset_page_is_the_same_as_the_offset_page():
    _newest_first_with_ties()
    queryset = Contact.objects.order_by("-created_at", "-id")
    first = paging.paginate(queryset, QueryDict(""), per_page=3, keyset=("created_at", "id"))
    by_keyset = paging.paginate(queryset, QueryDict(first.next_query), per_page=3, keyset=("created_at", "id"))
    by_offset = paging.paginate(queryset, QueryDict("page=2"), per_page=3)
    assert [c.pk for c in by_keyset.items] == [c.pk for c in by_offset.items]
    assert (by_keyset.start, by_keyset.end) == (4, 6)


@pytest.mark.parametrize("after", ["garbage", "2026-03-27T09:00:00~x", "2026-03-27T09:00:00~5", "~", ""])
def test_a_garbled_after_falls_back_to_the_page_number(after):
    _newest_first_with_ties()
    queryset = Contact.objects.order_by("-created_at", "-id")
    page = paging.paginate(queryset, QueryDict(f"page=2&after={after}"), per_page=3, keyset=("created_at", "id"))
    by_offset = paging.paginate(queryset, QueryDict("page=2"), per_page=3)
    assert [c.pk for c in page.items] == [c.pk for c in by_offset.items]


def test_the_contacts_index_next_link_carries_where_the_page_ended(rep_client):
    ContactFactory.create_batch(paging.PER_PAGE + 2)
    first = rep_client.get("/contacts/")
    link = first.context["page"].next_query
    assert "after=" in link
    second = rep_client.get(f"/contacts/?{link}")
    assert second.status_code == 200
    assert len(second.context["page"].items) == 2
    assert "page=2&amp;after=" in first.content.decode()


def test_sorting_from_the_matches_keeps_the_same_rows_in_the_same_order():
    expected = _newest_first_with_ties()
    queryset = Contact.objects.order_by("-created_at", "-id")
    assert list(paging.sorted_from_matches(queryset).values_list("pk", flat=True)) == expected
    by_name = Contact.objects.order_by("last_name", "first_name", "id")
    assert list(paging.sorted_from_matches(by_name)) == list(by_name)


def test_a_filtered_page_under_the_cap_is_sorted_from_its_matches(django_assert_max_num_queries):
    _newest_first_with_ties()
    queryset = Contact.objects.order_by("-created_at", "-id")
    with django_assert_max_num_queries(2) as captured:
        page = paging.paginate(queryset, QueryDict(""), per_page=3, filtered=True)
    assert "COALESCE" in captured.captured_queries[-1]["sql"].upper()
    assert [c.pk for c in page.items] == list(queryset.values_list("pk", flat=True))[:3]
