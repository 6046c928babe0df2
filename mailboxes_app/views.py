"""Mailbox pages: connect Google / Microsoft 365 (OAuth) or SMTP/IMAP, verify, make primary, daily cap.
Passwords are write-only; OAuth tokens are never shown.

Every write is mailboxes_app.services (the API's functions): verifying
connects a mailbox only when its servers accept the login. Verify queues a
task; the mailbox's card polls `mailbox_verification` until it is done.
"""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from config.errors import ServiceError
from config.params import whole_number
from mailboxes_app.breaker import breaker_figures, mailbox_sending_resume
from mailboxes_app.models import Mailbox, Security
from mailboxes_app.oauth.connect import oauth_authorization_start, oauth_callback
from mailboxes_app.oauth.providers import configured_providers
from mailboxes_app.services import (
    mailbox_create,
    mailbox_delete,
    mailbox_set_primary,
    mailbox_update,
    mailbox_verify_request,
)
from sequences_app.page_messages import service_error_text

TEXT_FIELDS = ("email", "display_name", "smtp_host", "smtp_username", "imap_host", "imap_username")
PORT_FIELDS = ("smtp_port", "imap_port")
PASSWORD_FIELDS = ("smtp_password", "imap_password")


def _own(request: HttpRequest) -> Any:
    return Mailbox.objects.filter(owner=request.user)


def _fields(data: QueryDict) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Form values in the service's shape; a blank password field keeps the stored one."""
    values: dict[str, Any] = {name: data.get(name, "").strip() for name in TEXT_FIELDS}
    errors: dict[str, list[str]] = {}
    for name in PORT_FIELDS:
        port = whole_number(data.get(name, ""), high=65535)
        if port:
            values[name] = port
        else:
            errors[name] = ["Enter a port number from 1 to 65535."]
    for name in ("smtp_security", "imap_security"):
        values[name] = data.get(name) if data.get(name) in Security.values else Security.STARTTLS
    for name in PASSWORD_FIELDS:
        if data.get(name):
            values[name] = data[name]
    cap = data.get("daily_limit", "").strip()
    values["daily_limit"] = whole_number(cap, high=1_000_000)
    if cap and values["daily_limit"] is None:
        errors["daily_limit"] = ["Enter a whole number up to 1,000,000, or leave empty for the seat's limit."]
    per_minute = data.get("minute_limit", "").strip()
    values["minute_limit"] = whole_number(per_minute, high=1_000_000) or None
    if per_minute and values["minute_limit"] is None:
        errors["minute_limit"] = ["Enter a whole number from 1, or leave empty for no per-minute cap."]
    if not values["email"]:
        errors["email"] = ["Enter the mailbox's email address."]
    if not values["smtp_host"]:
        errors["smtp_host"] = ["Enter the SMTP server."]
    return values, errors


@login_required
def mailbox_list(request: HttpRequest) -> HttpResponse:
    mailboxes = list(_own(request).order_by("-is_primary", "email"))
    for mailbox in mailboxes:  # a rep has one mailbox or a few: three counts each
        mailbox.figures = breaker_figures(mailbox=mailbox)  # type: ignore[attr-defined]
    context = {"mailboxes": mailboxes, "providers": configured_providers()}
    return render(request, "mailboxes/index.html", context)


@login_required
@require_http_methods(["GET"])
def mailbox_connect(request: HttpRequest, provider: str) -> HttpResponse:
    """Start the OAuth 2.0 authorization with Google or Microsoft; the provider sends the browser back."""
    if not request.session.session_key:
        request.session.save()
    try:
        url = oauth_authorization_start(
            user=request.user, session_key=request.session.session_key, provider_key=provider
        )
    except ServiceError as exc:
        messages.error(request, service_error_text(exc))
        return redirect("mailboxes:index")
    return redirect(url)


@login_required
@require_http_methods(["GET"])
def mailbox_oauth_callback(request: HttpRequest) -> HttpResponse:
    """Where the provider sends the browser back: connect (or reconnect) the mailbox, or say why not."""
    result = oauth_callback(
        user=request.user, session_key=request.session.session_key or "", params=request.GET.dict()
    )
    if result.mailbox is None:
        return render(request, "mailboxes/connect_failed.html", {"error": result.error}, status=400)
    verb = "connected" if result.created else "reconnected"
    messages.success(
        request, f"{result.mailbox.email} is {verb} through {result.provider}; checking that sending and reading work."
    )
    return redirect("mailboxes:index")


