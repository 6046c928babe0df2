"""Sequence performance: counts, rates and a 30-day chart, read from running counts.

Every figure but the chart comes from the sequence's running counts
(sequences_app.counters: enrollments by status, events by kind, engaged
enrollments per kind and step, executed steps and completed tasks by step),
kept by triggers in the same transaction as the rows: one indexed query
whatever the number of enrollments; the chart sums the last 30 days of the
sequence's quarter-hour counts into the portal's days.

Opened, clicked, replied, bounced and unsubscribed count *enrollments* that
had at least one such event (a contact opening three times is one open), so
every rate is a share of enrolled contacts, as reps read them. Meetings count
meeting events: each booked meeting is one.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts_app.models import PortalSettings
from sequences_app.counters import sequence_counts
from sequences_app.models import EmailEvent, Enrollment, Sequence, SequenceTimelineCount

TIMELINE_DAYS = 30
Kind = EmailEvent.Kind
# API name -> event kind, for the figures that count enrollments with such an event.
ENGAGEMENT = {
    "opened": Kind.OPEN,
    "clicked": Kind.CLICK,
    "replied": Kind.REPLY,
    "bounced": Kind.BOUNCE,
    "unsubscribed": Kind.UNSUBSCRIBE,
}
STEP_ENGAGEMENT = ("opened", "clicked", "replied")


def sequence_performance(*, sequence: Sequence, now: datetime | None = None) -> dict[str, Any]:
    """Everything `GET /sequences/{id}/performance/` answers, in the same few queries whatever the volume."""
    now = now or timezone.now()
    counts = sequence_counts([sequence.pk]).get(sequence.pk, {})
    by_status = {
        name.removeprefix("status."): value for (step, name), value in counts.items()
        if step == 0 and name.startswith("status.")
    }
    totals = {
        "sent": counts.get((0, f"events.{Kind.SENT}"), 0),
        "meetings": counts.get((0, f"events.{Kind.MEETING}"), 0),
        **{name: counts.get((0, f"engaged.{kind}"), 0) for name, kind in ENGAGEMENT.items()},
    }
    summary = _summary(by_status, totals)
    summary["steps"] = _steps(sequence, counts)
    summary["timeline"] = _timeline(sequence, now=now)
    return summary


def _summary(by_status: dict[str, int], totals: dict[str, int]) -> dict[str, Any]:
    status = Enrollment.Status
    enrolled = sum(by_status.values())
    data: dict[str, Any] = {
        "enrolled": enrolled,
        # Every enrollment still running, whether waiting to start or paused on the way.
        "active": sum(by_status.get(s, 0) for s in Enrollment.LIVE_STATUSES),
        "finished": by_status.get(status.FINISHED, 0),
        "unenrolled": by_status.get(status.UNENROLLED, 0),
        **{name: totals[name] for name in ENGAGEMENT},
        "meetings": totals["meetings"],
        "sent": totals["sent"],
        "failed": by_status.get(status.FAILED, 0),
        "by_status": {s: by_status.get(s, 0) for s in status.values},
    }
    data["rates"] = {
        "open": _rate(data["opened"], enrolled),
        "click": _rate(data["clicked"], enrolled),
        "reply": _rate(data["replied"], enrolled),
        "meeting": _rate(data["meetings"], enrolled),
        "bounce": _rate(data["bounced"], enrolled),
        "unsubscribe": _rate(data["unsubscribed"], enrolled),
    }
    return data


def _steps(sequence: Sequence, counts: dict[tuple[int, str], int]) -> list[dict[str, Any]]:
    """One row per step: the sequence's current steps, and any older step enrollments still ran."""
    current = dict(sequence.steps.order_by().values_list("order", "type"))
    executed = {step: n for (step, name), n in counts.items() if step and name == "executed"}
    tasks_done = {step: n for (step, name), n in counts.items() if step and name == "tasks_done"}
    step_kinds = {f"engaged.{ENGAGEMENT[name]}" for name in STEP_ENGAGEMENT}
    engaged: dict[int, dict[str, int]] = defaultdict(dict)
    for (step, name), n in counts.items():
        if step and name in step_kinds:
            engaged[step][name.removeprefix("engaged.")] = n

    steps = []
    for order in sorted(set(current) | set(executed) | set(tasks_done) | set(engaged)):
        row: dict[str, Any] = {
            "order": order,
            "type": current.get(order),
            "executed": executed.get(order, 0),
            **{name: engaged[order].get(ENGAGEMENT[name], 0) for name in STEP_ENGAGEMENT},
            "tasks_completed": tasks_done.get(order, 0),
        }
        row["rates"] = {
            "open": _rate(row["opened"], row["executed"]),
            "click": _rate(row["clicked"], row["executed"]),
            "reply": _rate(row["replied"], row["executed"]),
        }
        steps.append(row)
    return steps


def _timeline(sequence: Sequence, *, now: datetime) -> list[dict[str, Any]]:
    """Enrolled, sent and replied per day for the last 30 days, days as the portal's calendar has them.

    Summed from the sequence's quarter-hour counts (at most 30 × 96 per figure, one indexed range).
    """
    tz = _portal_zone()
    today = timezone.localtime(now, tz).date()
    first_day = today - timedelta(days=TIMELINE_DAYS - 1)
    since = datetime.combine(first_day, time.min, tzinfo=tz)

    days: dict[date, dict[str, int]] = {
        first_day + timedelta(days=n): {"enrolled": 0, "sent": 0, "replied": 0} for n in range(TIMELINE_DAYS)
    }
    rows = (
        SequenceTimelineCount.objects.filter(sequence=sequence, bucket__gte=since)
        .annotate(day=TruncDate("bucket", tzinfo=tz))
        .order_by()
        .values_list("day", "name")
        .annotate(n=Sum("value"))
    )
    for day, name, n in rows:
        if day in days and name in days[day]:
            days[day][name] = n
    return [{"date": day.isoformat(), **counts} for day, counts in days.items()]


def _portal_zone() -> ZoneInfo:
    try:
        return ZoneInfo(PortalSettings.load().time_zone)
    except (ValueError, ZoneInfoNotFoundError):
        # A broken portal setting must not take the analytics page down with it.
        return ZoneInfo("UTC")


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0
