"""Writes about users, seats, teams and the portal's settings.

Every entry point (API, admin pages, management commands) goes through
these, so a rule — passwords hashed and validated, one seat per user, the
last admin can't be demoted, a real IANA time zone — is written once.
"""
from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from functools import cache
from typing import Any

import holidays
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext as _

from accounts_app.models import PortalSettings, Seat, Team, User
from accounts_app.preferences import language_codes
from accounts_app.selectors import user_seat
from config.errors import Conflict, ValidationFailed
from sequences_app.services.stops import enrollments_stop_sender_deactivated, enrollments_stop_sender_lost_seat

USER_FIELDS = (
    "username", "email", "first_name", "last_name", "is_staff", "is_active", "can_bulk_enroll", "time_zone", "language",
)
# A send limit above this is a typo, not a plan (and would overflow the column).
MAX_SEND_LIMIT = 1_000_000


@cache
def iana_time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def time_zone_is_valid(name: str) -> bool:
    return name in iana_time_zones()


@cache
def holiday_countries() -> frozenset[str]:
    """ISO 3166 alpha-2 codes the `holidays` package has calendars for."""
    return frozenset(code for code in holidays.list_supported_countries() if len(code) == 2)


def _time_zone_error(name: str) -> str:
    return _("%(name)r is not an IANA time zone such as 'Europe/Helsinki'.") % {"name": name}


def _language_error(code: str) -> str:
    return _("%(code)r is not a language Nudge speaks; choose one of %(codes)s.") % {
        "code": code, "codes": ", ".join(language_codes()),
    }


def _preference_errors(data: dict[str, Any]) -> dict[str, list[str]]:
    """A user's `time_zone` ('' = the portal's) and `language` ('' = the browser's, then the portal's)."""
    errors: dict[str, list[str]] = {}
    if "time_zone" in data and data["time_zone"] and not time_zone_is_valid(data["time_zone"]):
        errors["time_zone"] = [_time_zone_error(data["time_zone"])]
    if "language" in data and data["language"] and data["language"] not in language_codes():
        errors["language"] = [_language_error(data["language"])]
    return errors


@transaction.atomic
def user_preferences_update(*, user: User, time_zone: str, language: str) -> User:
    """The user's own time zone and language (the settings page; any user, for themselves)."""
    data = {"time_zone": time_zone.strip(), "language": language.strip()}
    errors = _preference_errors(data)
    if errors:
        raise ValidationFailed(_("Your preferences were not saved."), fields=errors)
    user.time_zone, user.language = data["time_zone"], data["language"]
    user.save(update_fields=["time_zone", "language"])
    return user


@transaction.atomic
def user_create(
    *,
    username: str,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    password: str | None = None,
    is_staff: bool = False,
    is_active: bool = True,
    can_bulk_enroll: bool = False,
    seat: dict[str, str] | None = None,
    teams: Iterable[Team] = (),
    time_zone: str = "",
    language: str = "",
) -> User:
    """Create a user; without a password they can't log in until an admin sets one."""
    errors = _preference_errors({"time_zone": time_zone, "language": language})
    if errors:
        raise ValidationFailed(_("The user was not saved."), fields=errors)
    user = User(
        time_zone=time_zone,
        language=language,
        username=username,
        email=email.strip(),
        first_name=first_name,
        last_name=last_name,
        is_staff=is_staff,
        is_active=is_active,
        can_bulk_enroll=can_bulk_enroll,
    )
    _set_password(user, password)
    user.save()
    if seat is not None:
        seat_set(user=user, hub=seat["hub"], tier=seat["tier"])
    user_teams_set(user=user, teams=teams)
    return user


@transaction.atomic
def user_update(*, user: User, data: dict[str, Any]) -> User:
    """Apply the given fields only; `seat: None` removes the seat, a dict sets it.

    An admin can't take away the portal's last admin (by demoting or
    deactivating), or the portal would have nobody to manage it.
    """
    losing_admin = (data.get("is_staff") is False and user.is_staff) or (
        data.get("is_active") is False and user.is_active and user.is_staff
    )
    if losing_admin:
        _refuse_if_last_admin(user)
    errors = _preference_errors(data)
    if errors:
        raise ValidationFailed(_("The user was not saved."), fields=errors)
    deactivating = data.get("is_active") is False and user.is_active
    for field in USER_FIELDS:
        if field in data:
            setattr(user, field, data[field].strip() if field == "email" else data[field])
    if "password" in data:
        _set_password(user, data["password"])
    user.save()
    if "seat" in data:
        if data["seat"] is None:
            seat_remove(user=user)
        else:
            _seat_merge(user, data["seat"])
    if "teams" in data:
        user_teams_set(user=user, teams=data["teams"])
    if deactivating:
        user_deactivate(user=user)
    return user


@transaction.atomic
def user_deactivate(*, user: User) -> int:
    """The user may no longer sign in or send: their live enrollments end (SENDER_DEACTIVATED).

    The one place a user is deactivated (the API, the settings page and the
    Django admin come here); returns how many enrollments stopped.
    """
    User.objects.filter(pk=user.pk).update(is_active=False)
    user.is_active = False
    return enrollments_stop_sender_deactivated(sender=user)


@transaction.atomic
def user_delete(*, user: User, acting_user: User) -> None:
    """Delete a user who has no history; one who sent or owns sequences is deactivated instead, by the admin."""
    if user.pk == acting_user.pk:
        raise Conflict("CANNOT_DELETE_SELF", "You can't delete your own account.")
    if user.is_staff:
        _refuse_if_last_admin(user)
    try:
        user.delete()
    except ProtectedError as exc:
        raise Conflict(
            "USER_HAS_HISTORY",
            "This user owns sequences or sent enrollments, which must keep their history: "
            "deactivate the user (is_active false) instead.",
        ) from exc


