"""Which contacts match which filters now: one query for many contacts and many filters.

Triggers need "does this contact match workflow W's filters (or list L's)?"
before and after a change. Both answers come from the database with the
very `filters_to_q` that active lists use, so a workflow and a list with the
same filters always agree: every filter set becomes a boolean column
(`CASE WHEN <filter> THEN true ELSE false END`) of one SELECT over the
contacts in question.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import BooleanField, Case, Expression, Value, When

from contacts_app.filters import FilterError, filters_to_q
from contacts_app.models import Contact


def filters_expression(filters: list[dict[str, Any]]) -> Expression:
    """A boolean column that is true where a contact matches `filters` (validated filters)."""
    try:
        query = filters_to_q(filters)
    except FilterError:
        # Stored filters are validated when saved; one that no longer builds matches nobody.
        return Value(False, output_field=BooleanField())
    if not query:
        # An always-true filter (a yes/no field "is set") is an empty Q, which When() refuses.
        return Value(True, output_field=BooleanField())
    return Case(When(query, then=Value(True)), default=Value(False), output_field=BooleanField())


def contacts_matching(
    contact_ids: Iterable[int], predicates: Mapping[str, list[dict[str, Any]]]
) -> dict[int, set[str]]:
    """For every existing contact of `contact_ids`: the keys of `predicates` it matches now.

    Keys are short identifiers (`w12` for a workflow, `l3` for an active
    list). Contacts that don't exist (deleted meanwhile) are absent.
    """
    ids = sorted(set(contact_ids))
    if not ids:
        return {}
    if not predicates:
        return {pk: set() for pk in Contact.objects.filter(pk__in=ids).values_list("pk", flat=True)}
    keys = list(predicates)
    columns = {f"match_{key}": filters_expression(predicates[key]) for key in keys}
    rows = Contact.objects.filter(pk__in=ids).annotate(**columns).values_list("pk", *columns)
    return {row[0]: {key for key, matched in zip(keys, row[1:], strict=True) if matched} for row in rows}
