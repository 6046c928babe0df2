"""The rolling-24-hour send limit and the bulk throttle: pure arithmetic plus the reads that feed it.

Limit: a sender's sequence emails in any 24 hours stay within the seat's
limit (or the mailbox's lower cap). At enrollment the check is made for the
24 hours ending at the new first email, counting emails sent and emails
scheduled by live enrollments; at send time the scheduler checks the window
again with what was really sent, which keeps every window within the limit.

Per-minute caps: emails started by a bulk enrollment leave at most N in any
60 seconds per sender (N = BULK_THROTTLE_PER_MINUTE), evenly spread (60 s / N
apart); a mailbox with a per-minute cap (`Mailbox.minute_limit`) sends at
most that many in any 60 seconds. The same `MinuteThrottle` places first
emails when enrolling (the projection) and checks each email at the claim.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet

from accounts_app.models import PortalSettings, User
from accounts_app.selectors import user_daily_send_limit
from mailboxes_app.models import Mailbox, OutboundMessage
from sequences_app.models import Enrollment, EnrollmentStep, StepType

WINDOW = timedelta(hours=24)
# Messages holding a send slot: being sent or already handed to the server.
SLOT_STATES = [OutboundMessage.State.SENDING, OutboundMessage.State.SENT, OutboundMessage.State.UNKNOWN]
# How far ahead `next_available_at` is searched before giving up.
SEARCH_HORIZON = timedelta(days=14)


class SendLoad:
    """The send times that count against one sender's limit, kept sorted."""

    def __init__(self, times: Iterable[datetime], limit: int) -> None:
        self.times = sorted(times)
        self.limit = limit

    def count_in_window_ending(self, at: datetime) -> int:
        """Emails in (at - 24 h, at]."""
        return bisect.bisect_right(self.times, at) - bisect.bisect_right(self.times, at - WINDOW)

    def fits(self, at: datetime) -> bool:
        return self.count_in_window_ending(at) < self.limit

    def next_free_at(self, at: datetime) -> datetime | None:
        """The earliest moment at or after `at` where one more email fits (None within the horizon)."""
        if self.limit <= 0:
            return None
        if self.fits(at):
            return at
        # The count only drops when an email leaves the window, 24 h after it was counted.
        for counted in self.times[bisect.bisect_right(self.times, at - WINDOW) :]:
            candidate = counted + WINDOW
            if candidate > at + SEARCH_HORIZON:
                return None
            if candidate > at and self.fits(candidate):
                return candidate
        return None

    def add(self, at: datetime) -> None:
        bisect.insort(self.times, at)


def sender_limit(sender: User, mailbox: Mailbox | None, *, portal: PortalSettings | None = None) -> int:
    limit = user_daily_send_limit(sender, portal=portal)
    if mailbox is not None and mailbox.daily_limit is not None:
        limit = min(limit, mailbox.daily_limit)
    return limit


def sender_load(
    *, sender: User, mailbox: Mailbox | None, around: datetime, portal: PortalSettings | None = None
) -> SendLoad:
    """Emails counted against the sender from 24 h before `around` to the search horizon after it."""
    start, end = around - WINDOW, around + SEARCH_HORIZON + WINDOW
    sent = OutboundMessage.objects.filter(
        sender=sender,
        state__in=[OutboundMessage.State.SENT, OutboundMessage.State.UNKNOWN],
        sent_at__gt=start,
        sent_at__lte=end,
    ).values_list("sent_at", flat=True)
    scheduled = EnrollmentStep.objects.filter(
        enrollment__sender=sender,
        enrollment__status__in=Enrollment.LIVE_STATUSES,
        type=StepType.AUTOMATED_EMAIL,
        status__in=[EnrollmentStep.Status.SCHEDULED, EnrollmentStep.Status.DEFERRED],
        scheduled_for__gt=start,
        scheduled_for__lte=end,
    ).values_list("scheduled_for", flat=True)
    return SendLoad([*sent, *scheduled], sender_limit(sender, mailbox, portal=portal))


MINUTE = timedelta(seconds=60)


