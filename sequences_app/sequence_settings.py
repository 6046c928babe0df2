"""A sequence's settings as one value: defaults, validation, overrides, snapshot.

Stored as columns on Sequence (editable in admin, queryable) and as a dict in
each enrollment's snapshot; this class is the one place that knows the shape.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from config.errors import ValidationFailed
from sequences_app.models import FollowUpDays, Sequence

BOOLEAN_SETTINGS = (
    "threaded_follow_ups",
    "unenroll_on_reply",
    "unenroll_on_meeting",
    "account_based",
    "task_reminders",
    "track_opens",
    "track_clicks",
)


@dataclass(frozen=True)
class SequenceSettings:
    follow_up_days: str = FollowUpDays.BUSINESS_DAYS.value
    send_window: tuple[int, int] | None = None
    threaded_follow_ups: bool = True
    unenroll_on_reply: bool = True
    unenroll_on_meeting: bool = True
    account_based: bool = False
    task_reminders: bool = True
    track_opens: bool = False
    track_clicks: bool = False

    @classmethod
    def from_sequence(cls, sequence: Sequence) -> SequenceSettings:
        window = None
        if sequence.send_window_start_minute is not None and sequence.send_window_end_minute is not None:
            window = (sequence.send_window_start_minute, sequence.send_window_end_minute)
        return cls(
            follow_up_days=sequence.follow_up_days,
            send_window=window,
            **{name: getattr(sequence, name) for name in BOOLEAN_SETTINGS},
        )

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> SequenceSettings:
        return cls().merged(data)

    def merged(self, changes: Any, *, field_prefix: str = "settings") -> SequenceSettings:
        """These settings with `changes` (API shape, any subset) applied; raises ValidationFailed."""
        if changes is None:
            return self
        if not isinstance(changes, dict):
            raise ValidationFailed("Settings must be an object.", fields={field_prefix: ["Must be an object."]})
        errors: dict[str, list[str]] = {}
        updates: dict[str, Any] = {}
        for key, value in changes.items():
            name = f"{field_prefix}.{key}"
            if key == "follow_up_days":
                if value not in FollowUpDays.values:
                    errors[name] = [f"Must be one of {', '.join(FollowUpDays.values)}."]
                else:
                    updates[key] = value
            elif key == "send_window":
                window, message = _parse_window(value)
                if message:
                    errors[name] = [message]
                else:
                    updates[key] = window
            elif key in BOOLEAN_SETTINGS:
                if not isinstance(value, bool):
                    errors[name] = ["Must be true or false."]
                else:
                    updates[key] = value
            else:
                errors[name] = ["Unknown setting."]
        if errors:
            raise ValidationFailed("Some settings are not valid.", fields=errors)
        return replace(self, **updates)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["send_window"] = (
            {"start_minute": self.send_window[0], "end_minute": self.send_window[1]} if self.send_window else None
        )
        return data

    def apply_to(self, sequence: Sequence) -> None:
        sequence.follow_up_days = self.follow_up_days
        sequence.send_window_start_minute = self.send_window[0] if self.send_window else None
        sequence.send_window_end_minute = self.send_window[1] if self.send_window else None
        for name in BOOLEAN_SETTINGS:
            setattr(sequence, name, getattr(self, name))


def _parse_window(value: Any) -> tuple[tuple[int, int] | None, str]:
    if value is None:
        return None, ""
    if not isinstance(value, dict):
        return None, "Must be null or {start_minute, end_minute}."
    start, end = value.get("start_minute"), value.get("end_minute")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)):
        return None, "start_minute and end_minute must be whole minutes of the day."
    if not 0 <= start < end <= 1440:
        return None, "The window must open before it closes, within 0 to 1440 minutes."
    return (start, end), ""
