"""The in-app notices a user reads from the bell in the page header."""
from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from accounts_app.models import Notification, User

PAGE = 50


def notifications_recent(*, user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).order_by("-created_at", "-id")[:PAGE]


def notifications_mark_read(*, user: User) -> int:
    """Mark every unread notice of the user read; returns how many were unread."""
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
