"""Pagination for pages over big tables: no unbounded COUNT(*) on a page view.

A page fetches `per_page + 1` rows to know whether there is a next one, and
the total is counted only up to COUNT_CAP rows (`SELECT COUNT(*) FROM
(SELECT id ... LIMIT cap)`), shown as "10,000+" beyond it — so a portal with
a million contacts pays for at most COUNT_CAP index entries, not a million.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import QueryDict

from config.params import whole_number

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
    next_after: str = ""  # Keyset pages: where this page ended, for the "Next" link.

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
    def next_query(self) -> str:
        """The "Next" link's query string: the page number, and where this page ended when known."""
        parts = [self.query] if self.query else []
        parts.append(f"page={self.next_number}")
        if self.next_after:
            parts.append(urlencode({"after": self.next_after}))
        return "&".join(parts)

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


def sorted_from_matches(queryset: QuerySet[Any]) -> QuerySet[Any]:
    """The same rows in the same order, sorted from the matches instead of read along the ordering's index.

    With `ORDER BY created_at DESC LIMIT 51` over a filter, PostgreSQL may walk
    the newest-first index testing each row, betting that matches are common;
    for a rare name (a few hundred of a million, clustered anywhere) the walk
    reads most of the table (seconds). When the capped count has shown the
    matches are at most COUNT_CAP, the filter's own indexes find them all and
    sorting at most that many is cheap: ordering by COALESCE(field, field) —
    the same value, but not an indexed expression — makes the plan do that.
    """
    order = list(queryset.query.order_by or queryset.model._meta.ordering)
    if not order:
        return queryset
    opaque = []
    for item in order:
        if not isinstance(item, str):
            return queryset
        name = item.lstrip("-")
        expression = Coalesce(F(name), F(name))
        opaque.append(expression.desc() if item.startswith("-") else expression.asc())
    return queryset.order_by(*opaque)


def page_number(params: QueryDict) -> int:
    number = whole_number(params.get("page", "1"))
    return max(1, min(number, 100_000)) if number is not None else 1


def paginate(
    queryset: QuerySet[Any],
    params: QueryDict,
    *,
    per_page: int = PER_PAGE,
    keyset: tuple[str, str] | None = None,
    filtered: bool = False,
) -> Page:
    """One page of `queryset`; with `keyset`, "Next" links carry where the page ended, not an offset.

    `keyset` names the queryset's ordering, newest first: a datetime field and
    the id that breaks its ties (`("created_at", "id")` for `-created_at, -id`).
    A request with `after=<time>~<id>` (from a "Next" link) starts right after
    that row through the index instead of reading and dropping every row
    before it, so page 2,000 costs what page 2 does. A missing or garbled
    `after` falls back to the page number's offset. `filtered` (a search or
    filter that may match few rows): counted first, and when the matches are
    under the cap, sorted from them (see sorted_from_matches).
    """
    number = page_number(params)
    total, capped = count_up_to(queryset, COUNT_CAP)
    if filtered and not capped:
        queryset = sorted_from_matches(queryset)
    after = _after(params.get("after", "")) if keyset else None
    if after is not None and keyset is not None:
        field, tie = keyset
        at, last_id = after
        # `field <= at` is the index range; the OR only settles ties within it.
        rows = list(
            queryset.filter(**{f"{field}__lte": at})
            .filter(Q(**{f"{field}__lt": at}) | Q(**{f"{tie}__lt": last_id}))[: per_page + 1]
        )
    else:
        offset = (number - 1) * per_page
        rows = list(queryset[offset : offset + per_page + 1])
    others = params.copy()
    others.pop("page", None)
    others.pop("after", None)
    items = rows[:per_page]
    has_next = len(rows) > per_page
    next_after = ""
    if keyset and has_next and items:
        last = items[-1]
        next_after = f"{getattr(last, keyset[0]).isoformat()}~{getattr(last, keyset[1])}"
    return Page(
        items=items,
        number=number,
        per_page=per_page,
        has_next=has_next,
        total=total,
        total_capped=capped,
        query=others.urlencode(),
        next_after=next_after,
    )


def _after(raw: str) -> tuple[datetime, int] | None:
    at, _, last_id = raw.partition("~")
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        return None
    if moment.tzinfo is None or not last_id.isdigit() or len(last_id) > 18:
        return None
    return moment, int(last_id)
