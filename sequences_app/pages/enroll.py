"""The enrollment flow's pages: pick contacts, review (a dry run), enroll, result.

One set of views for every entry point. The review screen is one form;
each change posts it to `preview`, which asks enrollment_create for a dry
run and re-renders the screen with the verdicts and projected schedules.
`submit` posts the same form for real.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytz
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts_app.models import PortalSettings
from config.errors import ServiceError
from config.paging import COUNT_CAP, count_up_to, sorted_from_matches
from config.params import id_or_none, ids
from contacts_app.models import Contact
from sequences_app.enroll_form import EnrollDraft
from sequences_app.models import FollowUpDays, Sequence, StepType
from sequences_app.page_messages import rejection_label, rejection_text, service_error_text
from sequences_app.rendering import borrowed_subject_step
from sequences_app.selectors import sequences_visible_to
from sequences_app.services.enrollments import EnrollmentResult, enrollment_create

PICK_RESULTS = 30


@dataclass
class Verdict:
    """One contact's line on the review or result screen."""

    contact: Contact | None
    contact_id: int
    ok: bool
    label: str = ""
    text: str = ""
    code: str = ""
    tokens: list[str] | None = None
    schedule: list[dict[str, Any]] | None = None
    time_zone: str = ""
    enrollment_id: int | None = None


def _sequence_for(request: HttpRequest, sequence_id: int | None) -> Sequence:
    if sequence_id is None:
        raise Http404("Choose a sequence.")
    return get_object_or_404(sequences_visible_to(request.user), pk=sequence_id)


def _verdicts(result: EnrollmentResult, contacts: dict[int, Contact]) -> list[Verdict]:
    lines: list[Verdict] = []
    for item in result.enrolled:
        schedule = [
            # Naive wall-clock time: the template's |date must not turn it back into UTC.
            {"order": step.order, "type": step.type, "at": step.at,
             "local": step.at.astimezone(ZoneInfo(item.time_zone)).replace(tzinfo=None)}
            for step in item.schedule
        ]
        lines.append(
            Verdict(
                contact=contacts.get(item.contact), contact_id=item.contact, ok=True, schedule=schedule,
                time_zone=item.time_zone, enrollment_id=item.id,
            )
        )
    for rejection in result.rejected:
        lines.append(
            Verdict(
                contact=contacts.get(rejection.contact),
                contact_id=rejection.contact,
                ok=False,
                code=rejection.code,
                label=rejection_label(rejection.code),
                text=rejection_text(rejection.code, rejection.message, rejection.extra),
                tokens=rejection.extra.get("tokens"),
            )
        )
    return lines


def _review_context(
    request: HttpRequest, draft: EnrollDraft, *, notice: dict[str, Any] | None = None
) -> dict[str, Any]:
    sequence = _sequence_for(request, draft.sequence_id)
    selected = draft.selected_ids()
    on_screen = draft.contacts_on_screen(selected)
    by_id = {contact.pk: contact for contact in on_screen}
    base = draft.base_steps(sequence)
    focus_contact = None
    if draft.focus != "all" and id_or_none(draft.focus) in by_id:
        focus_contact = int(draft.focus)
    else:
        draft.focus = "all"
    error = None
    verdicts: list[Verdict] = []
    kwargs = draft.service_kwargs(sequence=sequence, selected=selected)
    if draft.form_errors:
        error = " ".join(draft.form_errors)
    else:
        try:
            result = enrollment_create(caller=request.user, dry_run=True, **kwargs)
        except ServiceError as exc:
            error = service_error_text(exc)
            fields = exc.extra.get("fields") or {}
            if fields:
                error += " " + " ".join(f"{name}: {' '.join(msgs)}" for name, msgs in fields.items())
        else:
            verdicts = _verdicts(result, by_id)
    verdict_by_contact = {verdict.contact_id: verdict for verdict in verdicts}
    missing: dict[str, list[int]] = {}
    for verdict in verdicts:
        for token in verdict.tokens or []:
            missing.setdefault(token, []).append(verdict.contact_id)
    ready = [verdict for verdict in verdicts if verdict.ok]
    all_steps = draft.steps_for(base, focus_contact)
    steps = [step for step in all_steps if step["order"] >= draft.start_step]
    borrowed = borrowed_subject_step(all_steps, draft.start_step)
    opening = next((step for step in steps if step["type"] == StepType.AUTOMATED_EMAIL), None)
    edit_prefix = f"co.{focus_contact}" if focus_contact is not None else "so"
    existing = draft.contact_step_edits.get(focus_contact, {}) if focus_contact is not None else draft.step_edits
    for step in steps:
        step["named"] = set(existing.get(step["order"], {}))
    mailboxes = list(request.user.mailboxes.order_by("-is_primary", "email"))
    return {
        "sequence": sequence,
        "draft": draft,
        "contacts": on_screen,
        "total": len(selected),
        "verdicts": verdicts,
        "verdict_by_contact": verdict_by_contact,
        "ready": ready,
        "ready_count": len(ready),
        "error": error,
        "missing_tokens": missing,
        "steps": steps,
        "all_orders": list(base),
        "focus_contact": by_id.get(focus_contact) if focus_contact is not None else None,
        "edit_prefix": edit_prefix,
        "hidden_edits": draft.hidden_edits(focus_contact),
        "mailboxes": mailboxes,
        "time_zones": pytz.common_timezones,
        "portal_tz": PortalSettings.load().time_zone,
        "follow_up_choices": FollowUpDays.choices,
        "notice": notice,
        # The first email replies in thread but has no thread yet: the page says which subject it carries.
        "borrowed_subject": borrowed["subject"] if borrowed is not None else "",
        "borrowed_for": opening["order"] if borrowed is not None and opening is not None else None,
    }


