"""Page-number pagination with the envelope of API.md: `{"count", "next", "previous", "results"}`.

`count` is exact up to COUNT_CAP (10,000) rows, as on the pages: a list of a
million contacts must not cost a COUNT(*) over a million rows per request.
Beyond the cap the answer says so: `"count": 10000, "count_capped": true`
(deep pages raise the cap to the page's own end, so `count` is never less
than the rows already paged past). A last page is counted exactly for free:
the rows before it plus its own. A view whose list is filtered (a search,
a list's filter: `list_is_filtered`) is counted first, so that few matches
are sorted rather than found by walking an index (config.paging).
"""
from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import pagination
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from config.paging import COUNT_CAP, count_up_to, sorted_from_matches


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=` and `?page_size=` (default 50, at most 200).

    A page past the end or a page that is not a number is a 404 `NOT_FOUND`
    (DRF's own rule); a `page_size` that is not a positive number falls back
    to the default rather than failing, as DRF does.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def paginate_queryset(self, queryset: QuerySet[Any], request: Request, view: Any = None) -> list[Any] | None:
        self.request = request
        page_size = self.get_page_size(request)
        if not page_size:
            return None
        raw = request.query_params.get(self.page_query_param) or "1"
        if not raw.isdigit() or int(raw) < 1 or len(raw) > 9:
            raise NotFound(self.invalid_page_message)
        self.number = int(raw)
        offset = (self.number - 1) * page_size
        cap = max(COUNT_CAP, offset + page_size + 1)
        counted = None
        if getattr(view, "list_is_filtered", False):
            # Counted first: a filter's few matches are then sorted, not found by walking an index.
            counted = count_up_to(queryset, cap)
            if not counted[1]:
                queryset = sorted_from_matches(queryset)
        rows = list(queryset[offset : offset + page_size + 1])
        if not rows and self.number > 1:
            raise NotFound(self.invalid_page_message)
        self.has_next = len(rows) > page_size
        rows = rows[:page_size]
        if not self.has_next:
            self.count, self.count_capped = offset + len(rows), False
        else:
            self.count, self.count_capped = counted or count_up_to(queryset, cap)
        return rows

    def get_paginated_response(self, data: Any) -> Response:
        return Response({
            "count": self.count,
            "count_capped": self.count_capped,
            "next": self.get_next_link(),
            "previous": self.get_previous_link(),
            "results": data,
        })

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        return replace_query_param(self.request.build_absolute_uri(), self.page_query_param, self.number + 1)

    def get_previous_link(self) -> str | None:
        if self.number <= 1:
            return None
        url = self.request.build_absolute_uri()
        if self.number == 2:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, self.number - 1)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        answer = super().get_paginated_response_schema(schema)
        answer["properties"]["count_capped"] = {
            "type": "boolean",
            "description": f"true when there are more than {COUNT_CAP:,} rows: count is then a lower bound.",
        }
        return answer
