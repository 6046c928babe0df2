"""Enrollments that stop (or pause) on their own: a reply, an out-of-office, a bounce, a spam
complaint, a sender who lost the seat or was deactivated, a deleted contact.

Inbox sync calls the first four once per message it reads (its unique
InboundMessage row, written in the same transaction, makes that once);
the user, seat and contact services call the last three. Each records what
happened as an EmailEvent where analytics counts it, and changes state
only through `enrollment_state`, whose conditional updates make a stop
that lost a race (the enrollment finished meanwhile) change nothing.

Which live enrollment a message stops: the one the answered email belongs
to when it is still live; otherwise (the contact answered an email of an
earlier sequence) the contact's live enrollment from the same sender —
either way the rep's sequence stops emailing someone who wrote back.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings as django_settings
from django.db import transaction
from django.utils import timezone

from accounts_app.models import PortalSettings, User
from config.errors import Conflict
from contacts_app.models import Contact
from mailboxes_app.breaker import mailbox_breaker_check
from mailboxes_app.models import OutboundMessage
from mailboxes_app.sync.bounces import Reason as BounceReason
from mailboxes_app.sync.bounces import label as bounce_label
from sequences_app.models import EmailEvent, Enrollment, EnrollmentStep
from sequences_app.sequence_settings import SequenceSettings
from sequences_app.services.enrollment_state import PAUSABLE, enrollment_pause, enrollments_unenroll
from workflows_app import events as workflow_events

Reason = Enrollment.Reason
# Out-of-office pauses resume at this local time on the return date.
RESUME_LOCAL_TIME = time(9, 0)
# The same address soft-bouncing this often within the window counts as a hard bounce.
SOFT_BOUNCES_HARD = 3
SOFT_BOUNCE_WINDOW = timedelta(days=7)


@transaction.atomic
def reply_record(
    *, message: OutboundMessage, occurred_at: datetime, detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A reply to `message`: a reply event; with *unenroll on reply* the enrollment ends `REPLIED`, and
    with *account-based* every other live enrollment at the contact's company ends `COMPANY_REPLIED`."""
    now = now or timezone.now()
    EmailEvent.of_message(message, EmailEvent.Kind.REPLY, occurred_at, detail=detail or {}).save()
    target = _live_enrollment(message)
    if target is None:
        return {"stopped": []}
    settings = SequenceSettings.from_snapshot(target.snapshot.get("settings", {}))
    if not settings.unenroll_on_reply:
        return {"stopped": [], "kept": target.pk, "why": "The sequence does not unenroll on reply."}
    stopped = []
    if enrollments_unenroll(enrollments=Enrollment.objects.filter(pk=target.pk), reason=Reason.REPLIED, now=now):
        stopped.append(target.pk)
    company_id = Contact.objects.filter(pk=target.contact_id).values_list("company_id", flat=True).first()
    company_stopped = 0
    if settings.account_based and company_id is not None:
        company_stopped = enrollments_unenroll(
            enrollments=Enrollment.objects.filter(contact__company_id=company_id).exclude(contact_id=target.contact_id),
            reason=Reason.COMPANY_REPLIED,
            now=now,
        )
    return {"stopped": stopped, "company_stopped": company_stopped}


@transaction.atomic
def out_of_office_record(
    *, message: OutboundMessage, return_date: date | None, occurred_at: datetime,
    detail: dict[str, Any] | None = None, now: datetime | None = None,
) -> dict[str, Any]:
    """An auto-reply never unenrolls: the enrollment pauses (`OUT_OF_OFFICE`) until the return date's
    local morning, or for the portal's default number of days when the reply names no date.

    A return date whose morning has passed means the contact is back: nothing pauses.
    """
    now = now or timezone.now()
    EmailEvent.of_message(message, EmailEvent.Kind.OUT_OF_OFFICE, occurred_at, detail={
        **(detail or {}), "return_date": return_date.isoformat() if return_date else None,
    }).save()
    target = _live_enrollment(message)
    if target is None or target.status not in PAUSABLE:
        return {"paused": None, "why": "No running enrollment to pause."}
    resume_at = out_of_office_resume_at(enrollment=target, return_date=return_date, now=now)
    if resume_at <= now:
        return {"paused": None, "why": "The return date has come already."}
    try:
        enrollment_pause(enrollment=target, reason=Reason.OUT_OF_OFFICE, resume_at=resume_at, now=now)
    except Conflict:  # it changed meanwhile (finished, paused by hand)
        return {"paused": None, "why": "The enrollment changed meanwhile."}
    return {"paused": target.pk, "resume_at": resume_at.isoformat()}


