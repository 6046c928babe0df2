"""Sending queued messages over the mailbox's SMTP server, exactly once.

For each message, in order:
1. Render it (pure; wasted only if the claim below fails).
2. Claim it in a short transaction that holds the sender's row lock: the
   enrollment must still be running, the mailbox connected, the sender's
   rolling-24-hour window and (for bulk) this minute's throttle must have
   room — else the message is parked, deferred or throttled, never dropped.
   The claim sets `sending` with a lease and takes the slot (`sent_at`).
3. Talk SMTP with no lock held. One connection serves a batch of messages
   from the same mailbox.
4. Record the answer at once in its own transaction: accepted → `sent` and
   the enrollment moves on; 4xx or a connection failure → `retry` with
   backoff; 5xx → `failed` and the enrollment fails (SEND_FAILED); login
   refused → the mailbox is disconnected and its enrollments wait
   (INBOX_DISCONNECTED). If the connection breaks after the message body
   went out, the server may have accepted it: the message is `unknown`,
   never sent again on its own.
A worker that dies between 3 and 4 leaves `sending`; when the lease runs out
the reaper marks it `unknown` (see dispatch.py).
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.policy import SMTP
from uuid import uuid4

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts_app.models import Notification, PortalSettings, User
from mailboxes_app.models import Mailbox, OutboundMessage
from mailboxes_app.transport import smtp_connect
from sequences_app.models import EmailEvent, Enrollment, EnrollmentStep
from sequences_app.rendering import RenderedEmail, email_render, mime_build
from sequences_app.scheduling.limits import WINDOW, BulkThrottle, SendLoad, minute_of, sender_limit
from sequences_app.scheduling.runner import enrollment_step_done, snapshot_step
from sequences_app.services.enrollment_state import enrollment_pause, enrollments_unenroll

logger = logging.getLogger(__name__)
State = OutboundMessage.State
# Multiples of SMTP_RETRY_BASE_SECONDS (1 min by default: 1, 5, 15 min, 1, 3, 6, 12 h).
RETRY_STEPS = (1, 5, 15, 60, 180, 360, 720)
SLOT_STATES = [State.SENDING, State.SENT, State.UNKNOWN]
# CRLF line ends; long header values (List-Unsubscribe URLs) stay plain instead of RFC 2047-encoded.
SMTP_POLICY = SMTP.clone(max_line_length=998)


class _DataSent(Exception):
    """The connection failed after the message body was handed over: the server may have it."""


@dataclass
class _Claim:
    message: OutboundMessage
    rendered: RenderedEmail
    token: str


def messages_send(message_ids: Iterable[int], *, now: datetime | None = None) -> dict[str, int]:
    """Send these messages (grouped by mailbox, one SMTP connection each); returns counts by outcome."""
    outcomes: dict[str, int] = {}
    messages = OutboundMessage.objects.filter(pk__in=list(message_ids)).order_by("mailbox_id", "pk")
    by_mailbox: dict[int | None, list[int]] = {}
    for message_id, mailbox_id in messages.values_list("pk", "mailbox_id"):
        by_mailbox.setdefault(mailbox_id, []).append(message_id)
    for ids in by_mailbox.values():
        for outcome in _send_from_one_mailbox(ids, now=now):
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def _send_from_one_mailbox(ids: list[int], *, now: datetime | None) -> Iterable[str]:
    connection: smtplib.SMTP | None = None
    try:
        for message_id in ids:
            claim_or_outcome = _claim(message_id, now=now or timezone.now())
            if isinstance(claim_or_outcome, str):
                yield claim_or_outcome
                continue
            claim = claim_or_outcome
            mailbox = claim.message.mailbox
            try:
                if connection is None:
                    connection = _connect(mailbox)
                response = _deliver(connection, claim)
            except smtplib.SMTPAuthenticationError as exc:
                connection = None
                yield _record_disconnected(claim, exc)
            except _DataSent as exc:
                connection = None
                yield _record_unknown(claim, f"The connection broke after the email was handed over: {exc}")
            except smtplib.SMTPResponseException as exc:
                connection = _drop(connection)
                yield _record_smtp_error(claim, exc.smtp_code, _decode(exc.smtp_error))
            except smtplib.SMTPRecipientsRefused as exc:
                connection = _drop(connection)
                code, text = next(iter(exc.recipients.values()))
                yield _record_smtp_error(claim, code, _decode(text))
            except (smtplib.SMTPException, OSError) as exc:  # OSError covers TLS errors and timeouts
                connection = _drop(connection)
                yield _record_retry(claim, f"Could not reach the mail server: {exc}")
            else:
                yield _record_sent(claim, response)
    finally:
        _drop(connection)


def _connect(mailbox: Mailbox) -> smtplib.SMTP:
    connection = smtp_connect(mailbox)
    return connection


def _drop(connection: smtplib.SMTP | None) -> None:
    if connection is not None:
        try:
            connection.quit()
        except (smtplib.SMTPException, OSError):
            connection.close()
    return None


def _decode(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


# --- Claim ---------------------------------------------------------------------------------------


def _claim(message_id: int, *, now: datetime) -> _Claim | str:
    message = (
        OutboundMessage.objects.select_related(
            "enrollment__contact__company", "enrollment__sender", "enrollment__mailbox", "mailbox"
        )
        .filter(pk=message_id, state__in=[State.QUEUED, State.RETRY])
        .first()
    )
    if message is None:
        return "not claimable"
    enrollment = message.enrollment
    step = snapshot_step(enrollment, message.step_order)
    rendered = email_render(enrollment=enrollment, step=step or {}, message_pk=message.pk)
    with transaction.atomic():
        # The sender's row lock serialises claims per sender, so two workers
        # can't both take the last slot of the window (SQLite: the IMMEDIATE
        # transaction already serialises writers).
        sender = User.objects.select_for_update().get(pk=message.sender_id)
        live = Enrollment.objects.filter(pk=enrollment.pk).values_list("status", flat=True).first()
        if live == Enrollment.Status.PAUSED:
            return _park(message, "The enrollment is paused.")
        if live not in (Enrollment.Status.ACTIVE, Enrollment.Status.SCHEDULED):
            return _cancel(message, f"The enrollment is {live}.")
        mailbox = message.mailbox
        if mailbox is None or not mailbox.is_connected:
            _park(message, "The mailbox is disconnected.")
            _wait_for_inbox(enrollment, now)
            return "inbox disconnected"
        verdict = _room(message, sender, mailbox, now)
        if verdict is not None:
            return verdict
        token = uuid4()
        claimed = OutboundMessage.objects.filter(pk=message.pk, state__in=[State.QUEUED, State.RETRY]).update(
            state=State.SENDING,
            lease_token=token,
            # Longer than the SMTP timeouts and the task time limit: a live worker never loses it.
            lease_expires_at=now + timedelta(seconds=settings.SEND_LEASE_SECONDS),
            sent_at=now,
            attempts=F("attempts") + 1,
            subject=rendered.subject[:998],
        )
    if not claimed:
        return "not claimable"
    # Only the claimed fields: a plain refresh would drop the related rows fetched above.
    message.refresh_from_db(fields=["state", "lease_token", "lease_expires_at", "sent_at", "attempts", "subject"])
    return _Claim(message=message, rendered=rendered, token=str(token))


def _room(message: OutboundMessage, sender: User, mailbox: Mailbox, now: datetime) -> str | None:
    """None when the message may go now; else defer or throttle it and say which."""
    limit = sender_limit(sender, mailbox, portal=PortalSettings.load())
    slots = OutboundMessage.objects.filter(sender=sender, state__in=SLOT_STATES, sent_at__gt=now - WINDOW)
    if slots.count() >= limit:
        load = SendLoad(slots.values_list("sent_at", flat=True), limit)
        free_at = load.next_free_at(now) or now + WINDOW
        OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=free_at)
        EnrollmentStep.objects.filter(enrollment_id=message.enrollment_id, order=message.step_order).update(
            status=EnrollmentStep.Status.DEFERRED,
            scheduled_for=free_at,
            detail=f"Deferred: send limit ({limit} sequence emails in 24 hours).",
        )
        return "deferred"
    if message.is_bulk:
        this_minute = minute_of(now)
        sent_this_minute = OutboundMessage.objects.filter(
            sender=sender, is_bulk=True, state__in=SLOT_STATES, sent_at__gte=this_minute
        ).count()
        throttle = BulkThrottle([this_minute] * sent_this_minute)
        slot = throttle.place(now)
        if slot > now:
            OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=slot)
            return "throttled"
    return None


def _park(message: OutboundMessage, why: str) -> str:
    """Hold the message until its enrollment resumes (resume re-queues parked messages)."""
    OutboundMessage.objects.filter(pk=message.pk, state__in=[State.QUEUED, State.RETRY]).update(
        state=State.QUEUED, next_attempt_at=None, last_error=why
    )
    return "parked"


def _cancel(message: OutboundMessage, why: str) -> str:
    OutboundMessage.objects.filter(pk=message.pk, state__in=[State.QUEUED, State.RETRY]).update(
        state=State.CANCELLED, last_error=why
    )
    return "cancelled"


def _wait_for_inbox(enrollment: Enrollment, now: datetime) -> None:
    live = Enrollment.objects.filter(pk=enrollment.pk, status__in=["scheduled", "active"]).first()
    if live is not None:
        enrollment_pause(enrollment=live, reason=Enrollment.Reason.INBOX_DISCONNECTED, now=now)


# --- SMTP -------------------------------------------------------------------------------------------


def _deliver(connection: smtplib.SMTP, claim: _Claim) -> str:
    message = claim.message
    enrollment = message.enrollment
    contact = enrollment.contact
    mime = mime_build(
        rendered=claim.rendered,
        message_id=message.message_id,
        from_name=(message.mailbox.display_name if message.mailbox else "") or enrollment.sender.get_full_name(),
        from_email=message.from_email,
        to_name=contact.full_name if contact else "",
        to_email=message.to_email,
        in_reply_to=message.in_reply_to,
        references=message.references,
    )
    payload = mime.as_bytes(policy=SMTP_POLICY)
    code, reply = connection.mail(message.from_email)
    if code != 250:
        connection.rset()
        raise smtplib.SMTPSenderRefused(code, reply, message.from_email)
    code, reply = connection.rcpt(message.to_email)
    if code not in (250, 251):
        connection.rset()
        raise smtplib.SMTPRecipientsRefused({message.to_email: (code, reply)})
    return _data(connection, payload)


def _data(connection: smtplib.SMTP, payload: bytes) -> str:
    """SMTP DATA, telling apart failures before the body went out (safe to retry) and after (unknown)."""
    code, reply = connection.docmd("data")
    if code != 354:
        raise smtplib.SMTPDataError(code, reply)
    body = smtplib._quote_periods(payload)  # type: ignore[attr-defined]  (dot-stuffing, as smtplib.data does)
    if body[-2:] != b"\r\n":
        body += b"\r\n"
    body += b".\r\n"
    try:
        connection.send(body)
        code, reply = connection.getreply()
    except (smtplib.SMTPServerDisconnected, OSError) as exc:
        raise _DataSent(str(exc)) from exc
    if code != 250:
        raise smtplib.SMTPDataError(code, reply)
    return f"{code} {_decode(reply)}"


# --- Outcomes -----------------------------------------------------------------------------------------


def _mine(claim: _Claim) -> OutboundMessage | None:
    return (
        OutboundMessage.objects.select_for_update()
        .filter(pk=claim.message.pk, state=State.SENDING, lease_token=claim.token)
        .first()
    )


def _record_sent(claim: _Claim, response: str) -> str:
    now = timezone.now()
    with transaction.atomic():
        message = _mine(claim)
        if message is None:
            return "lease lost"
        OutboundMessage.objects.filter(pk=message.pk).update(
            state=State.SENT, sent_at=now, smtp_response=response[:1000], lease_token=None, lease_expires_at=None
        )
        enrollment = Enrollment.objects.select_for_update().get(pk=message.enrollment_id)
        EmailEvent.objects.create(
            kind=EmailEvent.Kind.SENT,
            sequence_id=enrollment.sequence_id,
            enrollment=enrollment,
            contact_id=enrollment.contact_id,
            message=message,
            step_order=message.step_order,
            occurred_at=now,
        )
        enrollment_step_done(
            enrollment=enrollment, order=message.step_order, status=EnrollmentStep.Status.SENT, done_at=now, now=now
        )
    return "sent"


def message_mark_unknown(*, message: OutboundMessage, detail: str, now: datetime | None = None) -> bool:
    """A `sending` message whose worker vanished: never resent; the rep is told; the sequence moves on."""
    now = now or timezone.now()
    with transaction.atomic():
        changed = OutboundMessage.objects.filter(pk=message.pk, state=State.SENDING).update(
            state=State.UNKNOWN, last_error=detail[:1000], lease_token=None, lease_expires_at=None
        )
        if not changed:
            return False
        enrollment = Enrollment.objects.select_for_update().get(pk=message.enrollment_id)
        enrollment_step_done(
            enrollment=enrollment,
            order=message.step_order,
            status=EnrollmentStep.Status.UNKNOWN,
            done_at=message.sent_at or now,
            detail=detail[:500],
            now=now,
        )
        Notification.objects.create(
            user_id=message.sender_id,
            kind="send_unknown",
            message=f"We can't tell whether “{message.subject or 'an email'}” to {message.to_email} was delivered. "
            "It was not sent again.",
        )
    return True


def _record_unknown(claim: _Claim, detail: str) -> str:
    message_mark_unknown(message=claim.message, detail=detail)
    return "unknown"


def _record_retry(claim: _Claim, why: str, *, now: datetime | None = None) -> str:
    now = now or timezone.now()
    with transaction.atomic():
        message = _mine(claim)
        if message is None:
            return "lease lost"
        if message.attempts > len(RETRY_STEPS):
            return _fail(message, f"Gave up after {message.attempts} attempts: {why}", now)
        OutboundMessage.objects.filter(pk=message.pk).update(
            state=State.RETRY,
            sent_at=None,
            next_attempt_at=now
            + timedelta(seconds=settings.SMTP_RETRY_BASE_SECONDS * RETRY_STEPS[message.attempts - 1]),
            last_error=why[:1000],
            lease_token=None,
            lease_expires_at=None,
        )
    return "retry"


def _record_smtp_error(claim: _Claim, code: int, text: str) -> str:
    why = f"{code} {text}".strip()
    if 400 <= code < 500:
        return _record_retry(claim, f"The mail server asked to try later: {why}")
    with transaction.atomic():
        message = _mine(claim)
        if message is None:
            return "lease lost"
        return _fail(message, f"The mail server refused the email: {why}", timezone.now())


def _fail(message: OutboundMessage, why: str, now: datetime) -> str:
    OutboundMessage.objects.filter(pk=message.pk).update(
        state=State.FAILED, sent_at=None, last_error=why[:1000], lease_token=None, lease_expires_at=None
    )
    EnrollmentStep.objects.filter(enrollment_id=message.enrollment_id, order=message.step_order).update(
        status=EnrollmentStep.Status.FAILED, done_at=now, detail=why[:500]
    )
    enrollments_unenroll(
        enrollments=Enrollment.objects.filter(pk=message.enrollment_id),
        reason=Enrollment.Reason.SEND_FAILED,
        status=Enrollment.Status.FAILED,
        now=now,
    )
    return "failed"


def _record_disconnected(claim: _Claim, exc: smtplib.SMTPAuthenticationError) -> str:
    """The server refused the login: disconnect the mailbox; its enrollments wait for a reconnect."""
    now = timezone.now()
    detail = f"The mail server refused the login ({exc.smtp_code})."
    with transaction.atomic():
        message = _mine(claim)
        if message is None:
            return "lease lost"
        Mailbox.objects.filter(pk=message.mailbox_id).update(status=Mailbox.Status.DISCONNECTED, status_detail=detail)
        OutboundMessage.objects.filter(pk=message.pk).update(
            state=State.QUEUED,
            sent_at=None,
            next_attempt_at=None,
            attempts=F("attempts") - 1,
            last_error=detail,
            lease_token=None,
            lease_expires_at=None,
        )
        _wait_for_inbox(message.enrollment, now)
        Notification.objects.create(
            user_id=message.sender_id,
            kind="inbox_disconnected",
            message=f"{message.from_email} was disconnected: {detail} Reconnect it to continue your sequences.",
            url="/mailboxes/",
        )
    return "inbox disconnected"
