"""Enrolling contacts into a sequence: the one service every entry point calls.

The API, the pages (record, index, list, sequence tool) and workflows all
come here, so every rule of SPEC §5 is written once:

1. The whole action is refused (a ServiceError with a request-level code)
   when the sender may not enroll, has no connected mailbox, can't use the
   sequence, or the request is malformed, too big or needs a permission.
2. Each contact is judged on its own (per-contact codes), with one query per
   kind of fact for the whole batch, never one per contact.
3. Contacts that pass get a schedule (timing, bulk throttle) and are checked
   against the sender's rolling-24-hour limit at their first email.
4. Unless it is a dry run, every passing contact is enrolled with a snapshot
   of the steps (with this contact's edits) and settings, atomically.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts_app.models import PortalSettings, User
from accounts_app.selectors import user_can_enroll
from config.errors import NotAllowed, ServiceError, ValidationFailed
from contacts_app.models import BlockedEntry, Company, Contact, ContactList, CustomObject, Deal, Ticket
from contacts_app.selectors import list_members
from mailboxes_app.models import Mailbox
from sequences_app.html import sanitize_email_html
from sequences_app.models import TASK_STEP_TYPES, Enrollment, EnrollmentStep, Priority, Sequence, StepType
from sequences_app.rendering import borrowed_subject_step
from sequences_app.scheduling.limits import (
    MinuteThrottle,
    SendLoad,
    mailbox_minute_throttle,
    sender_bulk_throttle,
    sender_load,
    throttles_place,
)
from sequences_app.scheduling.timing import FollowUpRules, ProjectedStep, StepTiming, project_schedule, to_utc
from sequences_app.selectors import sequence_is_shared_with
from sequences_app.sequence_settings import SequenceSettings
from sequences_app.tokens import is_token_name, token_value, tokens_in, tokens_missing, tokens_validate_fields

STEP_FIELDS = (
    "order",
    "type",
    "delay_days",
    "subject",
    "body_html",
    "title",
    "notes",
    "priority",
    "create_task_immediately",
    "continue_without_completion",
)
EMAIL_OVERRIDE_FIELDS = {"subject", "body_html", "delay_days"}
TASK_OVERRIDE_FIELDS = {"title", "notes", "priority", "delay_days", "subject", "body_html"}
# A send-later time this far in the past is taken as "now" (the form took a moment to submit).
SEND_AT_GRACE = timedelta(minutes=1)
# How far ahead a first email may be scheduled: beyond it, a date is a typo (or a probe), not a plan.
SEND_AT_MAX_AHEAD = timedelta(days=365)

MESSAGES = {
    "CONTACT_NOT_FOUND": "There is no contact with this id.",
    "MISSING_EMAIL": "The contact has no email address.",
    "BOUNCED": "An email to this contact bounced: {reason}",
    "UNSUBSCRIBED": "The contact unsubscribed from all email.",
    "UNSUBSCRIBED_SALES": "The contact unsubscribed from sales email.",
    "PREVIOUSLY_MARKED_AS_SPAM": "The contact marked an earlier email as spam.",
    "BLOCKED_ADDRESS": "The contact's address {email} is on the blocklist.",
    "BLOCKED_DOMAIN": "The contact's domain {domain} is on the blocklist.",
    "NO_ASSOCIATED_CONTACT": "The contact is not associated with this {record}.",
    "ALREADY_ENROLLED": "The contact is already enrolled in a sequence; unenroll them first.",
    "DAILY_SEND_LIMIT_REACHED": "The sender has reached their limit of {limit} sequence emails in 24 hours.",
    "MISSING_TOKEN_VALUES": "Values are missing for {tokens}.",
}


@dataclass(frozen=True)
class RecordRef:
    """The record a rep enrolls from: `type` is company, deal, ticket or a custom object schema's name."""

    type: str
    id: int


@dataclass(frozen=True)
class ContactOverride:
    token_values: Mapping[str, str] = field(default_factory=dict)
    steps: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)