@login_required
@require_GET
def enroll_start(request: HttpRequest) -> HttpResponse:
    """The review screen, opened from any entry point with the selection in the query string."""
    draft = EnrollDraft.from_data(request.GET)
    return render(request, "enroll/review.html", _review_context(request, draft))


@login_required
@require_POST
def enroll_preview(request: HttpRequest) -> HttpResponse:
    """htmx: the review screen's body again, for the form as it is now (a dry run)."""
    draft = EnrollDraft.from_data(request.POST)
    return render(request, "enroll/_review_body.html", _review_context(request, draft))


@login_required
@require_POST
def enroll_submit(request: HttpRequest) -> HttpResponse:
    """Enroll everyone who passes, or one contact (`only`); show what happened."""
    draft = EnrollDraft.from_data(request.POST)
    sequence = _sequence_for(request, draft.sequence_id)
    selected = draft.selected_ids()
    only = draft.focus if request.POST.get("only") else None
    only_id = id_or_none(only) if id_or_none(only) in selected else None
    kwargs = draft.service_kwargs(sequence=sequence, selected=selected, only=only_id)
    if draft.form_errors:
        return render(request, "enroll/review.html", _review_context(request, draft), status=400)
    try:
        result = enrollment_create(caller=request.user, dry_run=False, **kwargs)
    except ServiceError as exc:
        context = _review_context(request, draft)
        context["error"] = service_error_text(exc)
        return render(request, "enroll/review.html", context, status=400)
    contacts = {c.pk: c for c in draft.contacts_on_screen([*selected, *(r.contact for r in result.rejected)])}
    verdicts = _verdicts(result, contacts)
    if only_id is not None:
        # One at a time: back to the review without that contact, saying how it went.
        draft.remove(only_id)
        if draft.selected_ids():
            notice = {"verdict": verdicts[0] if verdicts else None}
            return render(request, "enroll/review.html", _review_context(request, draft, notice=notice))
    context = {
        "sequence": sequence,
        "enrolled": [v for v in verdicts if v.ok],
        "rejected": [v for v in verdicts if not v.ok],
        "draft": draft,
    }
    return render(request, "enroll/result.html", context, status=201 if context["enrolled"] else 200)


@login_required
@require_http_methods(["GET", "POST"])
def enroll_pick_contacts(request: HttpRequest) -> HttpResponse:
    """htmx: the right-hand panel's contact search; ticked contacts stay ticked and on top."""
    data = request.POST if request.method == "POST" else request.GET
    chosen_ids = ids(data.getlist("contacts"))[:200]
    chosen = list(Contact.objects.filter(pk__in=chosen_ids).select_related("company"))
    query = data.get("q", "").strip()[:200]
    found = Contact.objects.select_related("company").exclude(pk__in=chosen_ids)
    for word in query.split()[:5]:
        found = found.filter(Q(first_name__icontains=word) | Q(last_name__icontains=word) | Q(email__icontains=word))
    found = found.order_by("last_name", "first_name", "id")
    if query and not count_up_to(found, COUNT_CAP)[1]:
        found = sorted_from_matches(found)  # a name few contacts have: sort them, don't walk the name index
    context = {"chosen": chosen, "found": list(found[:PICK_RESULTS])}
    return render(request, "enroll/_pick_results.html", context)