class MinuteThrottle:
    """Send times under a per-minute cap: at most `per_minute` in any 60 seconds (rolling, like the 24-hour limit).

    A 60-second window is half-open, (s - 60 s, s], so two emails share one
    when they are less than 60 s apart. With `spread`, consecutive emails are
    also at least 60 s / per_minute apart (three a minute: 20 s), which by
    itself keeps every window within the cap and sends them evenly, not in bursts.
    """

    def __init__(self, taken: Iterable[datetime], per_minute: int, *, spread: bool = False) -> None:
        if per_minute < 1:
            raise ValueError("A per-minute cap is at least 1.")
        self.per_minute = per_minute
        self.times = sorted(taken)
        # Rounded up to the microsecond: N + 1 emails a rounded-down gap apart could span under 60 s.
        self.gap = timedelta(microseconds=-(-60_000_000 // per_minute)) if spread else timedelta(0)

    def earliest(self, desired: datetime) -> datetime:
        """The first moment at or after `desired` where one more email keeps within the cap."""
        at = desired
        while (later := self._next_try(at)) is not None:
            at = later
        return at

    def take(self, at: datetime) -> None:
        bisect.insort(self.times, at)

    def _next_try(self, at: datetime) -> datetime | None:
        """None when one more email at `at` fits; else a later moment before which none can fit."""
        lo = bisect.bisect_right(self.times, at - MINUTE)
        hi = bisect.bisect_left(self.times, at + MINUTE)
        near = self.times[lo:hi]  # the emails that can share a window with one at `at`
        if self.gap:
            close = [moment for moment in near if abs(moment - at) < self.gap]
            if close:
                return max(close) + self.gap
        n = self.per_minute
        for first in range(len(near) - n + 1):
            group = near[first : first + n]
            # These n and the new one within less than 60 s: some window would hold n + 1.
            if max(group[-1], at) - min(group[0], at) < MINUTE:
                return group[0] + MINUTE
        return None


def throttles_place(desired: datetime, throttles: list[MinuteThrottle]) -> datetime:
    """The first moment at or after `desired` that every throttle accepts; it is taken in each."""
    at = desired
    while True:
        moved = at
        for throttle in throttles:
            moved = throttle.earliest(moved)
        if moved == at:
            break
        at = moved
    for throttle in throttles:
        throttle.take(at)
    return at


def _queued_first_emails(since: datetime) -> QuerySet[EnrollmentStep]:
    """Live enrollments' email steps waiting to go, from the minute before `since` on."""
    return EnrollmentStep.objects.filter(
        enrollment__status__in=Enrollment.LIVE_STATUSES,
        type=StepType.AUTOMATED_EMAIL,
        status__in=[EnrollmentStep.Status.SCHEDULED, EnrollmentStep.Status.DEFERRED],
        scheduled_for__gt=since - MINUTE,
    )


def sender_bulk_throttle(*, sender: User, since: datetime) -> MinuteThrottle:
    """The sender's bulk emails sent in the minute before `since` and queued from then on."""
    sent = OutboundMessage.objects.filter(
        sender=sender, is_bulk=True, state__in=SLOT_STATES, sent_at__gt=since - MINUTE
    ).values_list("sent_at", flat=True)
    queued = _queued_first_emails(since).filter(enrollment__sender=sender, enrollment__is_bulk=True)
    return MinuteThrottle(
        [*sent, *queued.values_list("scheduled_for", flat=True)], settings.BULK_THROTTLE_PER_MINUTE, spread=True
    )


def mailbox_minute_throttle(*, mailbox: Mailbox, since: datetime) -> MinuteThrottle | None:
    """The mailbox's emails sent in the minute before `since` and queued from then on (None: no cap)."""
    if mailbox.minute_limit is None:
        return None
    sent = OutboundMessage.objects.filter(
        mailbox=mailbox, state__in=SLOT_STATES, sent_at__gt=since - MINUTE
    ).values_list("sent_at", flat=True)
    queued = _queued_first_emails(since).filter(enrollment__mailbox=mailbox)
    return MinuteThrottle([*sent, *queued.values_list("scheduled_for", flat=True)], mailbox.minute_limit)
