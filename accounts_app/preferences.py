"""Which language and time zone a request gets: the user's own, else the browser's language, else the portal's.

Read by accounts_app.middleware for every request, so it costs at most one
small query (the portal's row) and none when the user chose both, or for the API.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import get_supported_language_variant
from django.utils.translation.trans_real import parse_accept_lang_header

from accounts_app.models import PortalSettings


@dataclass(frozen=True)
class Preferences:
    language: str
    time_zone: str


def language_codes() -> list[str]:
    return [code for code, _ in settings.LANGUAGES]


def browser_language(request: HttpRequest) -> str | None:
    """The first language in Accept-Language that Nudge has ("fi-FI" finds "fi"); None if none is."""
    for code, _quality in parse_accept_lang_header(request.headers.get("Accept-Language", "")):
        if code == "*":
            continue
        try:
            return get_supported_language_variant(code)
        except LookupError:
            continue
    return None


def request_preferences(request: HttpRequest, *, portal_defaults: bool = True) -> Preferences:
    """The request's language and time zone; without `portal_defaults` (the API) no query is made,
    and what the user and browser leave open is English and UTC."""
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    language = (user.language if signed_in else "") or browser_language(request)
    time_zone = user.time_zone if signed_in else ""
    if not portal_defaults:
        return Preferences(language=language or settings.LANGUAGE_CODE, time_zone=time_zone or settings.TIME_ZONE)
    if not language or not time_zone:
        portal = PortalSettings.objects.filter(pk=1).values("language", "time_zone").first() or {
            "language": PortalSettings._meta.get_field("language").default,
            "time_zone": PortalSettings._meta.get_field("time_zone").default,
        }
        language = language or portal["language"]
        time_zone = time_zone or portal["time_zone"]
    if language not in language_codes():  # a language since removed from settings.LANGUAGES
        language = settings.LANGUAGE_CODE
    return Preferences(language=language, time_zone=time_zone)
