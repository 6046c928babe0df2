"""Template helpers of the page shell: the unread badge, initials, small formatting filters."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import template
from django.db.models import QuerySet

from accounts_app.models import Notification
from contacts_app.models import ObjectSchema

register = template.Library()

# The badge shows "99+" past this, so the count never scans more rows than that.
UNREAD_CAP = 100


@register.simple_tag
def unread_notifications(user: Any) -> int:
    """Unread notices, counted up to UNREAD_CAP (served by the notice_unread_idx partial index)."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).values("pk")[:UNREAD_CAP].count()


@register.simple_tag
def custom_object_schemas() -> QuerySet[ObjectSchema]:
    return ObjectSchema.objects.only("name", "label").order_by("label")


@register.filter
def cap_count(value: int) -> str:
    return f"{UNREAD_CAP - 1}+" if value >= UNREAD_CAP else str(value)


@register.filter
def startswith(value: Any, prefix: str) -> bool:
    return isinstance(value, str) and value.startswith(prefix)


@register.filter
def initials(user: Any) -> str:
    first = (getattr(user, "first_name", "") or "")[:1]
    last = (getattr(user, "last_name", "") or "")[:1]
    letters = (first + last) or (getattr(user, "username", "") or getattr(user, "email", "") or "?")[:2]
    return letters.upper()


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    if mapping is None:
        return None
    try:
        return mapping.get(key) if hasattr(mapping, "get") else mapping[key]
    except (KeyError, IndexError, TypeError):
        return None


@register.filter
def in_zone(moment: datetime | None, zone: str) -> datetime | None:
    """`moment` as wall-clock time in `zone`, naive so that `|date` doesn't convert it back to UTC."""
    if moment is None:
        return None
    try:
        return moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    except (ZoneInfoNotFoundError, ValueError):
        return moment


@register.filter
def field_errors(errors: Any, name: str) -> list[str]:
    """Messages for one field from a service's VALIDATION_ERROR `fields` dict."""
    if not errors:
        return []
    return list(errors.get(name, []))


@register.filter
def person(user: Any) -> str:
    """A user's full name, else username; "—" for nobody (a filter argument can't look into None)."""
    if user is None or user == "":
        return "—"
    return user.get_full_name() or user.username
