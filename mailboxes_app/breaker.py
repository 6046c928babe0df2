"""The mailbox circuit breaker: a mailbox whose mail bounces or is reported as spam stops sending.

Gmail and Yahoo throttle senders past 0.3 % complaints; a rep who keeps writing to dead addresses burns
the domain. So, counted over the last 24 hours (or since a person last resumed the mailbox, if later):
- hard bounces of the mailbox's emails past `BOUNCE_BREAKER_PERCENT` of its sends, once it sent at
  least `BOUNCE_BREAKER_MIN_SENDS`; or
- `COMPLAINT_BREAKER_COUNT` spam complaints
pause the mailbox's sending (`Mailbox.sending_paused_at`, with the reason). Nothing is lost: the
send-time claim (sequences_app.scheduling.sender) parks each email and pauses its enrollment
(`SENDING_PAUSED`), and `mailbox_sending_resume` — a person's decision, never automatic — lets them go
on. The owner and the portal's admins are told when it trips.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts_app.models import Notification, User
from config.errors import Conflict, NotAllowed
from mailboxes_app.models import Mailbox, OutboundMessage

WINDOW = timedelta(hours=24)
SENT_STATES = (OutboundMessage.State.SENT, OutboundMessage.State.UNKNOWN)


@dataclass(frozen=True)
class BreakerFigures:
    """What the breaker counts for one mailbox now (shown on the mailbox page and in the API)."""

    since: datetime
    sends: int
    hard_bounces: int
    complaints: int
    percent: int
    min_sends: int
    complaint_limit: int

    @property
    def bounce_rate(self) -> float:
        return round(100 * self.hard_bounces / self.sends, 1) if self.sends else 0.0

    @property
    def bounces_trip(self) -> bool:
        return self.sends >= self.min_sends and self.hard_bounces * 100 > self.percent * self.sends

    @property
    def complaints_trip(self) -> bool:
        return self.complaints >= self.complaint_limit

    def as_dict(self) -> dict[str, object]:
        return {
            "since": self.since.isoformat(), "sends": self.sends, "hard_bounces": self.hard_bounces,
            "bounce_rate_percent": self.bounce_rate, "complaints": self.complaints,
            "threshold_percent": self.percent, "min_sends": self.min_sends, "complaint_limit": self.complaint_limit,
        }


def breaker_figures(*, mailbox: Mailbox, now: datetime | None = None) -> BreakerFigures:
    """Sends, hard bounces and complaints of the mailbox's emails over the breaker's window (three counts)."""
    from sequences_app.models import EmailEvent

    now = now or timezone.now()
    since = now - WINDOW
    if mailbox.breaker_reset_at is not None and mailbox.breaker_reset_at > since:
        since = mailbox.breaker_reset_at
    events = EmailEvent.objects.filter(message__mailbox_id=mailbox.pk, occurred_at__gt=since)
    return BreakerFigures(
        since=since,
        sends=OutboundMessage.objects.filter(mailbox_id=mailbox.pk, state__in=SENT_STATES, sent_at__gt=since).count(),
        hard_bounces=events.filter(kind=EmailEvent.Kind.BOUNCE).count(),
        complaints=events.filter(kind=EmailEvent.Kind.SPAM).count(),
        percent=settings.BOUNCE_BREAKER_PERCENT,
        min_sends=settings.BOUNCE_BREAKER_MIN_SENDS,
        complaint_limit=settings.COMPLAINT_BREAKER_COUNT,
    )


def mailbox_breaker_check(*, mailbox_id: int | None, now: datetime | None = None) -> str:
    """After a hard bounce or a complaint: pause the mailbox's sending if it is past a limit.

    Returns the reason when this call paused it, else "". One conditional UPDATE, so two syncs tripping
    it together pause it (and tell people) once.
    """
    now = now or timezone.now()
    mailbox = Mailbox.objects.filter(pk=mailbox_id).first() if mailbox_id is not None else None
    if mailbox is None or mailbox.sending_paused:
        return ""
    figures = breaker_figures(mailbox=mailbox, now=now)
    if figures.complaints_trip:
        reason = (f"{figures.complaints} spam complaints in 24 hours (the limit is {figures.complaint_limit}).")
    elif figures.bounces_trip:
        reason = (f"{figures.hard_bounces} of {figures.sends} emails bounced hard in 24 hours "
                  f"({figures.bounce_rate:g} %; the limit is {figures.percent} % of at least {figures.min_sends}).")
    else:
        return ""
    with transaction.atomic():
        if not Mailbox.objects.filter(pk=mailbox.pk, sending_paused_at__isnull=True).update(
            sending_paused_at=now, sending_paused_reason=reason[:500]
        ):
            return ""
        message = (f"Sending from {mailbox.email} is paused: {reason} Its sequences wait, nothing is lost. "
                   "Clean up the list, then resume sending on the mailbox page.")
        people = {mailbox.owner_id, *User.objects.filter(is_staff=True, is_active=True).values_list("pk", flat=True)}
        Notification.objects.bulk_create([
            Notification(user_id=user_id, kind="mailbox_sending_paused", message=message[:1000], url="/mailboxes/")
            for user_id in sorted(people)
        ])
    return reason


def mailbox_sending_resume(*, mailbox: Mailbox, user: User, now: datetime | None = None) -> Mailbox:
    """A person resumes a paused mailbox: its waiting enrollments go on and counting starts afresh.

    The owner or an admin may; resuming a mailbox that isn't paused is a conflict (`NOT_PAUSED`).
    """
    from sequences_app.models import Enrollment
    from sequences_app.services.enrollment_state import enrollments_resume_for_mailbox

    if not (user.is_staff or user.pk == mailbox.owner_id):
        raise NotAllowed("PERMISSION_DENIED", "Only the mailbox's owner or an admin may resume its sending.")
    now = now or timezone.now()
    with transaction.atomic():
        if not Mailbox.objects.filter(pk=mailbox.pk, sending_paused_at__isnull=False).update(
            sending_paused_at=None, sending_paused_reason="", breaker_reset_at=now
        ):
            raise Conflict("NOT_PAUSED", "Sending from this mailbox is not paused.")
        enrollments_resume_for_mailbox(mailbox=mailbox, now=now, reason=Enrollment.Reason.SENDING_PAUSED)
    mailbox.refresh_from_db()
    return mailbox
