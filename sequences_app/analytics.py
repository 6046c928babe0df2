"""Sequence performance: counts, rates and a 30-day chart, from aggregate queries only.

Every figure is a GROUP BY over the sequence's rows (enrollments by status,
events by kind and step, executed steps and completed tasks by step), so the
cost is a constant number of queries whatever the number of enrollments —
the (sequence, status) and (sequence, kind, occurred_at) indexes serve them.

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

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts_app.models import PortalSettings
from sequences_app.models import EmailEvent, Enrollment, EnrollmentStep, Sequence, Task

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
EXECUTED = (EnrollmentStep.Status.SENT, EnrollmentStep.Status.TASK_DONE)


def sequence_performance(*, sequence: Sequence, now: datetime | None = None) -> dict[str, Any]:
    """Everything `GET /sequences/{id}/performance/` answers, in the same few queries whatever the volume."""
    now = now or timezone.now()
    enrollments = Enrollment.objects.filter(sequence=sequence)
    events = EmailEvent.objects.filter(sequence=sequence)

    by_status = dict(enrollments.order_by().values_list("status").annotate(n=Count("id")))
    totals = events.aggregate(
        sent=Count("id", filter=Q(kind=Kind.SENT)),
        meetings=Count("id", filter=Q(kind=Kind.MEETING)),
        **{name: Count("enrollment", filter=Q(kind=kind), distinct=True) for name, kind in ENGAGEMENT.items()},
    )
    summary = _summary(by_status, totals)
    summary["steps"] = _steps(sequence, events)
    summary["timeline"] = _timeline(enrollments, events, now=now)
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


def _steps(sequence: Sequence, events: Any) -> list[dict[str, Any]]:
    """One row per step: the sequence's current steps, and any older step enrollments still ran."""
    current = dict(sequence.steps.order_by().values_list("order", "type"))
    executed = dict(
        EnrollmentStep.objects.filter(enrollment__sequence=sequence, status__in=EXECUTED)
        .order_by()
        .values_list("order")
        .annotate(n=Count("id"))
    )
    tasks_done = dict(
        Task.objects.filter(enrollment__sequence=sequence, status=Task.Status.DONE, step_order__isnull=False)
        .order_by()
        .values_list("step_order")
        .annotate(n=Count("id"))
    )
    engaged: dict[int, dict[str, int]] = defaultdict(dict)
    rows = (
        events.filter(kind__in=[ENGAGEMENT[name] for name in STEP_ENGAGEMENT], step_order__isnull=False)
        .order_by()
        .values_list("step_order", "kind")
        .annotate(n=Count("enrollment", distinct=True))
    )
    for order, kind, n in rows:
        engaged[order][kind] = n

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


def _timeline(enrollments: Any, events: Any, *, now: datetime) -> list[dict[str, Any]]:
    """Enrolled, sent and replied per day for the last 30 days, days as the portal's calendar has them."""
    tz = _portal_zone()
    today = timezone.localtime(now, tz).date()
    first_day = today - timedelta(days=TIMELINE_DAYS - 1)
    since = datetime.combine(first_day, time.min, tzinfo=tz)

    days: dict[date, dict[str, int]] = {
        first_day + timedelta(days=n): {"enrolled": 0, "sent": 0, "replied": 0} for n in range(TIMELINE_DAYS)
    }
    enrolled = (
        enrollments.filter(enrolled_at__gte=since)
        .annotate(day=TruncDate("enrolled_at", tzinfo=tz))
        .order_by()
        .values_list("day")
        .annotate(n=Count("id"))
    )
    for day, n in enrolled:
        if day in days:
            days[day]["enrolled"] = n
    happened = (
        events.filter(kind__in=[Kind.SENT, Kind.REPLY], occurred_at__gte=since)
        .annotate(day=TruncDate("occurred_at", tzinfo=tz))
        .order_by()
        .values_list("day", "kind")
        .annotate(n=Count("id"))
    )
    for day, kind, n in happened:
        if day in days:
            days[day]["sent" if kind == Kind.SENT else "replied"] = n
    return [{"date": day.isoformat(), **counts} for day, counts in days.items()]


def _portal_zone() -> ZoneInfo:
    try:
        return ZoneInfo(PortalSettings.load().time_zone)
    except (ValueError, ZoneInfoNotFoundError):
        # A broken portal setting must not take the analytics page down with it.
        return ZoneInfo("UTC")


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0
