"""Reads behind the sequence pages: a page of sequences with live stats in a fixed number of queries."""
from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet

from accounts_app.models import User
from sequences_app.counters import sequence_counts
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
    """Enrolled, active, and reply/open/meeting rates per sequence: one indexed query for a whole page.

    Read from the running counts (sequences_app.counters); rates are shares
    of enrolled contacts, counted the way sequences_app.analytics counts them
    (an enrollment with such an event).
    """
    if not sequence_ids:
        return {}
    counts = sequence_counts(sequence_ids)
    live = {f"status.{status}" for status in Enrollment.LIVE_STATUSES}
    Kind = EmailEvent.Kind
    result = {}
    for sequence_id in sequence_ids:
        figures = counts.get(sequence_id, {})
        statuses = {name: n for (step, name), n in figures.items() if step == 0 and name.startswith("status.")}
        row = {
            "enrolled": sum(statuses.values()),
            "active": sum(n for name, n in statuses.items() if name in live),
            "replied": figures.get((0, f"engaged.{Kind.REPLY}"), 0),
            "opened": figures.get((0, f"engaged.{Kind.OPEN}"), 0),
            "meetings": figures.get((0, f"events.{Kind.MEETING}"), 0),
        }
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
