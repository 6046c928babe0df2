"""Sequence pages: the Manage list, the editor, the sequence page, sharing, performance.

Create and edit call sequence_create / sequence_update with the API's
payload shape, so the page and the API share every rule; a VALIDATION_ERROR's
`fields` (`name`, `steps.<index>.<field>`, `settings.<name>`) are shown next
to the inputs they name.
"""
from __future__ import annotations

import re
from datetime import time
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts_app.models import Team, User
from config.errors import ServiceError
from config.paging import paginate
from config.params import id_or_none, ids, whole_number
from sequences_app.analytics import sequence_performance
from sequences_app.models import Enrollment, EnrollmentStep, FollowUpDays, Priority, Sequence, StepType
from sequences_app.page_messages import service_error_text
from sequences_app.page_selectors import sequence_list_stats, sequences_page
from sequences_app.selectors import (
    document_public_url,
    documents_visible_to,
    enrollments_visible_to,
    sequence_is_editable_by,
    sequences_enrolled_by,
    sequences_visible_to,
    snippets_visible_to,
)
from sequences_app.sequence_settings import BOOLEAN_SETTINGS, SequenceSettings
from sequences_app.services.sequences import sequence_create, sequence_delete, sequence_update
from sequences_app.tokens import COMPANY_FIELDS, CONTACT_FIELDS, SENDER_FIELDS

# A sequence's enrolled list is newest first: "Next" links carry where a page ended (config.paging).
NEWEST = ("enrolled_at", "id")
STEP_KEY = re.compile(r"^steps-(\d{1,3})-type$")
SETTING_LABELS = {
    "threaded_follow_ups": "Send follow-ups as replies in the first email's thread",
    "unenroll_on_reply": "Unenroll when the contact replies",
    "unenroll_on_meeting": "Unenroll when the contact books a meeting",
    "account_based": "Account-based: also unenroll others at the company when one replies or books",
    "task_reminders": "Send task reminders",
    "track_opens": "Track email opens",
    "track_clicks": "Track link clicks",
}


def _int(value: str | None) -> int | None:
    return id_or_none(value)


def _minutes_text(minutes: int | None) -> str:
    if minutes is None:
        return ""
    minutes = min(minutes, 1439)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _minutes(value: str) -> int | None:
    try:
        parsed = time.fromisoformat(value)
    except ValueError:
        return None
    return parsed.hour * 60 + parsed.minute


def editor_data(user: User) -> dict[str, Any]:
    """What the rich-text toolbar offers: tokens, the user's snippets and documents."""
    tokens = [f"contact.{name}" for name in CONTACT_FIELDS]
    tokens += [f"company.{name}" for name in COMPANY_FIELDS] + [f"sender.{name}" for name in SENDER_FIELDS]
    return {
        "tokens": tokens,
        "snippets": [
            {"name": s.name, "body_html": s.body_html} for s in snippets_visible_to(user).order_by("name")[:100]
        ],
        "documents": [
            {"name": d.name, "url": document_public_url(d)} for d in documents_visible_to(user).order_by("name")[:100]
        ],
    }


# --- Manage ---------------------------------------------------------------------------------------


@login_required
def sequence_index(request: HttpRequest) -> HttpResponse:
    params = request.GET
    filters = {
        "search": params.get("q", "").strip()[:200],
        "owner_id": _int(params.get("owner")),
        "sharing": params.get("sharing", "") if params.get("sharing") in Sequence.Visibility.values else "",
    }
    page = paginate(sequences_page(user=request.user, **filters), params)
    context = {
        "page": page,
        "filters": filters,
        "stats": sequence_list_stats([s.pk for s in page.items]),
        "owners": User.objects.filter(is_active=True, sequences__isnull=False).distinct().order_by("username"),
        "visibilities": Sequence.Visibility.choices,
    }
    return render(request, "sequences/index.html", context)


# --- Editor ---------------------------------------------------------------------------------------


