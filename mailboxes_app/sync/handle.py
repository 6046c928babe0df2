"""Apply what a batch of new messages says: match each to the sequence email it concerns, then stop,
pause or record through `sequences_app.services.stops`.

One batch (a few hundred messages of one folder) costs a constant number of
queries plus one short transaction per message that changes something:
1. Header fields are parsed and given a kind (`classify.headers_kind`).
2. Messages that may be replies or auto-replies are matched by their
   `In-Reply-To`/`References` to recorded OutboundMessage Message-IDs (one
   query), else by the sender's address being a contact this mailbox's
   owner has emailed before the message arrived (two queries). A message
   whose own Message-ID is one we sent, or that comes from the mailbox
   itself, is ours and left alone.
3. Bounces, spam reports (everything that may be one: see
   `classify.headers_kind`) and matched auto-replies are fetched whole
   (`fetch_bodies`, one IMAP command) and classified together (Sisimai reads
   them in one process); bounces and reports are matched by the Message-ID
   of the original they carry, else by the failed address. One that proves
   to be an auto-reply or a personal message is matched as in step 2.
4. Each message that changes something is recorded as an InboundMessage
   and applied in one transaction: the row's unique key (mailbox, folder,
   UIDVALIDITY, UID) makes a message that was handled before a crash (or by
   a parallel sync) change nothing the second time. A copy of a handled
   message (same Message-ID, e.g. moved from Junk to the inbox) is recorded
   but not applied again.
5. The rest (unrelated mail) is recorded in one bulk insert that skips rows
   already there.
"""
from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower

from contacts_app.models import Contact
from mailboxes_app.models import InboundMessage, Mailbox, OutboundMessage
from mailboxes_app.sync import classify, ooo
from mailboxes_app.sync.classify import Classified, Headers
from sequences_app.services import stops

logger = logging.getLogger(__name__)
Kind = InboundMessage.Kind
SENT_STATES = (OutboundMessage.State.SENT, OutboundMessage.State.UNKNOWN)
_QUERY_CHUNK = 500


@dataclass(frozen=True)
class Fetched:
    """A new message as the first pass read it: its header fields, arrival time and size."""

    uid: int
    header: bytes
    received_at: datetime | None = None
    size: int = 0


@dataclass
class BatchReport:
    seen: int = 0
    # Messages that concerned a sequence email and were applied now (not before a crash or by a parallel sync).
    applied: int = 0
    bodies_fetched: int = 0
    kinds: Counter[str] = field(default_factory=Counter)


@dataclass
class _Item:
    fetched: Fetched
    headers: Headers
    guess: str
    received_at: datetime
    classified: Classified | None = None
    message: OutboundMessage | None = None
    contact_id: int | None = None
    matched_by: str = ""
    note: str = ""


def batch_handle(
    *,
    mailbox: Mailbox,
    folder: str,
    uidvalidity: int,
    fetched: list[Fetched],
    fetch_bodies: Callable[[list[Fetched]], dict[int, bytes]],
    now: datetime,
) -> BatchReport:
    """Handle one batch of new messages of one folder (steps in the module docstring)."""
    report = BatchReport(seen=len(fetched))
    items = [_item(entry, now) for entry in fetched]
    _match_replies(mailbox, [i for i in items if i.guess in (classify.PERSONAL, classify.OUT_OF_OFFICE)])

    wanted = [i for i in items if i.guess in (classify.BOUNCE, classify.SPAM_REPORT)]
    wanted += [i for i in items if i.guess == classify.OUT_OF_OFFICE and i.message is not None]
    bodies = fetch_bodies([i.fetched for i in wanted]) if wanted else {}
    report.bodies_fetched = len(bodies)
    _classify([item for item in wanted if item.fetched.uid in bodies], bodies)
    # What only might have been a notice (the null sender, a bounce-like subject) and isn't one is
    # matched as the auto-reply or reply it is.
    demoted = [i for i in wanted if i.guess == classify.BOUNCE and i.classified is not None
               and i.classified.kind in (classify.PERSONAL, classify.OUT_OF_OFFICE)]
    for item in demoted:
        item.guess = item.classified.kind if item.classified is not None else item.guess
    _match_replies(mailbox, demoted)
    _match_reports(mailbox, [i for i in wanted if i.guess in (classify.BOUNCE, classify.SPAM_REPORT)])

    quiet: list[InboundMessage] = []
    for item in items:
        kind = _kind(item)
        report.kinds[kind] += 1
        row = InboundMessage(
            mailbox=mailbox,
            folder=folder,
            uidvalidity=uidvalidity,
            uid=item.fetched.uid,
            message_id=item.headers.message_id,
            from_email=item.headers.from_email,
            subject=item.headers.subject,
            kind=kind,
            matched_message=item.message,
            enrollment_id=item.message.enrollment_id if item.message is not None else None,
            contact_id=item.contact_id,
            received_at=item.received_at,
            detail=_detail(item),
        )
        if kind == Kind.OTHER or (item.message is None and item.contact_id is None):
            quiet.append(row)
        elif _apply(row, item, now=now):
            report.applied += 1
    if quiet:
        InboundMessage.objects.bulk_create(quiet, ignore_conflicts=True)
    return report


