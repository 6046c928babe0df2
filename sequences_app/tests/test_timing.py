"""Schedule arithmetic of SPEC §6, at literal instants."""
from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from sequences_app.scheduling.timing import (
    FollowUpRules,
    StepTiming,
    first_step_at,
    follow_up_at,
    is_eligible_day,
    project_schedule,
)

HELSINKI = ZoneInfo("Europe/Helsinki")
NEW_YORK = ZoneInfo("America/New_York")
BUSINESS_FI = FollowUpRules(follow_up_days="BUSINESS_DAYS", holiday_country="FI")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def wall(text: str) -> datetime:
    """A naive local wall-clock time, as a rep types it for send later."""
    return datetime.fromisoformat(text)


def local(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).isoformat()


def test_send_now_runs_the_first_step_now():
    now = at("2026-11-28T10:15:00+02:00")  # a Saturday
    assert first_step_at(now=now, tz=HELSINKI, send_at_local=None) == now


def test_send_later_is_read_in_the_enrollment_time_zone_not_the_servers():
    first = first_step_at(now=at("2026-11-27T08:00:00Z"), tz=NEW_YORK, send_at_local=wall("2026-12-01T09:30"))
    assert first == at("2026-12-01T14:30:00Z")


def test_send_later_on_a_weekend_runs_on_that_weekend_day():
    first = first_step_at(now=at("2026-11-27T08:00:00Z"), tz=HELSINKI, send_at_local=wall("2026-11-29T11:00"))
    assert local(first, HELSINKI) == "2026-11-29T11:00:00+02:00"


def test_a_follow_up_keeps_the_local_time_of_day():
    done = at("2026-11-23T09:30:00+02:00")  # Monday
    assert local(follow_up_at(previous_done_at=done, delay_days=2, tz=HELSINKI, rules=BUSINESS_FI),
                 HELSINKI) == "2026-11-25T09:30:00+02:00"


def test_a_follow_up_due_on_a_saturday_moves_to_monday():
    done = at("2026-11-26T09:30:00+02:00")  # Thursday; +2 days = Saturday
    result = follow_up_at(previous_done_at=done, delay_days=2, tz=HELSINKI, rules=BUSINESS_FI)
    assert local(result, HELSINKI) == "2026-11-30T09:30:00+02:00"


def test_friday_plus_one_business_day_is_monday():
    done = at("2026-11-27T16:00:00+02:00")
    result = follow_up_at(previous_done_at=done, delay_days=1, tz=HELSINKI, rules=BUSINESS_FI)
    assert local(result, HELSINKI) == "2026-11-30T16:00:00+02:00"


def test_finnish_independence_day_is_skipped_on_business_days_but_not_weekdays_only():
    done = at("2027-12-03T10:00:00+02:00")  # Friday; +3 days = Monday 6 December 2027
    business = follow_up_at(previous_done_at=done, delay_days=3, tz=HELSINKI, rules=BUSINESS_FI)
    weekdays = follow_up_at(previous_done_at=done, delay_days=3, tz=HELSINKI,
                            rules=FollowUpRules(follow_up_days="WEEKDAYS_ONLY", holiday_country="FI"))
    assert local(business, HELSINKI) == "2027-12-07T10:00:00+02:00"
    assert local(weekdays, HELSINKI) == "2027-12-06T10:00:00+02:00"


def test_holidays_of_another_country_do_not_count():
    assert is_eligible_day(date(2027, 12, 6), FollowUpRules(holiday_country="SE"))
    assert not is_eligible_day(date(2027, 12, 6), FollowUpRules(holiday_country="FI"))


def test_every_day_follows_up_on_weekends():
    done = at("2026-11-27T09:00:00+02:00")
    result = follow_up_at(previous_done_at=done, delay_days=1, tz=HELSINKI, rules=FollowUpRules("EVERYDAY"))
    assert local(result, HELSINKI) == "2026-11-28T09:00:00+02:00"


WINDOW = FollowUpRules(follow_up_days="WEEKDAYS_ONLY", send_window=(8 * 60, 17 * 60))