@dataclass
class Rejection:
    contact: int
    code: str
    message: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Enrolled:
    contact: int
    status: str
    time_zone: str
    schedule: list[ProjectedStep]
    id: int | None = None


@dataclass
class EnrollmentResult:
    enrolled: list[Enrolled]
    rejected: list[Rejection]
    dry_run: bool


@dataclass
class _Plan:
    """One contact that passed every rule, ready to be written."""

    contact: Contact
    tz_name: str
    steps: list[dict[str, Any]]
    token_values: dict[str, str]
    step_overrides: dict[str, dict[str, Any]]
    schedule: list[ProjectedStep] = field(default_factory=list)


def enrollment_create(
    *,
    sequence: Sequence,
    caller: User,
    contact_ids: Iterable[int] = (),
    contact_list: ContactList | None = None,
    exclude: Iterable[int] = (),
    record: RecordRef | None = None,
    sender: User | None = None,
    mailbox: Mailbox | None = None,
    start_step: int = 1,
    time_zone: str | None = None,
    send_at: datetime | None = None,
    settings_override: Mapping[str, Any] | None = None,
    token_values: Mapping[str, str] | None = None,
    contact_overrides: Mapping[int, ContactOverride] | None = None,
    step_overrides: Mapping[int, Mapping[str, Any]] | None = None,
    dry_run: bool = False,
    via_workflow: bool = False,
    now: datetime | None = None,
) -> EnrollmentResult:
    """Judge, schedule and (unless `dry_run`) enroll contacts; raise ServiceError to refuse the whole action.

    `caller` is the user acting (for a workflow, the user who saved it last:
    its rules hold for workflows too); `sender` defaults to the caller.
    `via_workflow` records no enroller, so task steps go to the sender.
    `send_at` is a naive local time in the enrollment time zone.
    """
    now = now or timezone.now()
    sender = sender or caller
    _check_sender(sequence=sequence, caller=caller, sender=sender)
    mailbox = _sending_mailbox(sender=sender, mailbox=mailbox, caller=caller)
    base_steps = [_step_dict(step) for step in sequence.steps.order_by("order")]
    if start_step not in {step["order"] for step in base_steps}:
        raise ServiceError("INVALID_START_STEP", f"The sequence has no step {start_step}.")
    if time_zone is not None and not _is_time_zone(time_zone):
        raise ServiceError("INVALID_TIME_ZONE", f"{time_zone!r} is not a known time zone.")
    effective_settings = SequenceSettings.from_sequence(sequence).merged(settings_override)
    token_values = dict(token_values or {})
    contact_overrides = dict(contact_overrides or {})
    _check_overrides(base_steps, token_values, step_overrides or {}, contact_overrides)
    ids = _contact_ids(contact_ids=contact_ids, contact_list=contact_list, exclude=exclude, record=record)
    _check_batch_size(ids, caller=caller)

    portal = PortalSettings.load()
    rules = FollowUpRules(effective_settings.follow_up_days, effective_settings.send_window, portal.holiday_country)
    contacts = Contact.objects.select_related("company").in_bulk(ids)
    _check_send_at(send_at, time_zone, contacts.values(), portal, now)

    rejected: list[Rejection] = []
    plans: list[_Plan] = []
    verdicts = _judge(ids, contacts, record)
    for contact_id in ids:
        code, context = verdicts.get(contact_id, (None, {}))
        if code:
            rejected.append(_reject(contact_id, code, **context))
            continue
        contact = contacts[contact_id]
        override = contact_overrides.get(contact_id, ContactOverride())
        steps = _steps_for_contact(base_steps, step_overrides or {}, override.steps)
        run_steps = [step for step in steps if step["order"] >= start_step]
        # A first email that replies in thread carries the sequence's first subject: its tokens count too.
        borrowed = borrowed_subject_step(steps, start_step)
        used = run_steps if borrowed is None else [*run_steps, {"subject": borrowed["subject"]}]
        values, missing = _token_values(used, contact, sender, token_values, override.token_values)
        if missing:
            rejected.append(_reject(contact_id, "MISSING_TOKEN_VALUES", tokens=missing))
            continue
        tz_name = time_zone or contact.time_zone or portal.time_zone
        if not _is_time_zone(tz_name):
            tz_name = portal.time_zone
        plans.append(
            _Plan(
                contact=contact,
                tz_name=tz_name,
                steps=steps,
                token_values=values,
                step_overrides=_merged_overrides(step_overrides or {}, override.steps),
            )
        )

    is_bulk = len(ids) > 1
    plans = _schedule(
        plans,
        rejected,
        start_step=start_step,
        send_at=send_at,
        now=now,
        rules=rules,
        sender=sender,
        mailbox=mailbox,
        portal=portal,
        is_bulk=is_bulk,
    )
    status = Enrollment.Status.SCHEDULED if send_at is not None else Enrollment.Status.ACTIVE
    enrolled = [Enrolled(plan.contact.pk, status, plan.tz_name, plan.schedule) for plan in plans]
    if not dry_run and plans:
        snapshot_base = {"sequence_name": sequence.name, "settings": effective_settings.to_dict()}
        enrolled_by = None if via_workflow else caller
        batch = _Batch(sequence, sender, enrolled_by, mailbox, start_step, status, is_bulk, snapshot_base)
        created = _write(plans, batch)
        enrolled = []
        for plan in plans:
            if plan.contact.pk in created:
                enrolled.append(
                    Enrolled(plan.contact.pk, status, plan.tz_name, plan.schedule, created[plan.contact.pk])
                )
            else:
                rejected.append(_reject(plan.contact.pk, "ALREADY_ENROLLED"))
    order = {contact_id: index for index, contact_id in enumerate(ids)}
    rejected.sort(key=lambda rejection: order.get(rejection.contact, len(order)))
    return EnrollmentResult(enrolled=enrolled, rejected=rejected, dry_run=dry_run)


