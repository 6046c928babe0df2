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
