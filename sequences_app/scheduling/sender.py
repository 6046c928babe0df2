"""Sending queued messages over the mailbox's SMTP server, exactly once.

Messages go in batches of one sender and mailbox, over one SMTP connection:
1. Render them all (pure; wasted only for those the claim below refuses).
2. Claim them in one short transaction that holds the sender's row lock:
   the sender must be active (else their enrollments end, SENDER_DEACTIVATED),
   each enrollment must still be running and the mailbox connected and not
   paused by the circuit breaker (mailboxes_app.breaker), and the
   sender's rolling-24-hour window, (for bulk) the bulk throttle and
   the mailbox's per-minute cap must have room in every 60 seconds —
   what doesn't fit is parked, deferred or throttled, never dropped. The
   claim sets `sending` with a lease and takes the slots (`sent_at`).
3. Talk SMTP with no lock held. Every second or so the batch checks that its
   enrollments still run: a reply, an unenroll or a pause meanwhile stops
   the emails not yet handed over.
4. Record each answer at once: accepted → `sent`, one UPDATE committed
   before the next message goes out; 4xx or a connection failure → `retry`
   with backoff; 5xx → `failed` and the enrollment fails (SEND_FAILED);
   login refused → the mailbox is disconnected and its enrollments wait
   (INBOX_DISCONNECTED). If the connection breaks after the message body
   went out, the server may have accepted it: the message is `unknown`,
   never sent again on its own.
5. Follow through on the accepted ones together: their `sent` events and
   their enrollments' next steps in one transaction, which also clears their
   leases.
Messages go out one after another in id order, each answer committed before
the next starts, and none starts after half the lease. So when a worker dies
during 3–4, only the first of its claim's messages still `sending` can have
reached the server: when the lease runs out the reaper marks that one
`unknown` and puts the others back in the queue. A worker that dies between
4 and 5 leaves `sent` messages holding their lease; the reaper follows
through on them (see dispatch.py and `claim_expire`).
"""

from __future__ import annotations

import logging
import smtplib
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby
from uuid import UUID, uuid4

from django.conf import settings
from django.db import connection as database
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts_app.models import Notification, PortalSettings, User
from config.db import rows_update
from mailboxes_app.models import Mailbox, OutboundMessage
from mailboxes_app.oauth.tokens import OAuthRevoked, OAuthUnavailable
from mailboxes_app.transport import smtp_connect
from sequences_app.models import EmailEvent, Enrollment, EnrollmentStep
from sequences_app.rendering import RenderedEmail, email_render, mime_build
from sequences_app.scheduling.limits import (
    MINUTE,
    SLOT_STATES,
    WINDOW,
    MinuteThrottle,
    SendLoad,
    sender_limit,
    throttles_place,
)
from sequences_app.scheduling.runner import StepDone, enrollment_step_done, enrollments_steps_done, snapshot_step
from sequences_app.services.enrollment_state import enrollment_pause, enrollments_unenroll
from sequences_app.services.stops import enrollments_stop_sender_deactivated

logger = logging.getLogger(__name__)
State = OutboundMessage.State
CLAIMABLE = [State.QUEUED, State.RETRY]
# Multiples of SMTP_RETRY_BASE_SECONDS (1 min by default: 1, 5, 15 min, 1, 3, 6, 12 h).
RETRY_STEPS = (1, 5, 15, 60, 180, 360, 720)
# During a batch, how often (seconds) its enrollments are checked for a stop (reply, unenroll, pause).
LIVE_CHECK_SECONDS = 1.0


class _DataSent(Exception):
    """The connection failed after the message body was handed over: the server may have it."""


@dataclass
class _Claim:
    message: OutboundMessage
    rendered: RenderedEmail
    token: str


def messages_send(message_ids: Iterable[int], *, now: datetime | None = None) -> dict[str, int]:
    """Send these messages in batches of one sender and mailbox; returns counts by outcome."""
    ids = set(message_ids)
    messages = list(
        OutboundMessage.objects.select_related("enrollment__contact__company", "enrollment__sender")
        .filter(pk__in=ids, state__in=CLAIMABLE)
        .order_by("sender_id", "mailbox_id", "pk")
    )
    # Each mailbox once (its passwords are decrypted on load), not once per message.
    wanted = {message.mailbox_id for message in messages} | {message.enrollment.mailbox_id for message in messages}
    mailboxes = Mailbox.objects.in_bulk(wanted - {None})
    for message in messages:
        message.mailbox = mailboxes.get(message.mailbox_id)
        message.enrollment.mailbox = mailboxes.get(message.enrollment.mailbox_id)
    outcomes: Counter[str] = Counter({"not claimable": len(ids) - len(messages)})
    for _, batch in groupby(messages, key=lambda message: (message.sender_id, message.mailbox_id)):
        outcomes.update(_send_batch(list(batch), now=now))
    return dict(+outcomes)