def _payload(data: QueryDict) -> dict[str, Any]:
    """The API's sequence payload from the editor's fields (shapes only: the service checks the values)."""
    indexes = sorted(int(m.group(1)) for key in data if (m := STEP_KEY.match(key)))
    steps = []
    for position, index in enumerate(indexes, start=1):
        prefix = f"steps-{index}-"
        delay = data.get(prefix + "delay_days", "0").strip()
        days = whole_number(delay, high=10_000)  # else the raw text, which the service refuses with its message
        steps.append(
            {
                "order": position,
                "type": data.get(prefix + "type", ""),
                "delay_days": delay if days is None else days,
                "subject": data.get(prefix + "subject", ""),
                "body_html": data.get(prefix + "body_html", ""),
                "title": data.get(prefix + "title", ""),
                "notes": data.get(prefix + "notes", ""),
                "priority": data.get(prefix + "priority", "none"),
                "create_task_immediately": data.get(prefix + "create_task_immediately") == "on",
                "continue_without_completion": data.get(prefix + "continue_without_completion") == "on",
            }
        )
    settings: dict[str, Any] = {"follow_up_days": data.get("follow_up_days", FollowUpDays.BUSINESS_DAYS)}
    start, end = data.get("window_start", ""), data.get("window_end", "")
    if start or end:
        start_minute, end_minute = _minutes(start), _minutes(end)
        settings["send_window"] = {
            "start_minute": start_minute if start_minute is not None else start,
            "end_minute": (end_minute or 1440) if end_minute is not None else end,
        }
    else:
        settings["send_window"] = None
    for name in BOOLEAN_SETTINGS:
        settings[name] = data.get(name) == "on"
    payload: dict[str, Any] = {"name": data.get("name", ""), "steps": steps, "settings": settings}
    if "visibility" in data:
        payload["sharing"] = _sharing(data)
    return payload


def _sharing(data: QueryDict) -> dict[str, Any]:
    return {
        "visibility": data.get("visibility", ""),
        "users": ids(data.getlist("shared_users")),
        "teams": ids(data.getlist("shared_teams")),
    }


def _form_from_sequence(sequence: Sequence | None) -> dict[str, Any]:
    if sequence is None:
        defaults = SequenceSettings()
        return {
            "name": "",
            "steps": [
                {"type": StepType.AUTOMATED_EMAIL, "delay_days": 0, "subject": "", "body_html": "", "title": "",
                 "notes": "", "priority": "none", "create_task_immediately": False,
                 "continue_without_completion": False},
            ],
            "settings": {
                "follow_up_days": defaults.follow_up_days, "window_start": "", "window_end": "",
                **{name: getattr(defaults, name) for name in BOOLEAN_SETTINGS},
            },
            "sharing": {"visibility": "private", "users": [], "teams": []},
        }
    return {
        "name": sequence.name,
        "steps": [
            {name: getattr(step, name) for name in (
                "type", "delay_days", "subject", "body_html", "title", "notes", "priority",
                "create_task_immediately", "continue_without_completion")}
            for step in sequence.steps.order_by("order")
        ],
        "settings": {
            "follow_up_days": sequence.follow_up_days,
            "window_start": _minutes_text(sequence.send_window_start_minute),
            "window_end": _minutes_text(sequence.send_window_end_minute),
            **{name: getattr(sequence, name) for name in BOOLEAN_SETTINGS},
        },
        "sharing": {
            "visibility": sequence.visibility,
            "users": list(sequence.shared_users.values_list("pk", flat=True)),
            "teams": list(sequence.shared_teams.values_list("pk", flat=True)),
        },
    }


def _form_from_payload(payload: dict[str, Any], data: QueryDict) -> dict[str, Any]:
    settings = payload["settings"]
    return {
        "name": payload["name"],
        "steps": payload["steps"],
        "settings": {
            "follow_up_days": settings["follow_up_days"],
            "window_start": data.get("window_start", ""),
            "window_end": data.get("window_end", ""),
            **{name: settings[name] for name in BOOLEAN_SETTINGS},
        },
        "sharing": payload.get("sharing") or {"visibility": "private", "users": [], "teams": []},
    }


