"""Whole numbers from a query string or a form, bounded so no value reaches the database or arithmetic
it cannot hold (`?owner=99999999999999999999999` is "no filter", not an OverflowError).

`str.isdigit()` alone is not enough: it accepts "²" and "٣", which `int()`
refuses or reads as a number nobody typed; only ASCII digits count here.
"""
from __future__ import annotations

from collections.abc import Iterable

# Largest primary key (BigAutoField, a signed 64-bit integer) and the largest count any form takes.
MAX_ID = 2**63 - 1
MAX_COUNT = 1_000_000_000


def whole_number(value: str | None, *, high: int = MAX_COUNT) -> int | None:
    """The value as an int when it is ASCII digits from 0 to `high`, else None."""
    value = (value or "").strip()
    if not value or not value.isascii() or not value.isdigit() or len(value) > len(str(high)):
        return None
    number = int(value)
    return number if number <= high else None


def id_or_none(value: str | None) -> int | None:
    """A primary key from a query string or form, or None for anything that cannot be one."""
    number = whole_number(value, high=MAX_ID)
    return number if number else None


def ids(values: Iterable[str]) -> list[int]:
    """The values that can be primary keys, in order; the others are dropped."""
    return [number for number in map(id_or_none, values) if number is not None]