# --- Reading -----------------------------------------------------------------------------------------


def _item(entry: Fetched, now: datetime) -> _Item:
    try:
        headers = classify.headers_parse(entry.header)
        guess = classify.headers_kind(headers)
        note = ""
    except Exception as exc:  # untrusted input: a message we can't read is unrelated, never a stuck sync
        headers, guess, note = Headers(), classify.AUTOMATED, f"Unreadable headers: {type(exc).__name__}"
    received = entry.received_at or headers.date or now
    received = min(received.astimezone(UTC), now)
    return _Item(entry, headers, guess, received, note=note)


def _classify(items: list[_Item], bodies: dict[int, bytes]) -> None:
    """Classify the fetched messages together (Sisimai reads them in one process)."""
    try:
        results = classify.messages_classify([bodies[item.fetched.uid] for item in items])
    except Exception:  # same: log it, treat them as unrelated
        logger.exception("could not classify messages")
        return
    for item, result in zip(items, results, strict=True):
        if isinstance(result, Exception):
            logger.error("could not classify a message", exc_info=result)
            continue
        item.classified = result


def _kind(item: _Item) -> str:
    guess = item.classified.kind if item.classified is not None else item.guess
    if guess == classify.SPAM_REPORT and item.classified is not None:
        return Kind.SPAM_REPORT
    if guess == classify.BOUNCE and item.classified is not None:
        return Kind.BOUNCE
    if guess == classify.OUT_OF_OFFICE:
        return Kind.OUT_OF_OFFICE
    if guess == classify.PERSONAL and item.message is not None:
        return Kind.REPLY
    return Kind.OTHER


def _detail(item: _Item) -> dict[str, Any]:
    detail: dict[str, Any] = {}
    if item.matched_by:
        detail["matched_by"] = item.matched_by
    if item.note:
        detail["note"] = item.note
    classified = item.classified
    if classified is not None:
        detail.update(classified.detail)
        if classified.bounce is not None:
            bounce = classified.bounce
            detail.update({
                "permanent": bounce.permanent,
                "recipients": sorted(bounce.recipients),
                "status": bounce.status,
                "code": bounce.code,
                "text": bounce.text,
                "delayed": bounce.delayed,
                "source": bounce.source,
                "reason": bounce.reason,
            })
        if classified.spam is not None:
            spam = classified.spam
            detail.update({"feedback_type": spam.feedback_type, "recipients": sorted(spam.recipients)})
    return detail


# --- Matching ----------------------------------------------------------------------------------------


def _match_replies(mailbox: Mailbox, items: list[_Item]) -> None:
    if not items:
        return
    wanted = {mid for i in items for mid in (*i.headers.references, i.headers.message_id) if mid}
    known = _outbound_by_message_id(wanted)
    unmatched = []
    for item in items:
        if item.headers.message_id in known or item.headers.from_email == mailbox.email.lower():
            item.guess, item.note = classify.AUTOMATED, "Sent from this mailbox."
            continue
        # In-Reply-To names the email answered; failing that, the newest of References.
        in_order = item.headers.references[:1] + tuple(reversed(item.headers.references[1:]))
        message = next((known[mid] for mid in in_order if mid in known), None)
        if message is not None:
            item.message, item.contact_id, item.matched_by = message, message.enrollment.contact_id, "headers"
        else:
            unmatched.append(item)
    by_address = _sent_to_addresses(mailbox, {i.headers.from_email for i in unmatched if i.headers.from_email})
    for item in unmatched:
        message = _latest_before(by_address.get(item.headers.from_email, []), item.received_at)
        if message is not None:
            item.message, item.contact_id, item.matched_by = message, message.enrollment.contact_id, "sender"


def _match_reports(mailbox: Mailbox, items: list[_Item]) -> None:
    readable = [i for i in items if i.classified is not None and (i.classified.bounce or i.classified.spam)]
    if not readable:
        return
    originals = {_report(i)[1] for i in readable} - {""}
    known = _outbound_by_message_id(originals)
    by_address = _sent_to_addresses(mailbox, {a for i in readable for a in _report(i)[0]})
    for item in readable:
        recipients, original_id = _report(item)
        message = known.get(original_id)
        if message is not None:  # the original's Message-ID is ours: authoritative, whoever received the report
            item.message, item.contact_id, item.matched_by = message, message.enrollment.contact_id, "original"
            continue
        for recipient in sorted(recipients):
            message = _latest_before(by_address.get(recipient, []), item.received_at)
            if message is not None:
                item.message, item.contact_id, item.matched_by = message, message.enrollment.contact_id, "recipient"
                break