def _send_batch(messages: list[OutboundMessage], *, now: datetime | None) -> Counter[str]:
    rendered = {
        message.pk: email_render(
            enrollment=message.enrollment,
            step=snapshot_step(message.enrollment, message.step_order) or {},
            message_pk=message.pk,
        )
        for message in messages
    }
    claims, outcomes = _claim(messages, rendered, now=now or timezone.now())
    # Start no message after half the lease: the one in flight then has the other half to finish
    # before the reaper may act on the claim.
    stop_at = time.monotonic() + settings.SEND_LEASE_SECONDS / 2
    checked_at = time.monotonic()
    not_started = list(claims)
    accepted: list[_Claim] = []
    connection: smtplib.SMTP | None = None
    refused_login: smtplib.SMTPAuthenticationError | None = None
    revoked = ""  # the provider revoked the mailbox's OAuth grant (the mailbox is disconnected already)
    unreachable = ""
    try:
        while not_started and time.monotonic() < stop_at:
            if time.monotonic() - checked_at > LIVE_CHECK_SECONDS:
                not_started = _still_running(not_started, outcomes)
                checked_at = time.monotonic()
                continue
            claim = not_started.pop(0)
            if refused_login is not None:  # don't knock again with a password the server just refused
                outcomes[_record_disconnected(claim, refused_login, notify=False)] += 1
                continue
            if revoked:
                outcomes[_record_revoked(claim, revoked)] += 1
                continue
            if unreachable:  # nor wait out another connect timeout: the rest of the batch retries later too
                outcomes[_record_retry(claim, unreachable)] += 1
                continue
            try:
                if connection is None:
                    connection = smtp_connect(claim.message.mailbox)
                response = _deliver(connection, claim)
            except smtplib.SMTPAuthenticationError as exc:
                connection, refused_login = None, exc
                outcomes[_record_disconnected(claim, exc)] += 1
            except OAuthRevoked as exc:
                connection, revoked = None, str(exc)
                outcomes[_record_revoked(claim, revoked)] += 1
            except OAuthUnavailable as exc:  # the token endpoint is down: like an unreachable server
                connection, unreachable = None, str(exc)
                outcomes[_record_retry(claim, unreachable)] += 1
            except _DataSent as exc:
                connection = None
                outcomes[_record_unknown(claim, f"The connection broke after the email was handed over: {exc}")] += 1
            except smtplib.SMTPResponseException as exc:
                connection = _drop(connection)
                outcomes[_record_smtp_error(claim, exc.smtp_code, _decode(exc.smtp_error))] += 1
            except smtplib.SMTPRecipientsRefused as exc:
                connection = _drop(connection)
                code, text = next(iter(exc.recipients.values()))
                outcomes[_record_smtp_error(claim, code, _decode(text))] += 1
            except (smtplib.SMTPException, OSError) as exc:  # OSError covers TLS errors and timeouts
                why = f"Could not reach the mail server: {exc}"
                if connection is None:  # failed while connecting: the rest of the batch would wait the same way
                    unreachable = why
                connection = _drop(connection)
                outcomes[_record_retry(claim, why)] += 1
            else:
                if _record_accepted(claim, response):
                    accepted.append(claim)
                    outcomes["sent"] += 1
                else:
                    outcomes["lease lost"] += 1
    finally:
        _drop(connection)
        _follow_through(accepted)
        outcomes["released"] += messages_release([claim.message.pk for claim in not_started])
    return +outcomes


