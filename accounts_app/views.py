"""Pages of accounts_app: log in and out, notifications, and Settings.

Settings writes go through accounts_app.services (the same functions as the
API), so the rules — one seat per user, the last admin stays, real time
zones and holiday countries — are the services'. Everyone has the Private
apps tab (their own tokens; an admin sees everyone's); the other tabs are
for admins.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytz
from csp.decorators import csp_replace, csp_update
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_http_methods, require_POST

from accounts_app.models import PortalSettings, Seat, Team, User
from accounts_app.notifications import notifications_mark_read, notifications_recent
from accounts_app.preferences import request_preferences
from accounts_app.private_apps import (
    EXTENSION_CLIENTS,
    EXTENSION_SCOPES,
    SCOPES,
    extension_origin_allowed,
    extension_token_create,
    private_app_create,
    private_app_revoke,
    private_apps_visible_to,
)
from accounts_app.services import (
    holiday_countries,
    portal_update,
    team_create,
    team_delete,
    team_update,
    user_preferences_update,
    user_update,
)
from config.errors import ServiceError, ValidationFailed
from config.params import ids, whole_number
from mailboxes_app.oauth.providers import oauth_providers, redirect_uri
from sequences_app.page_messages import service_error_text


class NudgeLoginView(LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


@require_http_methods(["GET", "POST"])
def logout_view(request: HttpRequest) -> HttpResponse:
    """GET asks (a link can't log anyone out), POST logs out."""
    if request.method == "POST":
        logout(request)
        return redirect("login")
    return render(request, "registration/logout.html")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("sequences:index")


@login_required
@require_http_methods(["GET", "POST"])
def notifications(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        notifications_mark_read(user=request.user)
        messages.success(request, "All notifications marked as read.")
        return redirect("notifications")
    return render(request, "accounts/notifications.html", {"notices": notifications_recent(user=request.user)})


def _admin_only(request: HttpRequest) -> None:
    if not request.user.is_staff:
        raise PermissionDenied("Settings are for admins.")


ADMIN_TABS = ("users", "teams", "portal")
PRIVATE_APPS_TAB = "private-apps"


@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    default = "users" if request.user.is_staff else PRIVATE_APPS_TAB
    tab = request.GET.get("tab", default)
    if tab not in (*ADMIN_TABS, PRIVATE_APPS_TAB):
        tab = default
    if tab in ADMIN_TABS:
        _admin_only(request)
    context: dict[str, Any] = {"tab": tab, "errors": {}}
    if tab == PRIVATE_APPS_TAB:
        context.update(_private_apps_context(request))
    elif tab == "users":
        context["users"] = (
            User.objects.select_related("seat")
            .prefetch_related(Prefetch("teams", queryset=Team.objects.only("id", "name")))
            .order_by("username")
        )
        context["hubs"] = Seat.Hub.choices
        context["tiers"] = Seat.Tier.choices
    elif tab == "teams":
        members = Prefetch("members", queryset=User.objects.order_by("username"))
        context["teams"] = Team.objects.prefetch_related(members)
        context["all_users"] = User.objects.filter(is_active=True).order_by("username")
    else:
        context.update(_portal_context(PortalSettings.load()))
    return render(request, "accounts/settings.html", context)


def _portal_context(portal: PortalSettings, errors: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {
        "portal": portal,
        "time_zones": pytz.common_timezones,
        "languages": settings.LANGUAGES,
        "countries": sorted(holiday_countries()),
        "errors": errors or {},
        "tab": "portal",
        "mail_providers": oauth_providers(),
        "oauth_redirect_uri": redirect_uri(),
    }


@login_required
@require_POST
def settings_user(request: HttpRequest, pk: int) -> HttpResponse:
    _admin_only(request)
    user = get_object_or_404(User, pk=pk)
    hub, tier = request.POST.get("hub", ""), request.POST.get("tier", "")
    data: dict[str, Any] = {
        "can_bulk_enroll": request.POST.get("can_bulk_enroll") == "on",
        "is_staff": request.POST.get("is_staff") == "on",
        "seat": {"hub": hub, "tier": tier} if hub or tier else None,
    }
    try:
        user_update(user=user, data=data)
    except ServiceError as exc:
        messages.error(request, f"{user.username}: {service_error_text(exc)}")
    else:
        messages.success(request, f"Saved {user.get_full_name() or user.username}.")
    return redirect(f"{request.path.rsplit('/users/', 1)[0]}/?tab=users")


@login_required
@require_POST
def settings_team(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _admin_only(request)
    members = User.objects.filter(pk__in=_ints(request.POST.getlist("members")))
    try:
        if pk is None:
            team = team_create(name=request.POST.get("name", ""), members=members)
            messages.success(request, f"Team {team.name} created.")
        else:
            team = get_object_or_404(Team, pk=pk)
            if request.POST.get("delete"):
                team_delete(team=team)
                messages.success(request, f"Team {team.name} deleted.")
            else:
                team_update(team=team, data={"name": request.POST.get("name", team.name), "members": members})
                messages.success(request, f"Team {team.name} saved.")
    except ServiceError as exc:
        messages.error(request, service_error_text(exc))
    return redirect("/settings/?tab=teams")


@login_required
@require_POST
def settings_portal(request: HttpRequest) -> HttpResponse:
    _admin_only(request)
    data: dict[str, Any] = {
        "time_zone": request.POST.get("time_zone", ""),
        "holiday_country": request.POST.get("holiday_country", ""),
    }
    if "language" in request.POST:
        data["language"] = request.POST["language"]
    limits: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for tier in ("professional", "enterprise"):
        number = whole_number(request.POST.get(f"send_limit_{tier}", ""))
        if number is None:
            errors[f"send_limits.{tier}"] = ["Enter a whole number."]
        else:
            limits[tier] = number
    data["send_limits"] = limits
    if not errors:
        try:
            portal_update(data=data)
        except ServiceError as exc:
            errors = exc.extra.get("fields") or {"general": [service_error_text(exc)]}
        else:
            messages.success(request, "Portal settings saved.")
            return redirect("/settings/?tab=portal")
    portal = PortalSettings.load()
    context = _portal_context(portal, errors)
    context["submitted"] = request.POST
    return render(request, "accounts/settings.html", context, status=400)


def _private_apps_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    return {
        "tab": PRIVATE_APPS_TAB,
        "errors": {},
        "apps": private_apps_visible_to(request.user).order_by("user__username", "-created_at", "-id"),
        "scopes": SCOPES,
        "portal_tz": PortalSettings.load().time_zone,
        **extra,
    }


@login_required
@require_POST
def settings_private_app_create(request: HttpRequest) -> HttpResponse:
    """Make a token and show it on this answer only: it goes in no message, session or redirect."""
    name, scopes = request.POST.get("name", ""), request.POST.getlist("scopes")
    try:
        app, token = private_app_create(user=request.user, name=name, scopes=scopes)
    except ServiceError as exc:
        context = _private_apps_context(request, errors=exc.extra.get("fields") or {}, submitted=request.POST)
        return render(request, "accounts/settings.html", context, status=400)
    response = render(request, "accounts/settings.html", _private_apps_context(request, created=app, token=token))
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def settings_private_app_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    app = get_object_or_404(private_apps_visible_to(request.user), pk=pk)
    private_app_revoke(app=app, caller=request.user)
    messages.success(request, f"Token {app.name} revoked: it no longer works.")
    return redirect(f"/settings/?tab={PRIVATE_APPS_TAB}")


@login_required
@require_http_methods(["GET", "POST"])
def settings_me(request: HttpRequest) -> HttpResponse:
    """Every user's own preferences: the time zone pages show times in, and the pages' language."""
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            user_preferences_update(
                user=request.user,
                time_zone=request.POST.get("time_zone", ""),
                language=request.POST.get("language", ""),
            )
        except ValidationFailed as exc:
            errors = exc.extra.get("fields") or {"general": [service_error_text(exc)]}
        else:
            # Saved in the language just chosen: the next request speaks it, this message too.
            translation.activate(request_preferences(request).language)
            messages.success(request, _("Your preferences are saved."))
            return redirect("settings-me")
    context = {
        "time_zones": pytz.common_timezones,
        "languages": settings.LANGUAGES,
        "portal": PortalSettings.load(),
        "errors": errors,
        "chosen_time_zone": request.POST.get("time_zone", "") if errors else request.user.time_zone,
        "chosen_language": request.POST.get("language", "") if errors else request.user.language,
    }
    return render(request, "accounts/preferences.html", context, status=400 if errors else 200)


def _ints(values: list[str]) -> list[int]:
    return ids(values)


# Office.js comes from Microsoft's CDN (Office requires it): the one script source beyond Nudge's own.
OFFICE_JS = {"script-src": ["'self'", "https://appsforoffice.microsoft.com"]}


@csp_update(OFFICE_JS)
@login_required
@require_http_methods(["GET", "POST"])
def extension_connect(request: HttpRequest) -> HttpResponse:
    """"Connect Nudge for Gmail": the signed-in rep approves, and this answer hands the token to the extension.

    1. GET names the extension (`client`), its id (`extension`, which must be
       one of EXTENSION_ORIGINS) and the extension's `state`, and asks.
    2. POST makes the token (extension_token_create: a private app token, listed
       in Settings) and answers a page whose script gives it to that extension
       with chrome.runtime.sendMessage (the extension's manifest lets only this
       Nudge's pages message it). The token is in no URL, redirect or session,
       and never on Gmail's page. For Outlook (`client=outlook`, no extension
       id: the task pane is Nudge's own page) this page is an Office dialog and
       the script hands the token to the task pane with messageParent.
    """
    params = request.POST if request.method == "POST" else request.GET
    client, extension, state = params.get("client", ""), params.get("extension", ""), params.get("state", "")
    if client == "outlook":
        extension = ""
    problem = None
    if client not in EXTENSION_CLIENTS:
        problem = "This link doesn't name an extension Nudge knows."
    elif client == "gmail" and not extension_origin_allowed(f"chrome-extension://{extension}"):
        problem = (
            "This extension isn't allowed to connect to this Nudge. An admin adds its origin"
            f" (chrome-extension://{extension[:40]}) to EXTENSION_ORIGINS."
        )
    elif not (0 < len(state) <= 100 and state.replace("-", "").replace("_", "").isalnum()):
        problem = "This link is incomplete: start again from the extension's Connect button."
    context = {
        "client": client, "client_name": EXTENSION_CLIENTS.get(client, ""), "extension": extension,
        "state": state, "problem": problem, "scopes": {scope: SCOPES[scope] for scope in EXTENSION_SCOPES},
    }
    if problem:
        return render(request, "accounts/extension_connect.html", context, status=400)
    if request.method == "GET":
        return render(request, "accounts/extension_connect.html", context)
    app, token = extension_token_create(user=request.user, client=client)
    context.update(app=app, handoff={"token": token, "state": state, "name": app.name, "user": request.user.email})
    response = render(request, "accounts/extension_connect.html", context)
    response["Cache-Control"] = "no-store"
    return response


@xframe_options_exempt
@csp_update(OFFICE_JS)
@csp_replace({"frame-ancestors": None})  # Outlook frames the task pane
def addin_outlook(request: HttpRequest) -> HttpResponse:
    """Nudge for Outlook's task pane: Outlook frames it, and it signs in with its own token, not this session."""
    return render(request, "addin/outlook_taskpane.html")


def addin_outlook_manifest(request: HttpRequest) -> HttpResponse:
    """extensions/outlook/manifest.xml with this Nudge's address (SITE_URL), to install in Outlook."""
    manifest = (Path(settings.BASE_DIR) / "extensions" / "outlook" / "manifest.xml").read_text()
    return HttpResponse(
        manifest.replace("https://nudge.example.com", settings.SITE_URL), content_type="application/xml; charset=utf-8"
    )
