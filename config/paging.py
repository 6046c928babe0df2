"""Pagination for pages over big tables: no unbounded COUNT(*) on a page view.

A page fetches `per_page + 1` rows to know whether there is a next one, and
the total is counted only up to COUNT_CAP rows (`SELECT COUNT(*) FROM
(SELECT id ... LIMIT cap)`), shown as "10,000+" beyond it — so a portal with
a million contacts pays for at most COUNT_CAP index entries, not a million.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import QueryDict

PER_PAGE = 50
COUNT_CAP = 10_000


@dataclass
class Page:
    items: list[Any]
    number: int
    per_page: int
    has_next: bool
    total: int
    total_capped: bool
    query: str  # The request's other query parameters, for the page links.

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def start(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.items else 0

    @property
    def end(self) -> int:
        return (self.number - 1) * self.per_page + len(self.items)

    @property
    def total_label(self) -> str:
        return f"{self.total:,}+" if self.total_capped else f"{self.total:,}"

    @property
    def next_number(self) -> int:
        return self.number + 1

    @property
    def previous_number(self) -> int:
        return self.number - 1


def count_up_to(queryset: QuerySet[Any], cap: int) -> tuple[int, bool]:
    """(rows, False) when there are at most `cap` rows, else (cap, True); reads at most cap + 1 rows.

    No ORDER BY in the capped count: the database can stop after cap + 1 index entries.
    """
    total = queryset.order_by().values("pk")[: cap + 1].count()
    return min(total, cap), total > cap


def page_number(params: QueryDict) -> int:
    raw = params.get("page", "1")
    return max(1, min(int(raw), 100_000)) if raw.isdigit() else 1


def paginate(queryset: QuerySet[Any], params: QueryDict, *, per_page: int = PER_PAGE) -> Page:
    number = page_number(params)
    offset = (number - 1) * per_page
    rows = list(queryset[offset : offset + per_page + 1])
    total, capped = count_up_to(queryset, COUNT_CAP)
    others = params.copy()
    others.pop("page", None)
    return Page(
        items=rows[:per_page],
        number=number,
        per_page=per_page,
        has_next=len(rows) > per_page,
        total=total,
        total_capped=capped,
        query=others.urlencode(),
    )
