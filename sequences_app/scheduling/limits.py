"""The rolling-24-hour send limit and the bulk throttle: pure arithmetic plus the reads that feed it.

Limit: a sender's sequence emails in any 24 hours stay within the seat's
limit (or the mailbox's lower cap). At enrollment the check is made for the
24 hours ending at the new first email, counting emails sent and emails
scheduled by live enrollments; at send time the scheduler checks the window
again with what was really sent, which keeps every window within the limit.

Throttle: emails started by a bulk enrollment leave at most N per calendar
minute per sender (N = BULK_THROTTLE_PER_MINUTE).
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings

from accounts_app.models import PortalSettings, User
from accounts_app.selectors import user_daily_send_limit
from mailboxes_app.models import Mailbox, OutboundMessage
from sequences_app.models import Enrollment, EnrollmentStep, StepType

WINDOW = timedelta(hours=24)
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


def minute_of(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


class BulkThrottle:
    """Minute slots of one sender's bulk emails; at most `per_minute` in each."""

    def __init__(self, taken: Iterable[datetime], per_minute: int | None = None) -> None:
        self.per_minute = per_minute or settings.BULK_THROTTLE_PER_MINUTE
        self.slots: Counter[datetime] = Counter(minute_of(moment) for moment in taken)

    def place(self, desired: datetime) -> datetime:
        """The first moment at or after `desired` whose minute has room; the slot is taken."""
        slot = minute_of(desired)
        while self.slots[slot] >= self.per_minute:
            slot += timedelta(minutes=1)
        self.slots[slot] += 1
        return max(desired, slot)


def sender_bulk_throttle(*, sender: User, since: datetime) -> BulkThrottle:
    """The sender's bulk emails already queued from `since` on."""
    queued = EnrollmentStep.objects.filter(
        enrollment__sender=sender,
        enrollment__is_bulk=True,
        enrollment__status__in=Enrollment.LIVE_STATUSES,
        type=StepType.AUTOMATED_EMAIL,
        status__in=[EnrollmentStep.Status.SCHEDULED, EnrollmentStep.Status.DEFERRED],
        scheduled_for__gte=minute_of(since),
    ).values_list("scheduled_for", flat=True)
    return BulkThrottle(queued)
