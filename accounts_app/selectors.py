"""Reads about users: seats, permissions, effective limits."""
from __future__ import annotations

from accounts_app.models import PortalSettings, Seat, User


def user_seat(user: User) -> Seat | None:
    try:
        return user.seat
    except Seat.DoesNotExist:
        return None


def user_can_enroll(user: User) -> bool:
    seat = user_seat(user)
    return seat is not None and seat.can_enroll


def user_is_enterprise(user: User) -> bool:
    seat = user_seat(user)
    return seat is not None and seat.is_enterprise


def user_daily_send_limit(user: User, *, portal: PortalSettings | None = None) -> int:
    """Sequence emails the user may send in any rolling 24 hours, by seat (0 without a qualifying one)."""
    seat = user_seat(user)
    if seat is None:
        return 0
    return (portal or PortalSettings.load()).send_limit_for_tier(seat.tier)
