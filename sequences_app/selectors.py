"""Reads over sequences and enrollments, with who-may-see-what in one place."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts_app.models import User
from sequences_app.models import Enrollment, Sequence, Task


def sequences_visible_to(user: User) -> QuerySet[Sequence]:
    """Live sequences the user may read and enroll into: own, shared with them or their teams, or with everyone."""
    live = Sequence.objects.filter(deleted_at__isnull=True)
    if user.is_staff:
        return live
    shared = Q(visibility=Sequence.Visibility.SPECIFIC) & (Q(shared_users=user) | Q(shared_teams__members=user))
    ids = Sequence.objects.filter(Q(owner=user) | Q(visibility=Sequence.Visibility.EVERYONE) | shared).values("id")
    return live.filter(id__in=ids)


def sequence_is_shared_with(sequence: Sequence, user: User) -> bool:
    return sequences_visible_to(user).filter(pk=sequence.pk).exists()


def sequence_is_editable_by(sequence: Sequence, user: User) -> bool:
    return user.is_staff or sequence.owner_id == user.pk


def enrollments_visible_to(user: User) -> QuerySet[Enrollment]:
    """Enrollments the user sent (admins: all)."""
    enrollments = Enrollment.objects.all()
    return enrollments if user.is_staff else enrollments.filter(sender=user)


def tasks_visible_to(user: User) -> QuerySet[Task]:
    tasks = Task.objects.all()
    return tasks if user.is_staff else tasks.filter(owner=user)