def _still_running(claims: list[_Claim], outcomes: Counter[str]) -> list[_Claim]:
    """The claims whose enrollment still runs; the others are let go as the claim would have.

    A reply, an unenroll or a pause while a slow server takes the batch must
    stop the emails not yet handed over, as it stops queued ones.
    """
    live = dict(
        Enrollment.objects.filter(pk__in=[claim.message.enrollment_id for claim in claims]).values_list(
            "pk", "status"
        )
    )
    running = []
    for claim in claims:
        status = live.get(claim.message.enrollment_id)
        if status in (Enrollment.Status.ACTIVE, Enrollment.Status.SCHEDULED):
            running.append(claim)
            continue
        paused = status == Enrollment.Status.PAUSED
        let_go = OutboundMessage.objects.filter(pk=claim.message.pk, state=State.SENDING, lease_token=claim.token)
        let_go.update(
            **_unclaimed(
                state=State.QUEUED if paused else State.CANCELLED,
                next_attempt_at=None,
                last_error="The enrollment is paused." if paused else f"The enrollment is {status}.",
            )
        )
        outcomes["parked" if paused else "cancelled"] += 1
    return running


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


def _claim(
    messages: list[OutboundMessage], rendered: dict[int, RenderedEmail], *, now: datetime
) -> tuple[list[_Claim], Counter[str]]:
    """Claim what may go now from one sender's batch; park, cancel, defer or throttle the rest."""
    outcomes: Counter[str] = Counter()
    going: list[OutboundMessage] = []
    with transaction.atomic():
        # The sender's row lock serialises claims per sender, so two workers
        # can't both take the last slot of the window (SQLite: the IMMEDIATE
        # transaction already serialises writers).
        sender = User.objects.select_for_update().get(pk=messages[0].sender_id)
        if not sender.is_active:  # deactivated since these were queued (or by a path that skipped the service)
            enrollments_stop_sender_deactivated(sender=sender, now=now)
            outcomes["sender deactivated"] = len(messages)
            return [], outcomes
        claimable = set(
            OutboundMessage.objects.select_for_update()
            .filter(pk__in=[message.pk for message in messages], state__in=CLAIMABLE)
            .values_list("pk", flat=True)
        )
        live = dict(
            Enrollment.objects.filter(pk__in=[message.enrollment_id for message in messages]).values_list(
                "pk", "status"
            )
        )
        room = _Room(sender, messages[0].mailbox, now)
        for message in messages:
            status = live.get(message.enrollment_id)
            if message.pk not in claimable:
                outcome = "not claimable"
            elif status == Enrollment.Status.PAUSED:
                outcome = _park(message, "The enrollment is paused.")
            elif status not in (Enrollment.Status.ACTIVE, Enrollment.Status.SCHEDULED):
                outcome = _cancel(message, f"The enrollment is {status}.")
            elif message.mailbox is None or not message.mailbox.is_connected:
                _park(message, "The mailbox is disconnected.")
                _wait_for_inbox(message.enrollment, now)
                outcome = "inbox disconnected"
            elif message.mailbox.sending_paused:
                # The circuit breaker (mailboxes_app.breaker) tripped: wait until a person resumes it.
                _park(message, f"Sending from this mailbox is paused: {message.mailbox.sending_paused_reason}")
                _wait_for_inbox(message.enrollment, now, reason=Enrollment.Reason.SENDING_PAUSED)
                outcome = "mailbox paused"
            else:
                outcome = room.take(message)
            if outcome:
                outcomes[outcome] += 1
            else:
                going.append(message)
        token = uuid4()
        for message in going:
            message.subject = rendered[message.pk].subject[:998]
        rows_update(
            going,
            ["subject"],
            state=State.SENDING,
            lease_token=token,
            # Longer than the SMTP timeouts and the task time limit: a live worker never loses it.
            lease_expires_at=now + timedelta(seconds=settings.SEND_LEASE_SECONDS),
            sent_at=now,
            attempts=F("attempts") + 1,
        )
    for message in going:
        message.state, message.lease_token, message.sent_at = State.SENDING, token, now
        message.attempts += 1
    return [_Claim(message, rendered[message.pk], str(token)) for message in going], outcomes


