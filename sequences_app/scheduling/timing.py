"""When each step of an enrollment runs: pure functions over aware datetimes.

SPEC §6, in the enrollment's time zone:
1. The first step runs now, or at the chosen local send-later time, on that
   day even if it is a weekend or a holiday.
2. A later step runs `delay_days` calendar days after the previous step was
   done, at the same local wall-clock time (23 or 25 hours across a DST switch).
3. If that day is not an eligible follow-up day, it moves to the next
   eligible day, same local time.
4. If a send window is set and the time is outside it, it moves to the
   window's next opening: later that day, or the next eligible day.
Local times that don't exist (the spring-forward gap) move forward by the
gap; ambiguous ones (fall back) take the first occurrence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

BUSINESS_DAYS = "BUSINESS_DAYS"
WEEKDAYS_ONLY = "WEEKDAYS_ONLY"
EVERYDAY = "EVERYDAY"
# A year of ineligible days can't happen; this bounds the search all the same.
_MAX_DAYS_AHEAD = 370


@dataclass(frozen=True)
class FollowUpRules:
    follow_up_days: str = BUSINESS_DAYS
    # (start_minute, end_minute) of the local day, end exclusive; None = any time.
    send_window: tuple[int, int] | None = None
    # ISO country whose public holidays are not business days ("" = none).
    holiday_country: str = ""


@dataclass(frozen=True)
class StepTiming:
    order: int
    type: str
    delay_days: int


@dataclass(frozen=True)
class ProjectedStep:
    order: int
    type: str
    at: datetime


def to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    """A naive local wall-clock time in `tz` as an aware UTC instant.

    OverflowError for a time whose UTC instant falls outside years 1 to 9999
    (0001-01-01 00:00 in Helsinki): callers bound what they accept first.
    """
    return local.replace(tzinfo=tz, fold=0).astimezone(UTC)


def first_step_at(*, now: datetime, tz: ZoneInfo, send_at_local: datetime | None) -> datetime:
    return now if send_at_local is None else to_utc(send_at_local, tz)


def is_eligible_day(day: date, rules: FollowUpRules) -> bool:
    if rules.follow_up_days == EVERYDAY:
        return True
    if day.weekday() >= 5:
        return False
    if rules.follow_up_days == BUSINESS_DAYS and rules.holiday_country:
        return day not in _holidays(rules.holiday_country, day.year)
    return True


def next_eligible_day(day: date, rules: FollowUpRules) -> date:
    for offset in range(_MAX_DAYS_AHEAD):
        candidate = day + timedelta(days=offset)
        if is_eligible_day(candidate, rules):
            return candidate
    raise ValueError("No eligible follow-up day within a year.")


def follow_up_at(*, previous_done_at: datetime, delay_days: int, tz: ZoneInfo, rules: FollowUpRules) -> datetime:
    """When a step after the first runs, given when the previous step was done.

    Raises ValueError (not OverflowError) when the answer would pass the end of the calendar.
    """
    if previous_done_at.astimezone(UTC) > LATEST - timedelta(days=delay_days + _MAX_DAYS_AHEAD + 2):
        raise ValueError("A follow-up this far ahead is past the end of the calendar.")
    local = previous_done_at.astimezone(tz)
    wall_clock = local.time().replace(tzinfo=None)
    day = next_eligible_day(local.date() + timedelta(days=delay_days), rules)
    if rules.send_window is not None:
        start, end = rules.send_window
        minute_of_day = wall_clock.hour * 60 + wall_clock.minute
        if minute_of_day < start:
            wall_clock = _minute_to_time(start)
        elif minute_of_day >= end:
            day = next_eligible_day(day + timedelta(days=1), rules)
            wall_clock = _minute_to_time(start)
    return to_utc(datetime.combine(day, wall_clock), tz)


# The last instant schedule arithmetic starts from: a year of day-hunting and any delay still fit before 9999.
LATEST = datetime(9990, 1, 1, tzinfo=UTC)


def project_schedule(
    *, steps: Sequence[StepTiming], first_at: datetime, tz: ZoneInfo, rules: FollowUpRules
) -> list[ProjectedStep]:
    """Projected time of each step, the first at `first_at`; tasks are taken as done when due."""
    projected: list[ProjectedStep] = []
    for step in steps:
        if not projected:
            at = first_at
        else:
            at = follow_up_at(previous_done_at=projected[-1].at, delay_days=step.delay_days, tz=tz, rules=rules)
        projected.append(ProjectedStep(order=step.order, type=step.type, at=at))
    return projected


def _minute_to_time(minute: int) -> time:
    # 1440 can't be an opening minute: the window check guarantees start < end <= 1440.
    return time(minute // 60, minute % 60)


@cache
def _holidays(country: str, year: int) -> holidays.HolidayBase:
    try:
        return holidays.country_holidays(country, years=year)
    except NotImplementedError:
        # An unsupported country is refused when portal settings are saved;
        # an old value must not stop the scheduler.
        return holidays.HolidayBase()