# --- Request-level rules ------------------------------------------------------------------


def _check_sender(*, sequence: Sequence, caller: User, sender: User) -> None:
    if sequence.is_deleted:
        raise ServiceError("NOT_FOUND", "This sequence was deleted.", status_code=404)
    if not sequence_is_shared_with(sequence, caller):
        # A sequence the caller can't see doesn't exist for them: the same answer as a missing one
        # (SEQUENCE_NOT_SHARED below is for a sequence the caller sees and the sender doesn't).
        raise ServiceError("NOT_FOUND", "Not found.", status_code=404)
    if sender.pk != caller.pk and not caller.is_staff:
        raise NotAllowed("PERMISSION_DENIED", "Only admins may enroll contacts on behalf of another user.")
    if not sender.is_active or not user_can_enroll(sender):
        raise NotAllowed("NO_SEAT", "The sender needs a Sales or Service Professional or Enterprise seat to enroll.")
    if not sequence_is_shared_with(sequence, sender):
        raise NotAllowed("SEQUENCE_NOT_SHARED", "This sequence is not shared with the sender.")


def _sending_mailbox(*, sender: User, mailbox: Mailbox | None, caller: User) -> Mailbox:
    if mailbox is not None:
        if mailbox.owner_id != caller.pk and not caller.is_staff:
            # Another user's mailbox doesn't exist for the caller: the API's answer for a missing id.
            raise ValidationFailed("No such mailbox.", fields={"mailbox": [f"No mailbox with id {mailbox.pk}."]})
        if mailbox.owner_id != sender.pk:
            raise ValidationFailed(
                "The mailbox is not one of the sender's.", fields={"mailbox": ["Not one of the sender's mailboxes."]}
            )
        if not mailbox.is_connected:
            raise ServiceError(
                "NO_CONNECTED_INBOX", f"The mailbox {mailbox.email} is disconnected; reconnect it first."
            )
        return mailbox
    connected = sorted(
        (box for box in sender.mailboxes.all() if box.is_connected), key=lambda box: (not box.is_primary, box.pk)
    )
    if not connected:
        raise ServiceError("NO_CONNECTED_INBOX", "The sender has no connected mailbox to send from.")
    return connected[0]


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _is_time_zone(name: str) -> bool:
    return name in _time_zones()