def _editor_context(request: HttpRequest, form: dict[str, Any], sequence: Sequence | None,
                    errors: dict[str, list[str]] | None = None, error: str = "") -> dict[str, Any]:
    errors = errors or {}
    for index, step in enumerate(form["steps"]):
        step["errors"] = {
            key.rsplit(".", 1)[1]: messages for key, messages in errors.items() if key.startswith(f"steps.{index}.")
        }
        step["is_task"] = step["type"] != StepType.AUTOMATED_EMAIL
        step["is_email"] = step["type"] in (StepType.AUTOMATED_EMAIL, StepType.MANUAL_EMAIL)
    return {
        "form": form,
        "sequence": sequence,
        "errors": errors,
        "error": error,
        "step_types": StepType.choices,
        "task_types": [(v, label) for v, label in StepType.choices if v != StepType.AUTOMATED_EMAIL],
        "priorities": Priority.choices,
        "follow_up_choices": FollowUpDays.choices,
        "boolean_settings": [(name, SETTING_LABELS[name]) for name in BOOLEAN_SETTINGS],
        "visibilities": Sequence.Visibility.choices,
        "users": User.objects.filter(is_active=True).order_by("username"),
        "teams": Team.objects.order_by("name"),
        "editor_data": editor_data(request.user),
        "blank_step": {
            "type": StepType.AUTOMATED_EMAIL, "delay_days": 2, "subject": "", "body_html": "", "title": "",
            "notes": "", "priority": Priority.NONE, "errors": {}, "is_email": True, "is_task": False,
        },
    }


@login_required
@require_http_methods(["GET", "POST"])
def sequence_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        payload = _payload(request.POST)
        try:
            sequence = sequence_create(owner=request.user, **payload)
        except ServiceError as exc:
            context = _editor_context(
                request, _form_from_payload(payload, request.POST), None,
                exc.extra.get("fields") or {}, service_error_text(exc),
            )
            return render(request, "sequences/editor.html", context, status=400)
        messages.success(request, f"Sequence “{sequence.name}” created.")
        return redirect("sequences:detail", pk=sequence.pk)
    return render(request, "sequences/editor.html", _editor_context(request, _form_from_sequence(None), None))


@login_required
@require_http_methods(["GET", "POST"])
def sequence_edit(request: HttpRequest, pk: int) -> HttpResponse:
    sequence = get_object_or_404(sequences_visible_to(request.user), pk=pk)
    if request.method == "POST":
        payload = _payload(request.POST)
        payload.pop("sharing", None)
        try:
            sequence_update(sequence=sequence, user=request.user, **payload)
        except ServiceError as exc:
            form = _form_from_payload(payload, request.POST)
            form["sharing"] = _form_from_sequence(sequence)["sharing"]
            context = _editor_context(request, form, sequence, exc.extra.get("fields") or {}, service_error_text(exc))
            return render(request, "sequences/editor.html", context, status=400 if exc.status_code < 500 else 500)
        messages.success(request, "Sequence saved. Contacts enrolled before keep the steps they started with.")
        return redirect("sequences:detail", pk=sequence.pk)
    if not sequence_is_editable_by(sequence, request.user):
        messages.info(request, "Only the sequence's owner or an admin can change it.")
        return redirect("sequences:detail", pk=sequence.pk)
    return render(request, "sequences/editor.html", _editor_context(request, _form_from_sequence(sequence), sequence))


# --- The sequence page ------------------------------------------------------------------------


def _sequence_context(request: HttpRequest, sequence: Sequence, tab: str) -> dict[str, Any]:
    return {
        "sequence": sequence,
        "tab": tab,
        "can_edit": sequence_is_editable_by(sequence, request.user),
        "steps": list(sequence.steps.order_by("order")),
        "users": User.objects.filter(is_active=True).order_by("username"),
        "teams": Team.objects.order_by("name"),
        "visibilities": Sequence.Visibility.choices,
        "shared_user_ids": set(sequence.shared_users.values_list("pk", flat=True)),
        "shared_team_ids": set(sequence.shared_teams.values_list("pk", flat=True)),
    }


