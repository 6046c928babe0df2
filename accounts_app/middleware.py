"""Each request speaks the user's language and shows times in the user's time zone.

After LocaleMiddleware (which sets the response's Content-Language and Vary)
and AuthenticationMiddleware: the language and zone come from
accounts_app.preferences. The REST API keeps answering in UTC — its times
are ISO 8601 with an offset, the same for every caller (docs/api.md) — so
the zone is activated for the pages only; its language is the user's or the
browser's, else English, without a query for the portal's.
"""
from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from accounts_app.preferences import request_preferences

# Paths whose answers are the API's: times in UTC whatever the caller's zone.
API_PREFIXES = ("/api/", "/automation/")


class UserPreferencesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        page = not request.path.startswith(API_PREFIXES)
        preferences = request_preferences(request, portal_defaults=page)
        translation.activate(preferences.language)
        request.LANGUAGE_CODE = preferences.language
        request.time_zone = preferences.time_zone  # type: ignore[attr-defined]
        if page:
            try:
                timezone.activate(ZoneInfo(preferences.time_zone))
            except (ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        try:
            response = self.get_response(request)
            # Named here, while the language is still active (LocaleMiddleware keeps it).
            response.headers.setdefault("Content-Language", preferences.language)
            return response
        finally:
            # Nothing carries over to whatever this thread runs next (a test, a task run eagerly).
            timezone.deactivate()
            translation.deactivate()
