"""Strict readers for JSON input, collecting every problem under its field name.

Services take request bodies as plain Python values (whatever JSON decoded
to), so nothing about their type can be assumed: a "string" may be a list, an
"integer" may be `true` (a bool is an int in Python). Each reader here checks
the type first and records a message under the field's dotted name instead
of raising, so one answer lists every problem (`{"steps.2.subject": [...]}`)
and nothing is written unless the whole input is valid.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from config.errors import ValidationFailed

# The largest value a primary key (bigint) can hold; anything beyond can't name a row.
MAX_ID = 2**63 - 1


class FieldErrors:
    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.fields.setdefault(field, []).append(message)

    def merge(self, fields: dict[str, list[str]]) -> None:
        for field, messages in fields.items():
            for message in messages:
                self.add(field, message)

    def __bool__(self) -> bool:
        return bool(self.fields)

    def raise_if_any(self, message: str) -> None:
        if self.fields:
            raise ValidationFailed(message, fields=self.fields)

    def text(
        self,
        value: Any,
        *,
        field: str,
        max_length: int,
        required: bool = False,
        single_line: bool = False,
        strip: bool = False,
    ) -> str:
        """A string (`None` reads as empty); '' after recording a problem."""
        if value is None:
            value = ""
        if not isinstance(value, str):
            self.add(field, "Must be a string.")
            return ""
        if "\x00" in value:
            # PostgreSQL text can't hold NUL; refuse it here rather than fail at the database.
            self.add(field, "Must not contain NUL characters.")
            return ""
        if strip:
            value = value.strip()
        if required and not value.strip():
            self.add(field, "This field is required.")
            return ""
        if len(value) > max_length:
            self.add(field, f"Must be at most {max_length} characters.")
            return ""
        if single_line and ("\n" in value or "\r" in value):
            # Subjects become email headers: a line break would inject headers.
            self.add(field, "Must be a single line.")
            return ""
        return value

    def integer(self, value: Any, *, field: str, minimum: int, maximum: int) -> int | None:
        if not is_int(value):
            self.add(field, "Must be a whole number.")
            return None
        if not minimum <= value <= maximum:
            self.add(field, f"Must be between {minimum} and {maximum}.")
            return None
        return value

    def boolean(self, value: Any, *, field: str, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.add(field, "Must be true or false.")
            return default
        return value

    def choice(self, value: Any, *, field: str, choices: Iterable[str], default: str | None = None) -> str | None:
        allowed = list(choices)
        if value is None and default is not None:
            return default
        if not isinstance(value, str) or value not in allowed:
            self.add(field, f"Must be one of {', '.join(allowed)}.")
            return None
        return value

    def ids(self, value: Any, *, field: str, max_items: int = 1000) -> list[int]:
        """A list of distinct row ids (`None` reads as empty), in the order given."""
        if value is None:
            return []
        if not isinstance(value, list):
            self.add(field, "Must be a list of ids.")
            return []
        if len(value) > max_items:
            self.add(field, f"At most {max_items} ids.")
            return []
        if not all(is_int(item) and 1 <= item <= MAX_ID for item in value):
            self.add(field, "Must be a list of ids.")
            return []
        return list(dict.fromkeys(value))


def is_int(value: Any) -> bool:
    """An integer that is not a bool (JSON `true` decodes to a Python int subclass)."""
    return isinstance(value, int) and not isinstance(value, bool)


def require_object(data: Any, *, what: str = "The request body") -> dict[str, Any]:
    """The decoded body as a dict; a list, string or number is refused as a whole."""
    if hasattr(data, "dict") and callable(data.dict):
        # A form-encoded or multipart QueryDict: one value per key.
        data = data.dict()
    if not isinstance(data, dict):
        raise ValidationFailed(f"{what} must be a JSON object.", fields={"non_field_errors": ["Must be an object."]})
    return data