def out_of_office_resume_at(*, enrollment: Enrollment, return_date: date | None, now: datetime) -> datetime:
    if return_date is None:
        return now + timedelta(days=PortalSettings.load().out_of_office_default_days)
    try:
        zone = ZoneInfo(enrollment.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return datetime.combine(return_date, RESUME_LOCAL_TIME, tzinfo=zone)


@transaction.atomic
def bounce_record(
    *, message: OutboundMessage | None, contact: Contact | None, permanent: bool, code: str = BounceReason.OTHER,
    status: str = "", text: str = "", delayed: bool = False, occurred_at: datetime,
    detail: dict[str, Any] | None = None, now: datetime | None = None,
) -> dict[str, Any]:
    """A bounce, hard or soft (`mailboxes_app.sync.bounces` decides which and why).

    1. Soft becomes hard when the same address soft-bounced `SOFT_BOUNCES_HARD` times in
       `SOFT_BOUNCE_WINDOW` (this one included); a delay warning (the provider keeps trying) is no
       bounce and never counts.
    2. Hard: the contact is marked bounced (with the reason), every live enrollment to them ends
       `bounced` (`BOUNCED`), and the sending mailbox's circuit breaker counts it.
    3. Soft: the email is sent again later, as after a 4xx answer, and its step says why; a delay
       warning only says why.
    """
    now = now or timezone.now()
    contact_id = _contact_id(message, contact)
    escalated = False
    if not permanent and not delayed and contact_id is not None:
        earlier = EmailEvent.objects.filter(
            kind=EmailEvent.Kind.TEMPORARY_BOUNCE, contact_id=contact_id,
            occurred_at__gt=occurred_at - SOFT_BOUNCE_WINDOW,
        ).exclude(detail__delayed=True).count()
        escalated = permanent = earlier + 1 >= SOFT_BOUNCES_HARD
    label = bounce_label(code)
    reason = f"{label}: {text}" if text else label
    if escalated:
        reason = f"{reason} ({SOFT_BOUNCES_HARD} soft bounces in {SOFT_BOUNCE_WINDOW.days} days)"
    kind = EmailEvent.Kind.BOUNCE if permanent else EmailEvent.Kind.TEMPORARY_BOUNCE
    event_detail = {**(detail or {}), "code": code, "status": status, "text": text[:500], "reason": reason[:500],
                    "hard": permanent, "delayed": delayed, "escalated": escalated}
    if message is not None:
        EmailEvent.of_message(message, kind, occurred_at, detail=event_detail).save()
    elif contact is not None:
        EmailEvent.objects.create(kind=kind, contact=contact, occurred_at=occurred_at, detail=event_detail)
    if not permanent:
        return {"stopped": 0, **_soft_bounce_retry(message, reason, delayed=delayed, now=now)}
    if contact_id is None:  # the contact was deleted meanwhile: nothing of theirs is live
        return {"stopped": 0}
    contact_flags_set(contact_id=contact_id, email_bounced=True, bounce_reason=reason[:500], bounce_code=code,
                      now=now)
    stopped = enrollments_unenroll(
        enrollments=Enrollment.objects.filter(contact_id=contact_id),
        reason=Reason.BOUNCED, status=Enrollment.Status.BOUNCED, now=now,
    )
    outcome: dict[str, Any] = {"stopped": stopped, "contact_bounced": contact_id, "escalated": escalated}
    if message is not None and (paused := mailbox_breaker_check(mailbox_id=message.mailbox_id, now=now)):
        outcome["mailbox_paused"] = paused
    return outcome


def _soft_bounce_retry(message: OutboundMessage | None, reason: str, *, delayed: bool, now: datetime) -> dict[str, Any]:
    """The email of a soft bounce goes out again after the 4xx backoff (while its enrollment runs)."""
    from sequences_app.scheduling.sender import RETRY_STEPS  # the sender imports this module

    if message is None:
        return {}
    step = EnrollmentStep.objects.filter(enrollment_id=message.enrollment_id, order=message.step_order)
    if delayed:
        step.update(detail=f"Delivery delayed: {reason}"[:500])
        return {"retry_at": None}
    live = Enrollment.objects.filter(pk=message.enrollment_id, status__in=Enrollment.LIVE_STATUSES).exists()
    attempts = OutboundMessage.objects.filter(pk=message.pk).values_list("attempts", flat=True).first() or 0
    if not live or attempts > len(RETRY_STEPS):
        step.update(detail=f"Soft bounce: {reason}"[:500])
        return {"retry_at": None}
    retry_at = now + timedelta(seconds=django_settings.SMTP_RETRY_BASE_SECONDS * RETRY_STEPS[max(attempts - 1, 0)])
    retried = OutboundMessage.objects.filter(pk=message.pk, state=OutboundMessage.State.SENT).update(
        state=OutboundMessage.State.RETRY, sent_at=None, next_attempt_at=retry_at,
        last_error=f"Soft bounce, sending again at {retry_at:%Y-%m-%d %H:%M} UTC: {reason}"[:1000],
    )
    if not retried:
        return {"retry_at": None}
    step.update(detail=f"Soft bounce, sending again at {retry_at:%Y-%m-%d %H:%M} UTC: {reason}"[:500])
    return {"retry_at": retry_at.isoformat()}


@transaction.atomic
def spam_report_record(
    *, message: OutboundMessage | None, contact: Contact | None, occurred_at: datetime,
    detail: dict[str, Any] | None = None, now: datetime | None = None,
) -> dict[str, Any]:
    """A spam complaint (ARF): the contact is marked as having marked email as spam and unenrolled
    (`SPAM_REPORTED`); the sending mailbox's circuit breaker counts it."""
    now = now or timezone.now()
    if message is not None:
        EmailEvent.of_message(message, EmailEvent.Kind.SPAM, occurred_at, detail=detail or {}).save()
    elif contact is not None:
        EmailEvent.objects.create(kind=EmailEvent.Kind.SPAM, contact=contact, occurred_at=occurred_at,
                                  detail=detail or {})
    contact_id = _contact_id(message, contact)
    if contact_id is None:
        return {"stopped": 0}
    contact_flags_set(contact_id=contact_id, marked_spam=True, now=now)
    stopped = enrollments_unenroll(
        enrollments=Enrollment.objects.filter(contact_id=contact_id), reason=Reason.SPAM_REPORTED, now=now
    )
    outcome: dict[str, Any] = {"stopped": stopped, "contact_marked_spam": contact_id}
    if message is not None and (paused := mailbox_breaker_check(mailbox_id=message.mailbox_id, now=now)):
        outcome["mailbox_paused"] = paused
    return outcome


def enrollments_stop_sender_lost_seat(*, sender: User, now: datetime | None = None) -> int:
    """A sender without a seat that may enroll (removed, or below Professional): their live enrollments end."""
    return enrollments_unenroll(
        enrollments=Enrollment.objects.filter(sender=sender), reason=Reason.SENDER_LOST_SEAT, now=now
    )


def enrollments_stop_sender_deactivated(*, sender: User, now: datetime | None = None) -> int:
    """A deactivated sender sends nothing more: their live enrollments end (their queued emails are cancelled)."""
    return enrollments_unenroll(
        enrollments=Enrollment.objects.filter(sender=sender), reason=Reason.SENDER_DEACTIVATED, now=now
    )


def enrollments_stop_contact_deleted(*, contact: Contact, now: datetime | None = None) -> int:
    """Before a contact row goes: their live enrollments end `CONTACT_DELETED` (the rows stay, contact NULL)."""
    return enrollments_unenroll(
        enrollments=Enrollment.objects.filter(contact=contact), reason=Reason.CONTACT_DELETED, now=now
    )


def _contact_id(message: OutboundMessage | None, contact: Contact | None) -> int | None:
    if contact is not None:
        return contact.pk
    return message.enrollment.contact_id if message is not None else None


def _live_enrollment(message: OutboundMessage) -> Enrollment | None:
    enrollment = Enrollment.objects.filter(pk=message.enrollment_id).first()
    if enrollment is not None and enrollment.is_live:
        return enrollment
    contact_id = enrollment.contact_id if enrollment is not None else None
    if contact_id is None:
        return None
    return Enrollment.objects.filter(
        contact_id=contact_id, sender_id=message.sender_id, status__in=Enrollment.LIVE_STATUSES
    ).first()


def contact_flags_set(*, contact_id: int, now: datetime | None = None, **flags: Any) -> bool:
    """Set flags Nudge itself owns on one contact (bounced, marked spam, unsubscribed); workflows hear of it.

    Returns False when the contact is gone or already had these values.
    """
    contact = Contact.objects.select_for_update().filter(pk=contact_id).first()
    if contact is None or all(getattr(contact, name) == value for name, value in flags.items()):
        return False
    for name, value in flags.items():
        setattr(contact, name, value)
    contact.updated_at = now or timezone.now()
    workflow_events.contact_changing(contact)  # before saving: what the stored row matched
    contact.save(update_fields=[*flags, "updated_at"])
    return True
