"""Reads behind the sequence pages: a page of sequences with live stats in a fixed number of queries."""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import Count, Q, QuerySet

from accounts_app.models import User
from sequences_app.models import EmailEvent, Enrollment, Sequence, Task
from sequences_app.selectors import sequences_list, tasks_visible_to


def sequences_page(
    *, user: User, search: str = "", owner_id: int | None = None, sharing: str = ""
) -> QuerySet[Sequence]:
    sequences = sequences_list(user=user, search=search, owner_id=owner_id).select_related("owner")
    if sharing:
        sequences = sequences.filter(visibility=sharing)
    return sequences.annotate(step_count=Count("steps", distinct=True)).order_by("name", "id")


def sequence_list_stats(sequence_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Enrolled, active, and reply/open/meeting rates per sequence: two GROUP BY queries for a whole page.

    Rates are shares of enrolled contacts, counted the way
    sequences_app.analytics counts them (an enrollment with such an event).
    """
    stats: dict[int, dict[str, Any]] = defaultdict(
        lambda: {"enrolled": 0, "active": 0, "replied": 0, "opened": 0, "meetings": 0}
    )
    if not sequence_ids:
        return {}
    by_status = (
        Enrollment.objects.filter(sequence_id__in=sequence_ids)
        .order_by()
        .values("sequence_id")
        .annotate(
            enrolled=Count("id"),
            active=Count("id", filter=Q(status__in=Enrollment.LIVE_STATUSES)),
        )
    )
    for row in by_status:
        stats[row["sequence_id"]].update(enrolled=row["enrolled"], active=row["active"])
    Kind = EmailEvent.Kind
    engaged = (
        EmailEvent.objects.filter(sequence_id__in=sequence_ids, kind__in=[Kind.REPLY, Kind.OPEN, Kind.MEETING])
        .order_by()
        .values("sequence_id")
        .annotate(
            replied=Count("enrollment", filter=Q(kind=Kind.REPLY), distinct=True),
            opened=Count("enrollment", filter=Q(kind=Kind.OPEN), distinct=True),
            meetings=Count("id", filter=Q(kind=Kind.MEETING)),
        )
    )
    for row in engaged:
        stats[row["sequence_id"]].update(replied=row["replied"], opened=row["opened"], meetings=row["meetings"])
    result = {}
    for sequence_id in sequence_ids:
        row = dict(stats[sequence_id])
        enrolled = row["enrolled"]
        for name in ("replied", "opened", "meetings"):
            row[f"{name}_rate"] = round(100 * row[name] / enrolled) if enrolled else None
        result[sequence_id] = row
    return result


def task_queue(*, user: User, status: str, due: str, now: Any) -> QuerySet[Task]:
    tasks = tasks_visible_to(user).filter(status=status).select_related("contact", "enrollment__sequence", "owner")
    if due == "overdue":
        tasks = tasks.filter(due_at__lt=now)
    elif due == "today":
        tasks = tasks.filter(due_at__date=now.date())
    order = ["due_at", "id"] if status == Task.Status.OPEN else ["-completed_at", "-id"]
    return tasks.order_by(*order)