@login_required
@require_http_methods(["GET", "POST"])
def mailbox_form(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    mailbox = get_object_or_404(_own(request), pk=pk) if pk is not None else None
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    if mailbox is not None and mailbox.uses_oauth:
        return _oauth_mailbox_form(request, mailbox)
    if request.method == "POST":
        values, errors = _fields(request.POST)
        if not errors:
            try:
                if mailbox is None:
                    email, smtp_host = values.pop("email"), values.pop("smtp_host")
                    mailbox = mailbox_create(
                        owner=request.user, acting_user=request.user, email=email, smtp_host=smtp_host,
                        is_primary=request.POST.get("is_primary") == "on", **values,
                    )
                    messages.success(request, f"{mailbox.email} added. Verify it to start sending from it.")
                else:
                    mailbox_update(mailbox=mailbox, data=values)
                    messages.success(request, f"{mailbox.email} saved.")
                return redirect("mailboxes:index")
            except ServiceError as exc:
                errors = exc.extra.get("fields") or {"general": [service_error_text(exc)]}
                values.setdefault("email", request.POST.get("email", ""))
                values.setdefault("smtp_host", request.POST.get("smtp_host", ""))
    elif mailbox is not None:
        values = {name: getattr(mailbox, name) for name in (*TEXT_FIELDS, *PORT_FIELDS, "smtp_security",
                                                             "imap_security", "daily_limit", "minute_limit")}
    else:
        values = {"smtp_port": 587, "imap_port": 993, "smtp_security": "starttls", "imap_security": "ssl"}
    context = {"mailbox": mailbox, "values": values, "errors": errors, "securities": Security.choices}
    return render(request, "mailboxes/form.html", context, status=400 if errors else 200)


def _oauth_mailbox_form(request: HttpRequest, mailbox: Mailbox) -> HttpResponse:
    """A Google or Microsoft mailbox: its servers are the provider's, so only the name and the caps change."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {
        "display_name": mailbox.display_name, "daily_limit": mailbox.daily_limit, "minute_limit": mailbox.minute_limit,
    }
    if request.method == "POST":
        values["display_name"] = request.POST.get("display_name", "").strip()
        cap = request.POST.get("daily_limit", "").strip()
        values["daily_limit"] = whole_number(cap, high=1_000_000)
        if cap and values["daily_limit"] is None:
            errors["daily_limit"] = ["Enter a whole number up to 1,000,000, or leave empty for the seat's limit."]
        per_minute = request.POST.get("minute_limit", "").strip()
        values["minute_limit"] = whole_number(per_minute, high=1_000_000) or None
        if per_minute and values["minute_limit"] is None:
            errors["minute_limit"] = ["Enter a whole number from 1, or leave empty for no per-minute cap."]
        if not errors:
            try:
                mailbox_update(mailbox=mailbox, data=values)
                messages.success(request, f"{mailbox.email} saved.")
                return redirect("mailboxes:index")
            except ServiceError as exc:
                errors = exc.extra.get("fields") or {"general": [service_error_text(exc)]}
    context = {"mailbox": mailbox, "values": values, "errors": errors}
    return render(request, "mailboxes/oauth_form.html", context, status=400 if errors else 200)


@login_required
def mailbox_verification(request: HttpRequest, pk: int) -> HttpResponse:
    """The mailbox's state (htmx fragment): what the card polls while a verification runs."""
    return render(request, "mailboxes/_verification.html", {"box": get_object_or_404(_own(request), pk=pk)})


@login_required
@require_POST
def mailbox_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    mailbox = get_object_or_404(_own(request), pk=pk)
    try:
        if action == "verify":
            mailbox_verify_request(mailbox=mailbox)
            messages.info(request, f"Verifying {mailbox.email}: logging in to its servers takes a few seconds.")
        elif action == "primary":
            mailbox_set_primary(mailbox=mailbox)
            messages.success(request, f"{mailbox.email} is now your primary mailbox.")
        elif action == "delete":
            mailbox_delete(mailbox=mailbox)
            messages.success(request, f"{mailbox.email} removed.")
        elif action == "resume-sending":
            mailbox_sending_resume(mailbox=mailbox, user=request.user)
            messages.success(request, f"Sending from {mailbox.email} resumed; its sequences go on.")
    except ServiceError as exc:
        messages.error(request, service_error_text(exc))
    return redirect("mailboxes:index")