def seat_set(*, user: User, hub: str, tier: str) -> Seat:
    """Give the user a seat, or change the one they have (one seat per user)."""
    if hub not in Seat.Hub.values:
        raise ValidationFailed("Unknown hub.", fields={"seat.hub": [f"Choose one of {', '.join(Seat.Hub.values)}."]})
    if tier not in Seat.Tier.values:
        raise ValidationFailed(
            "Unknown tier.", fields={"seat.tier": [f"Choose one of {', '.join(Seat.Tier.values)}."]}
        )
    seat, _ = Seat.objects.update_or_create(user=user, defaults={"hub": hub, "tier": tier})
    _forget_cached_seat(user)
    if not seat.can_enroll:  # below Professional: the sender's live enrollments end
        enrollments_stop_sender_lost_seat(sender=user)
    return seat


def seat_remove(*, user: User) -> None:
    """Take the user's seat away (nothing happens if they have none).

    The one place a seat is lost: what a sender's live enrollments must do
    then (SENDER_LOST_SEAT) belongs here.
    """
    Seat.objects.filter(user=user).delete()
    _forget_cached_seat(user)
    enrollments_stop_sender_lost_seat(sender=user)


def user_teams_set(*, user: User, teams: Iterable[Team]) -> None:
    user.teams.set(list(teams))


@transaction.atomic
def team_create(*, name: str, members: Iterable[User] = ()) -> Team:
    name = name.strip()
    _refuse_duplicate_team_name(name)
    team = Team.objects.create(name=name)
    team.members.set(list(members))
    return team


@transaction.atomic
def team_update(*, team: Team, data: dict[str, Any]) -> Team:
    if "name" in data:
        name = data["name"].strip()
        _refuse_duplicate_team_name(name, exclude_pk=team.pk)
        team.name = name
        team.save(update_fields=["name"])
    if "members" in data:
        team.members.set(list(data["members"]))
    return team


def team_delete(*, team: Team) -> None:
    team.delete()


@transaction.atomic
def portal_update(*, data: dict[str, Any]) -> PortalSettings:
    """Change portal settings: `time_zone`, `language`, `holiday_country`, `send_limits`,
    `out_of_office_default_days`."""
    portal = PortalSettings.load()
    errors: dict[str, list[str]] = {}
    if "time_zone" in data:
        if not time_zone_is_valid(data["time_zone"]):
            errors["time_zone"] = [_time_zone_error(data["time_zone"])]
        portal.time_zone = data["time_zone"]
    if "language" in data:
        if data["language"] not in language_codes():
            errors["language"] = [_language_error(data["language"])]
        portal.language = data["language"]
    if "holiday_country" in data:
        country = (data["holiday_country"] or "").strip().upper()
        if country and country not in holiday_countries():
            errors["holiday_country"] = [
                f"{country!r} is not a country with a holiday calendar; use an ISO code such as 'FI', or ''."
            ]
        portal.holiday_country = country
    for tier, value in (data.get("send_limits") or {}).items():
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_SEND_LIMIT:
            errors[f"send_limits.{tier}"] = [f"Must be a whole number from 0 to {MAX_SEND_LIMIT}."]
        elif tier == Seat.Tier.PROFESSIONAL:
            portal.professional_send_limit = value
        elif tier == Seat.Tier.ENTERPRISE:
            portal.enterprise_send_limit = value
        else:
            errors[f"send_limits.{tier}"] = ["Only professional and enterprise seats send sequence email."]
    if "out_of_office_default_days" in data:
        days = data["out_of_office_default_days"]
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 365:
            errors["out_of_office_default_days"] = ["Must be a whole number of days from 1 to 365."]
        portal.out_of_office_default_days = days
    if errors:
        raise ValidationFailed("Portal settings not saved.", fields=errors)
    portal.save()
    return portal


def _seat_merge(user: User, seat: dict[str, str]) -> None:
    # A PATCH may change only the tier (or the hub) of the seat a user holds.
    current = user_seat(user)
    hub = seat.get("hub") or (current.hub if current else None)
    tier = seat.get("tier") or (current.tier if current else None)
    if hub is None or tier is None:
        missing = {name: ["This field is required."] for name, value in (("hub", hub), ("tier", tier)) if not value}
        raise ValidationFailed(
            "A new seat needs a hub and a tier.", fields={f"seat.{name}": msgs for name, msgs in missing.items()}
        )
    seat_set(user=user, hub=hub, tier=tier)


def _set_password(user: User, password: str | None) -> None:
    if not password:
        user.set_unusable_password()
        return
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        # The messages describe the rule broken, never the password itself.
        raise ValidationFailed("The password is too weak.", fields={"password": list(exc.messages)}) from exc
    user.set_password(password)


def _refuse_if_last_admin(user: User) -> None:
    others = User.objects.filter(is_staff=True, is_active=True).exclude(pk=user.pk)
    if not others.exists():
        raise Conflict("LAST_ADMIN", "This is the portal's last active admin; make someone else an admin first.")


def _refuse_duplicate_team_name(name: str, exclude_pk: int | None = None) -> None:
    if not name:
        raise ValidationFailed("A team needs a name.", fields={"name": ["This field may not be blank."]})
    clash = Team.objects.filter(name__iexact=name)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ValidationFailed("A team with this name exists.", fields={"name": ["A team with this name exists."]})


def _forget_cached_seat(user: User) -> None:
    # `user.seat` is cached on the instance (and may cache "no seat"); drop it
    # so the next read sees what was just written.
    if User.seat.related.is_cached(user):
        User.seat.related.delete_cached_value(user)