def _check_overrides(
    base_steps: list[dict[str, Any]],
    token_values: Mapping[str, str],
    step_overrides: Mapping[int, Mapping[str, Any]],
    contact_overrides: Mapping[int, ContactOverride],
) -> None:
    by_order = {step["order"]: step for step in base_steps}
    errors: dict[str, list[str]] = {}
    texts: dict[str, str] = {}
    _check_token_names(token_values, "token_values", errors)
    _check_step_overrides(step_overrides, by_order, "step_overrides", errors, texts)
    for contact_id, override in contact_overrides.items():
        prefix = f"contact_overrides.{contact_id}"
        _check_token_names(override.token_values, f"{prefix}.token_values", errors)
        _check_step_overrides(override.steps, by_order, f"{prefix}.steps", errors, texts)
    errors.update(tokens_validate_fields(texts))
    if errors:
        raise ValidationFailed("Some edits can't be used.", fields=errors)


def _check_token_names(values: Mapping[str, str], prefix: str, errors: dict[str, list[str]]) -> None:
    for token, value in values.items():
        if not is_token_name(token):
            errors[f"{prefix}.{token}"] = ["Not a token name like contact.first_name."]
        elif not isinstance(value, str) or len(value) > 1000:
            errors[f"{prefix}.{token}"] = ["Must be text of at most 1,000 characters."]


def _check_step_overrides(
    overrides: Mapping[int, Mapping[str, Any]],
    by_order: Mapping[int, dict[str, Any]],
    prefix: str,
    errors: dict[str, list[str]],
    texts: dict[str, str],
) -> None:
    for order, changes in overrides.items():
        name = f"{prefix}.{order}"
        step = by_order.get(order)
        if step is None:
            errors[name] = [f"The sequence has no step {order}."]
            continue
        allowed = TASK_OVERRIDE_FIELDS if step["type"] in TASK_STEP_TYPES else EMAIL_OVERRIDE_FIELDS
        for key, value in changes.items():
            if key not in allowed:
                errors[f"{name}.{key}"] = ["This field can't be edited for this step."]
            elif key == "delay_days":
                if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 365:
                    errors[f"{name}.{key}"] = ["Must be a whole number of days from 0 to 365."]
            elif key == "priority":
                if value not in Priority.values:
                    errors[f"{name}.{key}"] = [f"Must be one of {', '.join(Priority.values)}."]
            elif not isinstance(value, str) or len(value) > 100_000:
                errors[f"{name}.{key}"] = ["Must be text."]
            else:
                texts[f"{name}.{key}"] = value


def _contact_ids(
    *, contact_ids: Iterable[int], contact_list: ContactList | None, exclude: Iterable[int], record: RecordRef | None
) -> list[int]:
    """The contacts the action names, in order, without repeats; at most one past the bulk limit."""
    cap = settings.BULK_ENROLL_MAX_CONTACTS + 1
    if contact_list is not None:
        excluded = set(exclude)
        members = list_members(contact_list=contact_list).exclude(pk__in=excluded).order_by("pk")
        ids: list[int] = list(members.values_list("pk", flat=True)[:cap])
        ids += [contact_id for contact_id in contact_ids if contact_id not in excluded]
    else:
        ids = list(contact_ids)
    unique = list(dict.fromkeys(ids))
    if not unique:
        what = "The list has no contacts left to enroll." if contact_list is not None else "No contacts were chosen."
        raise ServiceError("NO_CONTACTS", what)
    return unique


def _check_batch_size(ids: list[int], *, caller: User) -> None:
    limit = settings.BULK_ENROLL_MAX_CONTACTS
    if len(ids) > limit:
        raise ServiceError(
            "BULK_LIMIT_EXCEEDED", f"At most {limit} contacts can be enrolled in one action; this one names more."
        )
    if len(ids) > 1 and not caller.can_bulk_enroll and not caller.is_staff:
        raise NotAllowed(
            "BULK_PERMISSION_REQUIRED", "Enrolling more than one contact at a time needs the bulk enroll permission."
        )


