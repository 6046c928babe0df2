"""Each user's time zone and language: the settings page saves them, every request applies them.

Defaults: the portal's time zone; the browser's language (Accept-Language), then the portal's.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.utils import timezone, translation
from django.utils.translation import trans_real

from accounts_app.middleware import UserPreferencesMiddleware
from accounts_app.models import PortalSettings
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PO = Path(settings.BASE_DIR) / "locale" / "fi" / "LC_MESSAGES" / "django.po"


@pytest.fixture(scope="module", autouse=True)
def finnish_catalogue() -> None:
    """The compiled catalogue (`make test` builds it; a bare `pytest` may not have)."""
    mo = PO.with_suffix(".mo")
    if mo.exists() and mo.stat().st_mtime >= PO.stat().st_mtime:
        return
    assert shutil.which("msgfmt"), "GNU gettext's msgfmt is needed to compile locale/fi (apt-get install gettext)"
    with tempfile.NamedTemporaryFile(dir=mo.parent, suffix=".part", delete=False) as partial:
        subprocess.run(["msgfmt", "--check", "-o", partial.name, str(PO)], check=True)
    os.replace(partial.name, mo)  # whole, even with another test process reading it
    trans_real._translations.clear()  # a catalogue loaded before this one was compiled


@pytest.fixture
def portal() -> PortalSettings:
    portal = PortalSettings.load()
    portal.time_zone, portal.language = "Europe/Helsinki", "en"
    portal.save()
    return portal


def _seen(request: HttpRequest) -> dict[str, str]:
    """What a view running behind the middleware sees."""
    seen: dict[str, str] = {}

    def view(request: HttpRequest) -> HttpResponse:
        seen["language"] = translation.get_language()
        seen["time_zone"] = timezone.get_current_timezone_name()
        return HttpResponse()

    UserPreferencesMiddleware(view)(request)
    return seen


def _request(path: str = "/contacts/", user=None, accept_language: str | None = None) -> HttpRequest:
    headers = {"HTTP_ACCEPT_LANGUAGE": accept_language} if accept_language is not None else {}
    request = RequestFactory().get(path, **headers)
    from django.contrib.auth.models import AnonymousUser

    request.user = user or AnonymousUser()
    return request


# --- The middleware --------------------------------------------------------------------------------


def test_a_signed_in_user_gets_their_own_time_zone_and_language(portal) -> None:
    user = UserFactory(time_zone="Asia/Tokyo", language="fi")
    assert _seen(_request(user=user, accept_language="en")) == {"language": "fi", "time_zone": "Asia/Tokyo"}


def test_a_user_who_chose_no_zone_gets_the_portals(portal) -> None:
    user = UserFactory(time_zone="", language="en")
    assert _seen(_request(user=user))["time_zone"] == "Europe/Helsinki"


def test_a_user_who_chose_no_language_gets_the_browsers(portal) -> None:
    user = UserFactory(language="")
    assert _seen(_request(user=user, accept_language="fi-FI,fi;q=0.9,en;q=0.8"))["language"] == "fi"
    assert _seen(_request(user=user, accept_language="de-DE,fi;q=0.5"))["language"] == "fi"


def test_without_a_language_nudge_has_in_the_browser_the_portals_language_applies(portal) -> None:
    portal.language = "fi"
    portal.save()
    assert _seen(_request(accept_language="de-DE,sv;q=0.8"))["language"] == "fi"
    assert _seen(_request())["language"] == "fi"
    portal.language = "en"
    portal.save()
    assert _seen(_request(accept_language="de-DE"))["language"] == "en"


def test_neither_the_zone_nor_the_language_stays_active_after_the_request(portal) -> None:
    _seen(_request(user=UserFactory(time_zone="Asia/Tokyo", language="fi")))
    assert timezone.get_current_timezone_name() == settings.TIME_ZONE
    assert translation.get_language() == settings.LANGUAGE_CODE


def test_the_api_answers_in_utc_whatever_the_users_zone(portal) -> None:
    user = UserFactory(time_zone="Asia/Tokyo", language="fi")
    assert _seen(_request("/api/v1/contacts/", user=user)) == {"language": "fi", "time_zone": "UTC"}


def test_the_api_reads_no_portal_row_for_a_user_who_chose_nothing(portal, django_assert_num_queries) -> None:
    with django_assert_num_queries(0):
        assert _seen(_request("/api/v1/contacts/", user=UserFactory.build(time_zone="", language=""))) == {
            "language": "en", "time_zone": "UTC",
        }


def test_pages_come_in_the_users_language_with_their_zone_in_the_layout(client, portal) -> None:
    user = UserFactory(time_zone="Asia/Tokyo", language="fi")
    client.force_login(user)
    page = client.get("/settings/me/", HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert page["Content-Language"] == "fi"
    assert '<html lang="fi">' in html
    assert "<h1>Omat asetukset</h1>" in html
    assert "Ajat vyöhykkeellä Asia/Tokyo" in html


def test_the_layout_shows_the_portals_zone_for_a_user_who_chose_none(client, portal) -> None:
    client.force_login(UserFactory(time_zone="", language=""))
    html = client.get("/notifications/").content.decode()
    assert '<html lang="en">' in html
    assert "Times in Europe/Helsinki" in html


# --- The settings page -------------------------------------------------------------------------------


def test_the_settings_page_saves_the_users_zone_and_language(client, portal) -> None:
    user = UserFactory(time_zone="", language="")
    client.force_login(user)
    answer = client.post("/settings/me/", {"time_zone": "America/New_York", "language": "fi"}, follow=True)
    user.refresh_from_db()
    assert (user.time_zone, user.language) == ("America/New_York", "fi")
    html = answer.content.decode()
    assert "Asetuksesi on tallennettu." in html  # the message comes in the language just chosen
    assert "Aikavyöhykkeesi on nyt America/New_York." in html


def test_choosing_the_portals_zone_and_the_browsers_language_saves_blanks(client, portal) -> None:
    user = UserFactory(time_zone="Asia/Tokyo", language="fi")
    client.force_login(user)
    assert client.post("/settings/me/", {"time_zone": "", "language": ""}).status_code == 302
    user.refresh_from_db()
    assert (user.time_zone, user.language) == ("", "")


def test_a_time_zone_that_does_not_exist_is_refused_with_a_clear_error(client, portal) -> None:
    user = UserFactory(time_zone="Asia/Tokyo", language="en")
    client.force_login(user)
    answer = client.post("/settings/me/", {"time_zone": "Mars/Olympus_Mons", "language": "fi"})
    assert answer.status_code == 400
    html = answer.content.decode()
    assert "&#x27;Mars/Olympus_Mons&#x27; is not an IANA time zone such as &#x27;Europe/Helsinki&#x27;." in html
    assert 'aria-invalid="true"' in html
    user.refresh_from_db()
    assert (user.time_zone, user.language) == ("Asia/Tokyo", "en")


def test_a_language_nudge_does_not_speak_is_refused(client, portal) -> None:
    user = UserFactory(language="")
    client.force_login(user)
    answer = client.post("/settings/me/", {"time_zone": "", "language": "de"})
    assert answer.status_code == 400
    assert "is not a language Nudge speaks; choose one of en, fi." in answer.content.decode()
    user.refresh_from_db()
    assert user.language == ""


def test_every_user_has_the_preferences_page_not_only_admins(client, portal) -> None:
    client.force_login(UserFactory(is_staff=False))
    assert client.get("/settings/me/").status_code == 200


def test_an_admin_sets_the_portals_language_on_the_portal_tab(client, admin_user, portal) -> None:
    client.force_login(admin_user)
    form = {"time_zone": "Europe/Helsinki", "holiday_country": "FI", "language": "fi",
            "send_limit_professional": "500", "send_limit_enterprise": "1000"}
    assert client.post("/settings/portal/", form).status_code == 302
    assert PortalSettings.load().language == "fi"
    assert client.post("/settings/portal/", {**form, "language": "xx"}).status_code == 400
    assert PortalSettings.load().language == "fi"


# --- The API goes through the same rules -----------------------------------------------------------------


def test_the_users_api_refuses_a_bad_zone_or_language_and_changes_nothing(admin_api) -> None:
    user = UserFactory(time_zone="Asia/Tokyo")
    answer = admin_api.patch(f"/api/v1/users/{user.pk}/", {"time_zone": "Nowhere/At_All", "language": "de"},
                             format="json")
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert set(body["fields"]) == {"time_zone", "language"}
    user.refresh_from_db()
    assert user.time_zone == "Asia/Tokyo"
    assert admin_api.patch(f"/api/v1/users/{user.pk}/", {"time_zone": "Europe/Oslo", "language": "fi"},
                           format="json").json()["time_zone"] == "Europe/Oslo"


def test_the_portal_api_sets_and_checks_the_portal_language(admin_api) -> None:
    assert admin_api.patch("/api/v1/portal/", {"language": "fi"}, format="json").json()["language"] == "fi"
    answer = admin_api.patch("/api/v1/portal/", {"language": "klingon"}, format="json")
    assert answer.status_code == 400
    assert answer.json()["fields"]["language"]
    assert PortalSettings.load().language == "fi"


def test_the_finnish_catalogue_is_complete() -> None:
    stats = subprocess.run(["msgfmt", "--check", "--statistics", "-o", os.devnull, str(PO)],
                           capture_output=True, text=True, check=True).stderr
    assert "untranslated" not in stats, stats
    assert "fuzzy" not in stats, stats