class _Room:
    """One sender's room at `now`: what is left of the 24-hour window, and the per-minute caps."""

    def __init__(self, sender: User, mailbox: Mailbox | None, now: datetime) -> None:
        self.sender, self.mailbox, self.now = sender, mailbox, now
        self.limit = sender_limit(sender, mailbox, portal=PortalSettings.load())
        self.slots = OutboundMessage.objects.filter(sender=sender, state__in=SLOT_STATES, sent_at__gt=now - WINDOW)
        self.free = self.limit - self.slots.count()
        self.load: SendLoad | None = None
        self.bulk: MinuteThrottle | None = None
        self.per_mailbox: MinuteThrottle | None = None

    def take(self, message: OutboundMessage) -> str:
        """Empty when the message may go now (its slot is taken); else defer or throttle it and say which."""
        if self.free <= 0:
            return self._defer(message)
        throttles = self._throttles(message)
        if throttles:
            slot = throttles_place(self.now, throttles)
            if slot > self.now:  # the slot stays taken: the next message of the batch waits behind this one
                OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=slot)
                return "throttled"
        self.free -= 1
        return ""

    def _defer(self, message: OutboundMessage) -> str:
        if self.load is None:
            self.load = SendLoad(self.slots.values_list("sent_at", flat=True), self.limit)
        free_at = self.load.next_free_at(self.now) or self.now + WINDOW
        self.load.add(free_at)  # the next deferred message waits for the slot after this one
        OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=free_at)
        EnrollmentStep.objects.filter(enrollment_id=message.enrollment_id, order=message.step_order).update(
            status=EnrollmentStep.Status.DEFERRED,
            scheduled_for=free_at,
            detail=f"Deferred: send limit ({self.limit} sequence emails in 24 hours).",
        )
        return "deferred"

    def _throttles(self, message: OutboundMessage) -> list[MinuteThrottle]:
        """The per-minute caps this message counts against, each read once per claim from what really went."""
        recent = OutboundMessage.objects.filter(state__in=SLOT_STATES, sent_at__gt=self.now - MINUTE)
        throttles = []
        if message.is_bulk:
            if self.bulk is None:
                sent = recent.filter(sender=self.sender, is_bulk=True).values_list("sent_at", flat=True)
                self.bulk = MinuteThrottle(sent, settings.BULK_THROTTLE_PER_MINUTE, spread=True)
            throttles.append(self.bulk)
        if self.mailbox is not None and self.mailbox.minute_limit is not None:
            if self.per_mailbox is None:
                sent = recent.filter(mailbox=self.mailbox).values_list("sent_at", flat=True)
                self.per_mailbox = MinuteThrottle(sent, self.mailbox.minute_limit)
            throttles.append(self.per_mailbox)
        return throttles


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


def _wait_for_inbox(
    enrollment: Enrollment, now: datetime, *, reason: str = Enrollment.Reason.INBOX_DISCONNECTED
) -> None:
    live = Enrollment.objects.filter(pk=enrollment.pk, status__in=["scheduled", "active"]).first()
    if live is not None:
        enrollment_pause(enrollment=live, reason=reason, now=now)


# --- SMTP -------------------------------------------------------------------------------------------


def _deliver(connection: smtplib.SMTP, claim: _Claim) -> str:
    message = claim.message
    enrollment = message.enrollment
    contact = enrollment.contact
    payload = mime_build(
        rendered=claim.rendered,
        message_id=message.message_id,
        from_name=(message.mailbox.display_name if message.mailbox else "") or enrollment.sender.get_full_name(),
        from_email=message.from_email,
        to_name=contact.full_name if contact else "",
        to_email=message.to_email,
        in_reply_to=message.in_reply_to,
        references=message.references,
    )
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


def _record_accepted(claim: _Claim, response: str) -> bool:
    """The server took it: `sent`, committed at once. The lease stays until the follow-through clears it.

    Plain SQL: this runs once per email between two SMTP exchanges, and the
    ORM's compiling of the same UPDATE took twice as long as the database.
    """
    meta = OutboundMessage._meta
    sent_at = meta.get_field("sent_at").get_db_prep_value(timezone.now(), database)
    token = meta.get_field("lease_token").get_db_prep_value(UUID(claim.token), database)
    with database.cursor() as cursor:
        cursor.execute(
            f"UPDATE {meta.db_table} SET state = %s, sent_at = %s, smtp_response = %s "  # noqa: S608  (the model's name)
            "WHERE id = %s AND state = %s AND lease_token = %s",
            [State.SENT, sent_at, response[:1000], claim.message.pk, State.SENDING, token],
        )
        return cursor.rowcount == 1


def _follow_through(claims: list[_Claim]) -> None:
    if not claims:
        return
    with transaction.atomic():
        messages = list(
            OutboundMessage.objects.select_for_update()
            .filter(pk__in=[claim.message.pk for claim in claims], state=State.SENT, lease_token=claims[0].token)
            .order_by("pk")
        )
        messages_follow_through(messages)


