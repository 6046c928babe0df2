"""Writes over sequences: create, edit and (soft) delete, with every input rule in one place.

A sequence is written whole or not at all: its name, sharing, settings and
steps are checked together, every problem is reported under its field name
(`steps.<index>.<field>`, the index being the step's position in the
submitted `steps` list), and only then is anything saved.

Edits replace the step rows outright. That is safe because an enrollment
never points at a SequenceStep: it runs from the snapshot of steps and
settings taken when it was enrolled, so an edit reaches new enrollments only.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts_app.models import Team, User
from config.errors import NotAllowed, ServiceError, ValidationFailed
from sequences_app.html import sanitize_email_html
from sequences_app.models import Enrollment, Priority, Sequence, SequenceStep, StepType
from sequences_app.selectors import sequence_is_editable_by
from sequences_app.sequence_settings import SequenceSettings
from sequences_app.services.inputs import FieldErrors
from sequences_app.tokens import tokens_validate_fields

MAX_STEPS = 50
MAX_DELAY_DAYS = 365
MAX_SUBJECT = 998  # RFC 5322 line limit, and the column's size.
MAX_BODY = 200_000  # Far beyond any real email; stops megabyte bodies reaching every send.
MAX_NOTES = 20_000
EDITABLE_FIELDS = frozenset({"name", "sharing", "settings", "steps"})

_TAG = re.compile(r"<[^>]*>")
_NBSP = re.compile(r"&nbsp;|&#160;|\xa0")


def sequence_create(*, owner: User, name: Any, steps: Any, sharing: Any = None, settings: Any = None) -> Sequence:
    """Create a sequence with its steps from API-shaped values; raises ValidationFailed listing every problem."""
    errors = FieldErrors()
    clean_name = _clean_name(errors, name)
    visibility, users, teams = _clean_sharing(errors, sharing, current=None)
    clean_settings = _clean_settings(errors, settings, base=SequenceSettings())
    rows = _clean_steps(errors, steps)
    errors.raise_if_any("The sequence is not valid.")

    with transaction.atomic():
        sequence = Sequence(owner=owner, name=clean_name, visibility=visibility)
        clean_settings.apply_to(sequence)
        sequence.save()
        sequence.shared_users.set(users)
        sequence.shared_teams.set(teams)
        SequenceStep.objects.bulk_create(SequenceStep(sequence=sequence, **row) for row in rows)
    return sequence


def sequence_update(*, sequence: Sequence, user: User, full: bool = False, **changes: Any) -> Sequence:
    """Edit a sequence: `full=False` (PATCH) changes only the fields given, `full=True` (PUT) replaces all.

    1. Only the owner or an admin may edit (403 PERMISSION_DENIED otherwise;
       the caller has already made sure the user can see the sequence).
    2. The row is locked, so two edits at once apply one after the other
       instead of interleaving their step replacements.
    3. Settings merge onto the current ones (PATCH) or onto the defaults
       (PUT); `steps`, when given, replace the whole step list.
    """
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"sequence_update() got unexpected fields: {', '.join(sorted(unknown))}")
    _ensure_editable(sequence, user)
    if full:
        for field in ("name", "steps"):
            changes.setdefault(field, None)

    with transaction.atomic():
        locked = Sequence.objects.select_for_update().filter(pk=sequence.pk, deleted_at__isnull=True).first()
        if locked is None:
            raise ServiceError("NOT_FOUND", "This sequence no longer exists.", status_code=404)
        errors = FieldErrors()
        name = _clean_name(errors, changes["name"]) if "name" in changes else None
        sharing = None
        if full or changes.get("sharing") is not None:
            current = None if full else _current_sharing(locked)
            sharing = _clean_sharing(errors, changes.get("sharing"), current=current)
        new_settings = None
        if full or "settings" in changes:
            base = SequenceSettings() if full else SequenceSettings.from_sequence(locked)
            new_settings = _clean_settings(errors, changes.get("settings"), base=base)
        rows = _clean_steps(errors, changes["steps"]) if "steps" in changes else None
        errors.raise_if_any("The sequence is not valid.")

        if name is not None:
            locked.name = name
        if new_settings is not None:
            new_settings.apply_to(locked)
        if sharing is not None:
            locked.visibility = sharing[0]
        locked.save()  # Also bumps updated_at when only steps or sharing changed.
        if sharing is not None:
            locked.shared_users.set(sharing[1])
            locked.shared_teams.set(sharing[2])
        if rows is not None:
            locked.steps.all().delete()
            SequenceStep.objects.bulk_create(SequenceStep(sequence=locked, **row) for row in rows)
    return locked


def sequence_delete(*, sequence: Sequence, user: User) -> int:
    """Soft-delete a sequence and unenroll its live enrollments (reason SEQUENCE_DELETED); returns how many.

    The row stays (with `deleted_at`) so enrollment history and analytics
    stay whole; every selector hides it from then on. Marking it deleted and
    ending its enrollments happen in one transaction, so no enrollment can
    outlive a sequence that is gone, nor a failed delete leave it half done.
    """
    from sequences_app.services.enrollment_state import enrollments_unenroll

    _ensure_editable(sequence, user)
    now = timezone.now()
    with transaction.atomic():
        marked = Sequence.objects.filter(pk=sequence.pk, deleted_at__isnull=True).update(deleted_at=now, updated_at=now)
        if not marked:
            raise ServiceError("NOT_FOUND", "This sequence no longer exists.", status_code=404)
        live = Enrollment.objects.filter(sequence_id=sequence.pk, status__in=Enrollment.LIVE_STATUSES)
        ended = enrollments_unenroll(enrollments=live, reason=Enrollment.Reason.SEQUENCE_DELETED)
    sequence.deleted_at = now
    return ended


def _ensure_editable(sequence: Sequence, user: User) -> None:
    if not sequence_is_editable_by(sequence, user):
        raise NotAllowed("PERMISSION_DENIED", "Only the sequence's owner or an admin may change it.")


def _clean_name(errors: FieldErrors, value: Any) -> str:
    return errors.text(value, field="name", max_length=255, required=True, strip=True, single_line=True)


def _current_sharing(sequence: Sequence) -> tuple[str, list[int], list[int]]:
    return (
        sequence.visibility,
        list(sequence.shared_users.values_list("pk", flat=True)),
        list(sequence.shared_teams.values_list("pk", flat=True)),
    )


def _clean_sharing(
    errors: FieldErrors, value: Any, *, current: tuple[str, list[int], list[int]] | None
) -> tuple[str, list[int], list[int]]:
    """`{"visibility", "users", "teams"}`; keys left out keep `current` (PATCH) or the default (private, none).

    Users and teams are kept as given whatever the visibility, so switching
    to "everyone" and back to "specific" doesn't lose the selection; only
    `specific` gives them access (see sequences_visible_to).
    """
    visibility, users, teams = current or (Sequence.Visibility.PRIVATE.value, [], [])
    if value is None:
        return visibility, users, teams
    if not isinstance(value, dict):
        errors.add("sharing", "Must be an object with visibility, users and teams.")
        return visibility, users, teams
    if "visibility" in value:
        visibility = (
            errors.choice(value["visibility"], field="sharing.visibility", choices=Sequence.Visibility.values)
            or visibility
        )
    if "users" in value:
        users = errors.ids(value["users"], field="sharing.users")
        _check_exist(errors, User, users, field="sharing.users", what="user")
    if "teams" in value:
        teams = errors.ids(value["teams"], field="sharing.teams")
        _check_exist(errors, Team, teams, field="sharing.teams", what="team")
    return visibility, users, teams


def _check_exist(errors: FieldErrors, model: type[User] | type[Team], ids: list[int], *, field: str, what: str) -> None:
    if not ids:
        return
    found = set(model.objects.filter(pk__in=ids).values_list("pk", flat=True))
    missing = [str(pk) for pk in ids if pk not in found]
    if missing:
        errors.add(field, f"Unknown {what} id(s): {', '.join(missing)}.")


def _clean_settings(errors: FieldErrors, value: Any, *, base: SequenceSettings) -> SequenceSettings:
    try:
        return base.merged(value)
    except ValidationFailed as exc:
        errors.merge(exc.extra["fields"])
        return base


def _clean_steps(errors: FieldErrors, value: Any) -> list[dict[str, Any]]:
    """Validated step rows, sorted by order, ready for `SequenceStep(**row)`.

    1. Shape: a list of 1..50 objects (longer lists are refused before
       looking at a single step).
    2. Each step alone: type, delay, and the fields its type needs.
    3. Together: orders unique and running 1..n once sorted (given orders
       are accepted in any sequence); the first step has no delay; the first
       automated email needs a subject — an empty subject on a later one
       means "reply in the first email's thread", which the first can't do.
    4. Tokens, checked on the sanitised text that will actually be stored.
    """
    if value is None:
        errors.add("steps", "This field is required.")
        return []
    if not isinstance(value, list):
        errors.add("steps", "Must be a list of steps.")
        return []
    if not 1 <= len(value) <= MAX_STEPS:
        errors.add("steps", f"A sequence has from 1 to {MAX_STEPS} steps.")
        return []

    indexed: list[tuple[int, dict[str, Any]]] = []
    for index, raw in enumerate(value):
        if not isinstance(raw, dict):
            errors.add(f"steps.{index}", "Must be an object.")
            continue
        indexed.append((index, _clean_step(errors, raw, prefix=f"steps.{index}", position=index + 1)))

    seen: dict[int, int] = {}
    orders_readable = len(indexed) == len(value)
    for index, row in indexed:
        order = row["order"]
        if order is None:
            orders_readable = False
        elif order in seen:
            orders_readable = False
            errors.add(f"steps.{index}.order", f"steps.{seen[order]} already has order {order}.")
        else:
            seen[order] = index
    if orders_readable and sorted(seen) != list(range(1, len(value) + 1)):
        errors.add("steps", f"Step orders must run from 1 to {len(value)} without gaps.")

    indexed.sort(key=lambda item: item[1]["order"] or 0)
    if indexed:
        indexed[0][1]["delay_days"] = 0
    first_email = next(((i, row) for i, row in indexed if row["type"] == StepType.AUTOMATED_EMAIL), None)
    if first_email and not first_email[1]["subject"].strip() and f"steps.{first_email[0]}.subject" not in errors.fields:
        errors.add(
            f"steps.{first_email[0]}.subject",
            "The first email needs a subject (later ones may leave it empty to reply in its thread).",
        )

    texts = {
        f"steps.{index}.{name}": row[name]
        for index, row in indexed
        for name in ("subject", "body_html", "title", "notes")
        if row.get(name)
    }
    errors.merge(tokens_validate_fields(texts))
    return [row for _, row in indexed]


def _clean_step(errors: FieldErrors, raw: dict[str, Any], *, prefix: str, position: int) -> dict[str, Any]:
    """One step's row; fields its type doesn't use are stored empty (an `id` echoed back is ignored)."""
    order = errors.integer(raw.get("order", position), field=f"{prefix}.order", minimum=1, maximum=MAX_STEPS)
    step_type = errors.choice(raw.get("type"), field=f"{prefix}.type", choices=StepType.values)
    delay = raw.get("delay_days")
    delay_days = (
        0 if delay is None else errors.integer(delay, field=f"{prefix}.delay_days", minimum=0, maximum=MAX_DELAY_DAYS)
    )
    row: dict[str, Any] = {
        "order": order,
        "type": step_type,
        "delay_days": delay_days or 0,
        "subject": "",
        "body_html": "",
        "title": "",
        "notes": "",
        "priority": Priority.NONE.value,
        "create_task_immediately": False,
        "continue_without_completion": False,
    }
    if step_type is None:
        return row
    is_email = step_type in (StepType.AUTOMATED_EMAIL, StepType.MANUAL_EMAIL)
    if is_email:
        row["subject"] = errors.text(
            raw.get("subject"), field=f"{prefix}.subject", max_length=MAX_SUBJECT, single_line=True
        )
        body = errors.text(raw.get("body_html"), field=f"{prefix}.body_html", max_length=MAX_BODY)
        row["body_html"] = sanitize_email_html(body) if body else ""
        if (
            step_type == StepType.AUTOMATED_EMAIL
            and f"{prefix}.body_html" not in errors.fields
            and html_is_blank(row["body_html"])
        ):
            errors.add(f"{prefix}.body_html", "An automated email needs a body.")
    if step_type != StepType.AUTOMATED_EMAIL:
        row["title"] = errors.text(
            raw.get("title"), field=f"{prefix}.title", max_length=255, required=True, strip=True, single_line=True
        )
        row["notes"] = errors.text(raw.get("notes"), field=f"{prefix}.notes", max_length=MAX_NOTES)
        row["priority"] = (
            errors.choice(
                raw.get("priority"), field=f"{prefix}.priority", choices=Priority.values, default=Priority.NONE.value
            )
            or Priority.NONE.value
        )
        for flag in ("create_task_immediately", "continue_without_completion"):
            row[flag] = errors.boolean(raw.get(flag), field=f"{prefix}.{flag}", default=False)
    return row


def html_is_blank(body: str) -> bool:
    """No text and no image: what an empty rich-text editor submits (`<p><br></p>`)."""
    return "<img" not in body and not _NBSP.sub("", _TAG.sub("", body)).strip()