@login_required
def sequence_detail(request: HttpRequest, pk: int) -> HttpResponse:
    sequence = sequences_visible_to(request.user).select_related("owner").filter(pk=pk).first()
    if sequence is None:
        # No longer shared with them: a rep still sees (and controls) the enrollments they sent in it.
        sequence = get_object_or_404(sequences_enrolled_by(request.user).select_related("owner"), pk=pk)
        page = paginate(_enrollments_in(sequence, request.user), request.GET, per_page=25, keyset=NEWEST)
        return render(request, "sequences/no_longer_shared.html", {"sequence": sequence, "page": page})
    context = _sequence_context(request, sequence, "overview")
    context["page"] = paginate(_enrollments_in(sequence, request.user), request.GET, per_page=25, keyset=NEWEST)
    context["stats"] = sequence_list_stats([sequence.pk])[sequence.pk]
    return render(request, "sequences/detail.html", context)


def _enrollments_in(sequence: Sequence, user: User) -> QuerySet[Enrollment]:
    return (
        enrollments_visible_to(user)
        .filter(sequence=sequence)
        .select_related("contact", "sender", "sequence")
        .prefetch_related(Prefetch("steps", queryset=EnrollmentStep.objects.order_by("order")))
        .order_by("-enrolled_at", "-id")
    )


@login_required
def sequence_performance_page(request: HttpRequest, pk: int) -> HttpResponse:
    sequence = get_object_or_404(sequences_visible_to(request.user).select_related("owner"), pk=pk)
    context = _sequence_context(request, sequence, "performance")
    performance = sequence_performance(sequence=sequence)
    for row in performance["steps"]:
        row["type_label"] = StepType(row["type"]).label if row["type"] in StepType.values else "Removed step"
    context["performance"] = performance
    context["chart"] = _chart(performance["timeline"])
    return render(request, "sequences/performance.html", context)


def _chart(timeline: list[dict[str, Any]]) -> dict[str, Any]:
    """Polylines for an inline SVG chart (enrolled, sent, replied per day)."""
    width, height, pad = 720, 220, 28
    highest = max([0] + [max(day["enrolled"], day["sent"], day["replied"]) for day in timeline])
    peak = max(4, -(-highest // 4) * 4)  # A multiple of 4, so the four grid steps are whole numbers.
    step = (width - 2 * pad) / max(1, len(timeline) - 1)

    def points(key: str) -> str:
        return " ".join(
            f"{pad + i * step:.1f},{height - pad - (day[key] / peak) * (height - 2 * pad):.1f}"
            for i, day in enumerate(timeline)
        )

    ticks = [{"y": height - pad - n / 4 * (height - 2 * pad), "value": peak * n // 4} for n in range(5)]
    last = len(timeline) - 1
    labels = [
        {"x": pad + i * step, "text": day["date"][5:]}
        for i, day in enumerate(timeline)
        if (last - i) % 7 == 0
    ]
    return {
        "width": width, "height": height, "pad": pad, "ticks": ticks, "labels": labels,
        "series": [
            {"key": "enrolled", "label": "Enrolled", "color": "#2b59c3", "points": points("enrolled")},
            {"key": "sent", "label": "Emails sent", "color": "#ff6a3d", "points": points("sent")},
            {"key": "replied", "label": "Replies", "color": "#12805c", "points": points("replied")},
        ],
        "empty": all(day["enrolled"] == day["sent"] == day["replied"] == 0 for day in timeline),
    }


@login_required
@require_POST
def sequence_share(request: HttpRequest, pk: int) -> HttpResponse:
    sequence = get_object_or_404(sequences_visible_to(request.user), pk=pk)
    try:
        sequence_update(sequence=sequence, user=request.user, sharing=_sharing(request.POST))
    except ServiceError as exc:
        messages.error(request, service_error_text(exc))
    else:
        messages.success(request, "Sharing saved.")
    return redirect("sequences:detail", pk=pk)


@login_required
@require_POST
def sequence_remove(request: HttpRequest, pk: int) -> HttpResponse:
    sequence = get_object_or_404(sequences_visible_to(request.user), pk=pk)
    try:
        ended = sequence_delete(sequence=sequence, user=request.user)
    except ServiceError as exc:
        messages.error(request, service_error_text(exc))
        return redirect("sequences:detail", pk=pk)
    messages.success(request, f"Sequence “{sequence.name}” deleted; {ended} running enrollment(s) were ended.")
    return redirect("sequences:index")