def messages_release(message_ids: list[int]) -> int:
    """Claimed messages never handed to the server go back to the queue, due now (their slots freed)."""
    if not message_ids:
        return 0
    return OutboundMessage.objects.filter(pk__in=message_ids, state=State.SENDING).update(
        **_unclaimed(state=State.QUEUED, next_attempt_at=timezone.now())
    )


def _unclaimed(**changes: object) -> dict[str, object]:
    """A claim let go before its message reached the server: the send slot is freed and no attempt counted."""
    return {"sent_at": None, "attempts": F("attempts") - 1, "lease_token": None, "lease_expires_at": None, **changes}


def claim_expire(*, lease_token: UUID, now: datetime) -> int:
    """A claim whose lease ran out while some of its messages were still `sending`: their worker died.

    A batch is sent in id order and each answer is committed before the next
    message starts, so only the first message still `sending` can have
    reached the server: it becomes `unknown` (never resent); the ones after
    it were never started and go back to the queue. Returns how many became
    unknown (0 or 1).
    """
    with transaction.atomic():
        sending = list(
            OutboundMessage.objects.select_for_update()
            .filter(state=State.SENDING, lease_token=lease_token, lease_expires_at__lt=now)
            .order_by("pk")
        )
        if not sending:
            return 0
        messages_release([message.pk for message in sending[1:]])
        return int(
            message_mark_unknown(
                message=sending[0],
                detail="The worker stopped while this email was with the mail server; to avoid a duplicate it "
                "was not sent again. Check your Sent folder.",
                now=now,
            )
        )


def messages_follow_through(messages: list[OutboundMessage], *, now: datetime | None = None) -> None:
    """Accepted messages (locked, still holding their lease): `sent` events, and their enrollments move on."""
    if not messages:
        return
    now = now or timezone.now()
    enrollments = Enrollment.objects.select_for_update().filter(pk__in=[message.enrollment_id for message in messages])
    by_id = {enrollment.pk: enrollment for enrollment in enrollments.order_by("pk")}
    EmailEvent.objects.bulk_create(
        EmailEvent.of_message(
            message, EmailEvent.Kind.SENT, message.sent_at or now, enrollment=by_id[message.enrollment_id]
        )
        for message in messages
    )
    enrollments_steps_done(
        [
            StepDone(by_id[message.enrollment_id], message.step_order, EnrollmentStep.Status.SENT, message.sent_at)
            for message in messages
        ],
        now=now,
    )
    OutboundMessage.objects.filter(pk__in=[message.pk for message in messages]).update(
        lease_token=None, lease_expires_at=None
    )


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


def _record_revoked(claim: _Claim, why: str) -> str:
    """The provider revoked the mailbox's grant; `oauth.tokens` disconnected it and told the rep. The email
    waits unclaimed and its enrollment waits for the reconnect (INBOX_DISCONNECTED)."""
    with transaction.atomic():
        message = _mine(claim)
        if message is None:
            return "lease lost"
        OutboundMessage.objects.filter(pk=message.pk).update(
            **_unclaimed(state=State.QUEUED, next_attempt_at=None, last_error=why[:1000])
        )
        _wait_for_inbox(message.enrollment, timezone.now())
    return "inbox disconnected"


def _record_disconnected(claim: _Claim, exc: smtplib.SMTPAuthenticationError, *, notify: bool = True) -> str:
    """The server refused the login: disconnect the mailbox; its enrollments wait for a reconnect.

    The rep is told once per refusal, not once per email of the batch (`notify`).
    """
    now = timezone.now()
    detail = f"The mail server refused the login ({exc.smtp_code})."
    with transaction.atomic():
        message = _mine(claim)
        if message is None:
            return "lease lost"
        Mailbox.objects.filter(pk=message.mailbox_id).update(status=Mailbox.Status.DISCONNECTED, status_detail=detail)
        OutboundMessage.objects.filter(pk=message.pk).update(
            **_unclaimed(state=State.QUEUED, next_attempt_at=None, last_error=detail)
        )
        _wait_for_inbox(message.enrollment, now)
        if not notify:
            return "inbox disconnected"
        Notification.objects.create(
            user_id=message.sender_id,
            kind="inbox_disconnected",
            message=f"{message.from_email} was disconnected: {detail} Reconnect it to continue your sequences.",
            url="/mailboxes/",
        )
    return "inbox disconnected"
