"""A sequence's settings as one value: the documented defaults, strict merging, and the round trips."""

from __future__ import annotations

from dataclasses import FrozenInstanceError

import pytest

from config.errors import ValidationFailed
from sequences_app.sequence_settings import BOOLEAN_SETTINGS, SequenceSettings
from sequences_app.serializers.sequences import SequenceSettingsSerializer
from tests.factories import SequenceFactory


def refusal(changes: object, **kwargs: object) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as caught:
        SequenceSettings().merged(changes, **kwargs)
    assert caught.value.code == "VALIDATION_ERROR"
    return caught.value.extra["fields"]


def test_the_defaults_are_the_documented_ones():
    data = SequenceSettings().to_dict()

    assert data["follow_up_days"] == "BUSINESS_DAYS"
    assert data["send_window"] is None
    assert data["threaded_follow_ups"] is True
    assert data["unenroll_on_reply"] is True
    assert data["unenroll_on_meeting"] is True
    assert data["account_based"] is False


def test_merging_changes_only_what_is_given():
    merged = SequenceSettings().merged(
        {"follow_up_days": "EVERYDAY", "send_window": {"start_minute": 480, "end_minute": 1080}}
    )

    assert merged.follow_up_days == "EVERYDAY"
    assert merged.send_window == (480, 1080)
    assert merged.threaded_follow_ups is True


def test_merging_nothing_keeps_everything():
    settings = SequenceSettings(account_based=True)

    assert settings.merged(None) is settings
    assert settings.merged({}) == settings


def test_a_window_can_be_removed_with_null():
    assert SequenceSettings(send_window=(0, 60)).merged({"send_window": None}).send_window is None


def test_merging_returns_a_new_value_and_leaves_the_old_one_alone():
    settings = SequenceSettings()
    settings.merged({"account_based": True})

    assert settings.account_based is False
    with pytest.raises(FrozenInstanceError):
        settings.account_based = True  # type: ignore[misc]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"follow_up_days": "SOMETIMES"}, "settings.follow_up_days"),
        ({"follow_up_days": None}, "settings.follow_up_days"),
        ({"send_window": "9-17"}, "settings.send_window"),
        ({"send_window": {"start_minute": 480}}, "settings.send_window"),
        ({"send_window": {"start_minute": "480", "end_minute": 1080}}, "settings.send_window"),
        ({"send_window": {"start_minute": True, "end_minute": 1080}}, "settings.send_window"),
        ({"send_window": {"start_minute": 480.5, "end_minute": 1080}}, "settings.send_window"),
        ({"send_window": {"start_minute": 1080, "end_minute": 480}}, "settings.send_window"),
        ({"send_window": {"start_minute": 480, "end_minute": 480}}, "settings.send_window"),
        ({"send_window": {"start_minute": -1, "end_minute": 480}}, "settings.send_window"),
        ({"send_window": {"start_minute": 0, "end_minute": 1441}}, "settings.send_window"),
        ({"threaded_follow_ups": 1}, "settings.threaded_follow_ups"),
        ({"unenroll_on_reply": "true"}, "settings.unenroll_on_reply"),
        ({"account_based": None}, "settings.account_based"),
        ({"speed": "ludicrous"}, "settings.speed"),
    ],
)
def test_invalid_settings_are_refused_by_name(changes, field):
    assert field in refusal(changes)


@pytest.mark.parametrize("changes", ["fast", ["EVERYDAY"], 3, True])
def test_settings_must_be_an_object(changes):
    assert "settings" in refusal(changes)


def test_every_problem_is_reported_together():
    fields = refusal({"follow_up_days": "x", "account_based": "no", "nope": 1})

    assert set(fields) == {"settings.follow_up_days", "settings.account_based", "settings.nope"}


def test_errors_are_named_under_the_given_prefix():
    assert "settings.follow_up_days" not in refusal({"follow_up_days": "x"}, field_prefix="overrides")
    assert "overrides.follow_up_days" in refusal({"follow_up_days": "x"}, field_prefix="overrides")


def test_the_whole_day_is_a_valid_window():
    assert SequenceSettings().merged({"send_window": {"start_minute": 0, "end_minute": 1440}}).send_window == (0, 1440)


def test_the_api_shape_round_trips_through_a_snapshot():
    settings = SequenceSettings(follow_up_days="WEEKDAYS_ONLY", send_window=(540, 1020), account_based=True)

    assert SequenceSettings.from_snapshot(settings.to_dict()) == settings
    assert settings.to_dict()["send_window"] == {"start_minute": 540, "end_minute": 1020}


@pytest.mark.django_db
def test_settings_round_trip_through_the_sequence_columns():
    settings = SequenceSettings(
        follow_up_days="EVERYDAY", send_window=(0, 1440), threaded_follow_ups=False, task_reminders=False
    )
    sequence = SequenceFactory()

    settings.apply_to(sequence)
    sequence.save()
    sequence.refresh_from_db()

    assert SequenceSettings.from_sequence(sequence) == settings
    assert (sequence.send_window_start_minute, sequence.send_window_end_minute) == (0, 1440)


@pytest.mark.django_db
def test_removing_the_window_clears_both_columns():
    sequence = SequenceFactory(send_window_start_minute=60, send_window_end_minute=120)

    SequenceSettings.from_sequence(sequence).merged({"send_window": None}).apply_to(sequence)
    sequence.save()

    assert (sequence.send_window_start_minute, sequence.send_window_end_minute) == (None, None)


def test_the_api_schema_lists_every_setting():
    declared = set(SequenceSettingsSerializer().fields)

    assert {"follow_up_days", "send_window", *BOOLEAN_SETTINGS} == declared
