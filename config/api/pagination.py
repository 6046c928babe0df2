"""Page-number pagination with the envelope of API.md: `{"count", "next", "previous", "results"}`."""
from __future__ import annotations

from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=` and `?page_size=` (default 50, at most 200).

    A page past the end or a page that is not a number is a 404 `NOT_FOUND`
    (DRF's own rule); a `page_size` that is not a positive number falls back
    to the default rather than failing, as DRF does.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
