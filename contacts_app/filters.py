"""The filter language of active lists (and, later, workflow triggers).

A filter is `{"field", "operator", "value"}`; a list of them is AND-ed.
Fields are contact columns (`lifecycle_stage`, `email`, ...), the company's
(`company.name`, `company.domain`) or free-form properties (`properties.x`).
Text compares case-insensitively. `neq` matches contacts whose value differs
or is not set at all, as a rep reading "is not X" would expect.
"""
from __future__ import annotations

import re
from typing import Any

from django.db.models import Q

TEXT_FIELDS = {
    "email": "email",
    "first_name": "first_name",
    "last_name": "last_name",
    "job_title": "job_title",
    "phone": "phone",
    "lifecycle_stage": "lifecycle_stage",
    "time_zone": "time_zone",
    "bounce_reason": "bounce_reason",
    "company.name": "company__name",
    "company.domain": "company__domain",
}
BOOLEAN_FIELDS = {
    "email_bounced": "email_bounced",
    "unsubscribed": "unsubscribed",
    "unsubscribed_sales": "unsubscribed_sales",
    "marked_spam": "marked_spam",
}
ID_FIELDS = {"owner": "owner_id", "company": "company_id"}
OPERATORS = ("eq", "neq", "contains", "in", "is_set", "is_not_set")
_PROPERTY_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")


class FilterError(ValueError):
    """A filter that can't be evaluated; the message says which and why."""


def filters_validate(filters: Any) -> list[dict[str, Any]]:
    """Return the filters normalised, or raise FilterError naming the first bad one."""
    if not isinstance(filters, list):
        raise FilterError("Filters must be a list of {field, operator, value} objects.")
    cleaned = []
    for index, item in enumerate(filters):
        if not isinstance(item, dict):
            raise FilterError(f"Filter {index + 1} must be an object with field, operator and value.")
        field, operator, value = item.get("field"), item.get("operator"), item.get("value")
        if not isinstance(field, str) or not _field_is_known(field):
            raise FilterError(f"Filter {index + 1}: unknown field {field!r}.")
        if operator not in OPERATORS:
            raise FilterError(f"Filter {index + 1}: operator must be one of {', '.join(OPERATORS)}.")
        if operator == "in":
            if not isinstance(value, list) or not value or len(value) > 500:
                raise FilterError(f"Filter {index + 1}: 'in' needs a list of 1 to 500 values.")
            if not all(isinstance(v, str | int | float | bool) for v in value):
                raise FilterError(f"Filter {index + 1}: 'in' values must be plain values.")
        elif operator in ("eq", "neq", "contains"):
            if not isinstance(value, str | int | float | bool) or value is None:
                raise FilterError(f"Filter {index + 1}: '{operator}' needs a value.")
            if operator == "contains" and not isinstance(value, str):
                raise FilterError(f"Filter {index + 1}: 'contains' needs a text value.")
        else:
            value = None
        cleaned.append({"field": field, "operator": operator, "value": value})
    return cleaned


def filters_to_q(filters: list[dict[str, Any]]) -> Q:
    """Translate validated filters into one Q over Contact."""
    query = Q()
    for item in filters:
        query &= _condition(item["field"], item["operator"], item["value"])
    return query


def _field_is_known(field: str) -> bool:
    if field.startswith("properties."):
        return bool(_PROPERTY_NAME.match(field.removeprefix("properties.")))
    return field in TEXT_FIELDS or field in BOOLEAN_FIELDS or field in ID_FIELDS


def _condition(field: str, operator: str, value: Any) -> Q:
    if field.startswith("properties."):
        return _property_condition(field.removeprefix("properties."), operator, value)
    if field in BOOLEAN_FIELDS:
        return _boolean_condition(BOOLEAN_FIELDS[field], operator, value)
    if field in ID_FIELDS:
        return _id_condition(ID_FIELDS[field], operator, value)
    return _text_condition(TEXT_FIELDS[field], operator, value)


def _text_condition(lookup: str, operator: str, value: Any) -> Q:
    is_set = ~Q(**{lookup: ""}) & Q(**{f"{lookup}__isnull": False})
    if operator == "eq":
        return Q(**{f"{lookup}__iexact": str(value)})
    if operator == "neq":
        return ~Q(**{f"{lookup}__iexact": str(value)}) | ~is_set
    if operator == "contains":
        return Q(**{f"{lookup}__icontains": value})
    if operator == "in":
        return _any(Q(**{f"{lookup}__iexact": str(v)}) for v in value)
    if operator == "is_set":
        return is_set
    return ~is_set


def _boolean_condition(lookup: str, operator: str, value: Any) -> Q:
    # is_set/is_not_set carry no value: read one only for the operators that compare.
    if operator == "eq":
        return Q(**{lookup: _as_bool(value)})
    if operator == "neq":
        return ~Q(**{lookup: _as_bool(value)})
    if operator == "in":
        return Q(**{f"{lookup}__in": [_as_bool(v) for v in value]})
    if operator == "is_set":
        return Q()
    if operator == "is_not_set":
        return Q(pk__in=[])
    raise FilterError("'contains' does not apply to a yes/no field.")


def _id_condition(lookup: str, operator: str, value: Any) -> Q:
    if operator == "eq":
        return Q(**{lookup: _as_id(value)})
    if operator == "neq":
        return ~Q(**{lookup: _as_id(value)}) | Q(**{f"{lookup}__isnull": True})
    if operator == "in":
        return Q(**{f"{lookup}__in": [_as_id(v) for v in value]})
    if operator == "is_set":
        return Q(**{f"{lookup}__isnull": False})
    if operator == "is_not_set":
        return Q(**{f"{lookup}__isnull": True})
    raise FilterError("'contains' does not apply to a record reference.")


def _property_condition(name: str, operator: str, value: Any) -> Q:
    key = f"properties__{name}"
    is_set = Q(properties__has_key=name) & ~Q(**{f"{key}__isnull": True}) & ~Q(**{key: ""})
    if operator == "eq":
        return _property_equals(key, value)
    if operator == "neq":
        return ~_property_equals(key, value) | ~is_set
    if operator == "contains":
        return Q(**{f"{key}__icontains": value})
    if operator == "in":
        return _any(_property_equals(key, v) for v in value)
    if operator == "is_set":
        return is_set
    return ~is_set


def _property_equals(key: str, value: Any) -> Q:
    # Properties are free-form JSON: "42" typed in a filter must match 42 stored
    # by an import, and text matches regardless of case.
    if isinstance(value, bool):
        return Q(**{key: value})
    if isinstance(value, int | float):
        return Q(**{key: value}) | Q(**{f"{key}__iexact": str(value)})
    text = str(value)
    query = Q(**{f"{key}__iexact": text})
    number = _as_number(text)
    if number is not None:
        query |= Q(**{key: number})
    return query


def _any(conditions: Any) -> Q:
    query = Q(pk__in=[])
    for condition in conditions:
        query |= condition
    return query


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).strip().lower() in ("true", "1", "yes"):
        return True
    if str(value).strip().lower() in ("false", "0", "no"):
        return False
    raise FilterError(f"{value!r} is not a yes/no value.")


def _as_id(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise FilterError(f"{value!r} is not a record id.") from exc


def _as_number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return None