def _check_send_at(
    send_at: datetime | None, time_zone: str | None, contacts: Iterable[Contact], portal: PortalSettings, now: datetime
) -> None:
    if send_at is None:
        return
    zones = {time_zone} if time_zone else {contact.time_zone or portal.time_zone for contact in contacts}
    for zone in sorted(zones):
        tz = ZoneInfo(zone if _is_time_zone(zone) else portal.time_zone)
        try:
            at = to_utc(send_at, tz)
        except OverflowError:  # 0001-01-01 east of UTC, or 9999-12-31 west of it: outside any calendar
            at = None
        if (at is None and send_at < now.replace(tzinfo=None)) or (at is not None and at < now - SEND_AT_GRACE):
            raise ServiceError("SEND_AT_IN_PAST", f"{send_at:%Y-%m-%d %H:%M} in {tz.key} is already past.")
        if at is None or at > now + SEND_AT_MAX_AHEAD:
            raise ServiceError(
                "SEND_AT_TOO_FAR",
                f"{send_at:%Y-%m-%d %H:%M} in {tz.key} is more than a year ahead; choose a nearer time.",
            )


# --- Per-contact rules ----------------------------------------------------------------------


def _judge(
    ids: list[int], contacts: Mapping[int, Contact], record: RecordRef | None
) -> dict[int, tuple[str, dict[str, Any]]]:
    """The first rule each contact breaks, with what its message needs; contacts absent here pass."""
    found = list(contacts.values())
    blocked = set(
        BlockedEntry.objects.filter(
            value__in={c.email.lower() for c in found if c.email} | {c.email_domain for c in found if c.email}
        ).values_list("value", flat=True)
    )
    already = set(
        Enrollment.objects.filter(contact_id__in=ids, status__in=Enrollment.LIVE_STATUSES).values_list(
            "contact_id", flat=True
        )
    )
    associated = _associated_contact_ids(record, ids) if record is not None else None
    verdicts: dict[int, tuple[str, dict[str, Any]]] = {}
    for contact_id in ids:
        contact = contacts.get(contact_id)
        verdict = _first_broken_rule(contact, blocked, already, associated, record)
        if verdict is not None:
            verdicts[contact_id] = verdict
    return verdicts


def _first_broken_rule(
    contact: Contact | None,
    blocked: set[str],
    already: set[int],
    associated: set[int] | None,
    record: RecordRef | None,
) -> tuple[str, dict[str, Any]] | None:
    if contact is None:
        return "CONTACT_NOT_FOUND", {}
    if associated is not None and contact.pk not in associated:
        return "NO_ASSOCIATED_CONTACT", {"record": record.type if record else "record"}
    if not contact.email:
        return "MISSING_EMAIL", {}
    if contact.email_bounced:
        return "BOUNCED", {"reason": contact.bounce_reason or "no reason was given."}
    if contact.unsubscribed:
        return "UNSUBSCRIBED", {}
    if contact.unsubscribed_sales:
        return "UNSUBSCRIBED_SALES", {}
    if contact.marked_spam:
        return "PREVIOUSLY_MARKED_AS_SPAM", {}
    if contact.email.lower() in blocked:
        return "BLOCKED_ADDRESS", {"email": contact.email}
    if contact.email_domain in blocked:
        return "BLOCKED_DOMAIN", {"domain": contact.email_domain}
    if contact.pk in already:
        return "ALREADY_ENROLLED", {}
    return None


def _associated_contact_ids(record: RecordRef, ids: list[int]) -> set[int]:
    """Which of `ids` are associated with the record; a missing record is a validation error."""
    if record.type == "company":
        if not Company.objects.filter(pk=record.id).exists():
            raise ValidationFailed("No such company.", fields={"record": ["No company with this id."]})
        return set(Contact.objects.filter(pk__in=ids, company_id=record.id).values_list("pk", flat=True))
    model: type[Deal] | type[Ticket] | type[CustomObject]
    records: QuerySet[Any]
    if record.type == "deal":
        model, records = Deal, Deal.objects.filter(pk=record.id)
    elif record.type == "ticket":
        model, records = Ticket, Ticket.objects.filter(pk=record.id)
    else:
        model, records = CustomObject, CustomObject.objects.filter(pk=record.id, schema__name=record.type)
    if not records.exists():
        raise ValidationFailed(f"No such {record.type}.", fields={"record": [f"No {record.type} with id {record.id}."]})
    through = model.contacts.through
    owner_field = f"{model._meta.model_name}_id"
    return set(
        through.objects.filter(**{owner_field: record.id}, contact_id__in=ids).values_list("contact_id", flat=True)
    )