@pytest.mark.parametrize(
    ("done_local", "expected_local"),
    [
        ("2026-11-23T07:59:00+02:00", "2026-11-24T08:00:00+02:00"),  # before opening: opening that day
        ("2026-11-23T08:00:00+02:00", "2026-11-24T08:00:00+02:00"),  # opening minute is inside
        ("2026-11-23T16:59:00+02:00", "2026-11-24T16:59:00+02:00"),  # last minute is inside
        ("2026-11-23T17:00:00+02:00", "2026-11-25T08:00:00+02:00"),  # closing minute: next day's opening
        ("2026-11-26T18:30:00+02:00", "2026-11-30T08:00:00+02:00"),  # Friday evening: Monday's opening
    ],
)
def test_the_send_window_edges(done_local, expected_local):
    result = follow_up_at(previous_done_at=at(done_local), delay_days=1, tz=HELSINKI, rules=WINDOW)
    assert local(result, HELSINKI) == expected_local


def test_spring_forward_in_helsinki_keeps_the_wall_clock_time_23_hours_later():
    done = at("2026-03-28T09:00:00+02:00")  # Saturday; DST starts Sunday 29 March at 03:00
    result = follow_up_at(previous_done_at=done, delay_days=1, tz=HELSINKI, rules=FollowUpRules("EVERYDAY"))
    assert local(result, HELSINKI) == "2026-03-29T09:00:00+03:00"
    assert (result - done).total_seconds() == 23 * 3600


def test_fall_back_in_helsinki_keeps_the_wall_clock_time_25_hours_later():
    done = at("2026-10-24T09:00:00+03:00")
    result = follow_up_at(previous_done_at=done, delay_days=1, tz=HELSINKI, rules=FollowUpRules("EVERYDAY"))
    assert local(result, HELSINKI) == "2026-10-25T09:00:00+02:00"
    assert (result - done).total_seconds() == 25 * 3600


def test_both_switches_in_new_york():
    spring = follow_up_at(previous_done_at=at("2026-03-06T10:00:00-05:00"), delay_days=3, tz=NEW_YORK,
                          rules=FollowUpRules("BUSINESS_DAYS"))
    fall = follow_up_at(previous_done_at=at("2026-10-30T10:00:00-04:00"), delay_days=3, tz=NEW_YORK,
                        rules=FollowUpRules("BUSINESS_DAYS"))
    assert local(spring, NEW_YORK) == "2026-03-09T10:00:00-04:00"
    assert local(fall, NEW_YORK) == "2026-11-02T10:00:00-05:00"


def test_a_time_that_does_not_exist_moves_forward_by_the_gap():
    # 03:30 on 29 March 2026 doesn't exist in Helsinki (03:00 → 04:00).
    done = at("2026-03-28T03:30:00+02:00")
    result = follow_up_at(previous_done_at=done, delay_days=1, tz=HELSINKI, rules=FollowUpRules("EVERYDAY"))
    assert local(result, HELSINKI) == "2026-03-29T04:30:00+03:00"


def test_a_projected_schedule_counts_each_delay_from_the_previous_step():
    steps = [StepTiming(1, "automated_email", 0), StepTiming(2, "call", 2), StepTiming(3, "automated_email", 3)]
    schedule = project_schedule(steps=steps, first_at=at("2026-11-27T09:30:00+02:00"), tz=HELSINKI,
                                rules=BUSINESS_FI)
    assert [local(step.at, HELSINKI) for step in schedule] == [
        "2026-11-27T09:30:00+02:00",  # Friday, now
        "2026-11-30T09:30:00+02:00",  # Sunday → Monday
        "2026-12-03T09:30:00+02:00",  # Thursday
    ]


def test_a_projection_from_a_later_start_step_runs_that_step_first():
    steps = [StepTiming(2, "call", 2), StepTiming(3, "automated_email", 0)]
    schedule = project_schedule(steps=steps, first_at=at("2026-11-28T12:00:00+02:00"), tz=HELSINKI,
                                rules=BUSINESS_FI)
    assert [local(step.at, HELSINKI) for step in schedule] == [
        "2026-11-28T12:00:00+02:00",
        "2026-11-30T12:00:00+02:00",
    ]


def test_schedule_arithmetic_at_the_end_of_the_calendar_is_a_value_error_not_an_overflow():
    from sequences_app.scheduling.timing import follow_up_at

    rules = FollowUpRules(follow_up_days="EVERYDAY")
    with pytest.raises(ValueError, match="past the end of the calendar"):
        follow_up_at(previous_done_at=datetime(9999, 12, 1, tzinfo=UTC), delay_days=30, tz=ZoneInfo("Etc/GMT+12"),
                     rules=rules)