def _report(item: _Item) -> tuple[frozenset[str], str]:
    assert item.classified is not None
    info = item.classified.bounce or item.classified.spam
    return (info.recipients, info.original_message_id) if info is not None else (frozenset(), "")


def _outbound_by_message_id(message_ids: Iterable[str]) -> dict[str, OutboundMessage]:
    found: dict[str, OutboundMessage] = {}
    for chunk in _chunks(sorted(message_ids)):
        for message in OutboundMessage.objects.filter(message_id__in=chunk).select_related("enrollment"):
            found[message.message_id] = message
    return found


def _sent_to_addresses(mailbox: Mailbox, addresses: set[str]) -> dict[str, list[OutboundMessage]]:
    """Sent emails of the mailbox's owner to contacts with these addresses, oldest first, by address."""
    contacts: dict[int, str] = {}
    for chunk in _chunks(sorted(addresses)):
        # Lower(email) is what the contact-email unique index holds, so this is an index lookup.
        rows = Contact.objects.alias(email_lower=Lower("email")).filter(email_lower__in=chunk)
        contacts.update({pk: address.lower() for pk, address in rows.values_list("pk", "email")})
    by_address: dict[str, list[OutboundMessage]] = {}
    for chunk in _chunks(sorted(contacts)):
        sent = (
            OutboundMessage.objects.filter(
                sender_id=mailbox.owner_id, enrollment__contact_id__in=chunk, state__in=SENT_STATES,
                sent_at__isnull=False,
            )
            .select_related("enrollment")
            .order_by("sent_at", "pk")
        )
        for message in sent:
            by_address.setdefault(contacts[message.enrollment.contact_id], []).append(message)
    return by_address


def _latest_before(messages: list[OutboundMessage], moment: datetime) -> OutboundMessage | None:
    earlier = [m for m in messages if m.sent_at is not None and m.sent_at <= moment]
    return earlier[-1] if earlier else None


def _chunks(values: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), _QUERY_CHUNK):
        yield values[start : start + _QUERY_CHUNK]


# --- Applying ----------------------------------------------------------------------------------------


def _apply(row: InboundMessage, item: _Item, *, now: datetime) -> bool:
    """Record the message and apply it, in one transaction; False when it was recorded before (nothing done)."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                row.save(force_insert=True)
        except IntegrityError:
            return False
        if _already_applied(row):
            row.detail = {**row.detail, "duplicate": True}
            row.save(update_fields=["detail"])
            return True
        outcome = _stop(row, item, now=now)
        row.detail = {**row.detail, **outcome}
        row.save(update_fields=["detail"])
    return True


def _already_applied(row: InboundMessage) -> bool:
    """The same message (by Message-ID) was applied before, from another folder or UIDVALIDITY."""
    if not row.message_id:
        return False
    earlier = InboundMessage.objects.filter(mailbox_id=row.mailbox_id, message_id=row.message_id).exclude(pk=row.pk)
    if row.enrollment_id is not None:
        earlier = earlier.filter(enrollment_id=row.enrollment_id)
    elif row.contact_id is not None:
        earlier = earlier.filter(contact_id=row.contact_id)
    return earlier.exists()


def _stop(row: InboundMessage, item: _Item, *, now: datetime) -> dict[str, Any]:
    message, occurred_at = item.message, item.received_at
    detail = {"inbound": row.pk, "from": row.from_email}
    if row.kind == Kind.REPLY and message is not None:
        return stops.reply_record(message=message, occurred_at=occurred_at, detail=detail, now=now)
    if row.kind == Kind.OUT_OF_OFFICE and message is not None:
        return_date = _return_date(item, message)
        return stops.out_of_office_record(
            message=message, return_date=return_date, occurred_at=occurred_at, detail=detail, now=now
        )
    classified = item.classified
    contact = Contact.objects.filter(pk=item.contact_id).first() if item.contact_id else None
    if row.kind == Kind.BOUNCE and classified is not None and classified.bounce is not None:
        bounce = classified.bounce
        return stops.bounce_record(
            message=message, contact=contact, permanent=bounce.permanent, code=bounce.code, status=bounce.status,
            text=bounce.text, delayed=bounce.delayed, occurred_at=occurred_at, detail=detail, now=now,
        )
    if row.kind == Kind.SPAM_REPORT:
        return stops.spam_report_record(message=message, contact=contact, occurred_at=occurred_at, detail=detail,
                                        now=now)
    return {}


def _return_date(item: _Item, message: OutboundMessage) -> Any:
    if item.classified is None:
        return None
    time_zone = message.enrollment.time_zone
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    # Americans write 12/7 for December 7th; the enrollment's time zone is the best hint we have.
    return ooo.find_return_date(
        item.classified.text,
        received=item.received_at.astimezone(zone).date(),
        month_first=time_zone.startswith("America/"),
    )