def _reject(contact_id: int, code: str, **context: Any) -> Rejection:
    extra: dict[str, Any] = {}
    if code == "MISSING_TOKEN_VALUES":
        extra["tokens"] = context["tokens"]
        context = {"tokens": ", ".join(context["tokens"])}
    if code == "DAILY_SEND_LIMIT_REACHED":
        extra["next_available_at"] = context.pop("next_available_at")
    return Rejection(contact=contact_id, code=code, message=MESSAGES[code].format(**context), extra=extra)


# --- Steps, overrides and tokens -------------------------------------------------------------


def _step_dict(step: Any) -> dict[str, Any]:
    data = {name: getattr(step, name) for name in STEP_FIELDS}
    if data["order"] == 1:
        data["delay_days"] = 0
    return data


def _merged_overrides(*layers: Mapping[int, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for layer in layers:
        for order, changes in layer.items():
            merged.setdefault(str(order), {}).update(changes)
    return merged


def _steps_for_contact(
    base_steps: list[dict[str, Any]], *layers: Mapping[int, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The sequence's steps with this contact's edits applied (bodies sanitised)."""
    merged = _merged_overrides(*layers)
    if not merged:
        return base_steps
    steps = copy.deepcopy(base_steps)
    for step in steps:
        changes = dict(merged.get(str(step["order"]), {}))
        if "body_html" in changes:
            changes["body_html"] = sanitize_email_html(changes["body_html"])
        step.update(changes)
    return steps


def _token_values(
    run_steps: list[dict[str, Any]],
    contact: Contact,
    sender: User,
    update_all: Mapping[str, str],
    for_contact: Mapping[str, str],
) -> tuple[dict[str, str], list[str]]:
    """Values typed for this contact's tokens (kept on the enrollment), and the tokens still missing.

    A value typed for this contact wins; then the contact's own value; then
    the value typed once for everyone who lacks it ("Update all").
    """
    used: dict[str, None] = {}
    for step in run_steps:
        for name in ("subject", "body_html", "title", "notes"):
            used.update(dict.fromkeys(tokens_in(step.get(name) or "")))
    typed: dict[str, str] = {}
    resolved: dict[str, str] = {}
    for token in used:
        if for_contact.get(token):
            typed[token] = resolved[token] = for_contact[token]
            continue
        live = token_value(token, contact=contact, company=contact.company, sender=sender)
        if live:
            resolved[token] = live
        elif update_all.get(token):
            typed[token] = resolved[token] = update_all[token]
    return typed, tokens_missing(used, resolved)


# --- Schedule and limits ----------------------------------------------------------------------


def _schedule(
    plans: list[_Plan],
    rejected: list[Rejection],
    *,
    start_step: int,
    send_at: datetime | None,
    now: datetime,
    rules: FollowUpRules,
    sender: User,
    mailbox: Mailbox,
    portal: PortalSettings,
    is_bulk: bool,
) -> list[_Plan]:
    """Project each plan's schedule; place first emails under the per-minute caps; drop those over the limit."""
    if not plans:
        return plans
    throttles: list[MinuteThrottle] = [sender_bulk_throttle(sender=sender, since=now)] if is_bulk else []
    if (per_mailbox := mailbox_minute_throttle(mailbox=mailbox, since=now)) is not None:
        throttles.append(per_mailbox)
    load: SendLoad | None = None
    kept = []
    for plan in plans:
        tz = ZoneInfo(plan.tz_name)
        first_at = now if send_at is None else max(to_utc(send_at, tz), now)
        run_steps = [step for step in plan.steps if step["order"] >= start_step]
        if throttles and run_steps[0]["type"] == StepType.AUTOMATED_EMAIL:
            first_at = throttles_place(first_at, throttles)
        timings = [StepTiming(step["order"], step["type"], step["delay_days"]) for step in run_steps]
        plan.schedule = project_schedule(steps=timings, first_at=first_at, tz=tz, rules=rules)
        first_email = next((step for step in plan.schedule if step.type == StepType.AUTOMATED_EMAIL), None)
        if first_email is not None:
            if load is None:
                load = sender_load(sender=sender, mailbox=mailbox, around=first_email.at, portal=portal)
            if not load.fits(first_email.at):
                rejected.append(
                    _reject(
                        plan.contact.pk,
                        "DAILY_SEND_LIMIT_REACHED",
                        limit=load.limit,
                        next_available_at=load.next_free_at(first_email.at),
                    )
                )
                continue
            load.add(first_email.at)
        kept.append(plan)
    return kept


# --- Writing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Batch:
    """What every enrollment written by one action shares."""

    sequence: Sequence
    sender: User
    enrolled_by: User | None
    mailbox: Mailbox
    start_step: int
    status: str
    is_bulk: bool
    snapshot_base: dict[str, Any]


def _write(plans: list[_Plan], batch: _Batch) -> dict[int, int]:
    """Enroll every plan; return contact id → enrollment id for those enrolled.

    All plans go in one transaction with two bulk inserts. If another request
    enrolled one of these contacts meanwhile, the unique constraint refuses
    the batch; then each plan is written in its own savepoint so only the
    contact that lost the race is left out.
    """
    try:
        with transaction.atomic():
            return _insert(plans, batch)
    except IntegrityError:
        created: dict[int, int] = {}
        for plan in plans:
            try:
                with transaction.atomic():
                    created.update(_insert([plan], batch))
            except IntegrityError:
                continue
        return created


def _insert(plans: list[_Plan], batch: _Batch) -> dict[int, int]:
    # Lock the sequence row: a deletion running now either finishes first (and
    # nothing is enrolled) or waits for us (and then unenrolls what we wrote).
    sequence = batch.sequence
    if not list(Sequence.objects.select_for_update().filter(pk=sequence.pk, deleted_at__isnull=True).values("pk")):
        raise ServiceError("NOT_FOUND", "This sequence was deleted.", status_code=404)
    enrollments = Enrollment.objects.bulk_create(
        [
            Enrollment(
                sequence=sequence,
                contact=plan.contact,
                sender=batch.sender,
                enrolled_by=batch.enrolled_by,
                mailbox=batch.mailbox,
                time_zone=plan.tz_name,
                status=batch.status,
                snapshot={**batch.snapshot_base, "steps": plan.steps},
                token_values=plan.token_values,
                step_overrides=plan.step_overrides,
                start_step=batch.start_step,
                current_step=batch.start_step,
                next_action_at=plan.schedule[0].at,
                is_bulk=batch.is_bulk,
            )
            for plan in plans
        ]
    )
    rows = []
    for enrollment, plan in zip(enrollments, plans, strict=True):
        projected = {step.order: step.at for step in plan.schedule}
        for step in plan.steps:
            if step["order"] < batch.start_step:
                state = EnrollmentStep.Status.SKIPPED
                detail = f"Skipped: the enrollment started at step {batch.start_step}."
            elif step["order"] == batch.start_step:
                state, detail = EnrollmentStep.Status.SCHEDULED, ""
            else:
                state, detail = EnrollmentStep.Status.PENDING, ""
            rows.append(
                EnrollmentStep(
                    enrollment=enrollment,
                    order=step["order"],
                    type=step["type"],
                    status=state,
                    scheduled_for=projected.get(step["order"]),
                    detail=detail,
                )
            )
    EnrollmentStep.objects.bulk_create(rows)
    return {plan.contact.pk: enrollment.pk for enrollment, plan in zip(enrollments, plans, strict=True)}
