"""Serializer fields shared by the apps' APIs."""
from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from rest_framework import serializers

# Largest id a BIGINT primary key can hold; anything bigger is simply unknown.
MAX_ID = 2**63 - 1


class IdListField(serializers.ListField):
    """A list of record ids (`"contacts": [11, 12]`), resolved with ONE query.

    DRF's `PrimaryKeyRelatedField(many=True)` runs a query per id, which a
    large payload turns into thousands; this one checks types and length
    first, then fetches every id at once and names the unknown ones.
    Duplicates are dropped, the order of first appearance is kept.
    """

    def __init__(self, *, queryset: QuerySet[Any], max_length: int = 1000, **kwargs: Any) -> None:
        self.queryset = queryset
        kwargs.setdefault("allow_empty", True)
        super().__init__(
            child=serializers.IntegerField(min_value=1, max_value=MAX_ID), max_length=max_length, **kwargs
        )

    def to_internal_value(self, data: Any) -> list[Model]:
        ids = list(dict.fromkeys(super().to_internal_value(data)))
        found = {obj.pk: obj for obj in self.queryset.filter(pk__in=ids)} if ids else {}
        missing = [str(pk) for pk in ids if pk not in found]
        if missing:
            shown = ", ".join(missing[:20]) + (" …" if len(missing) > 20 else "")
            raise serializers.ValidationError(f"No such {self._noun()}: {shown}.")
        return [found[pk] for pk in ids]

    def to_representation(self, value: Any) -> list[int]:
        # A related manager (use its prefetch cache) or a plain list of rows or ids.
        items = value.all() if hasattr(value, "all") else value
        return [item if isinstance(item, int) else item.pk for item in items]

    def _noun(self) -> str:
        return f"{self.queryset.model._meta.verbose_name} id(s)"


class IdFilterField(serializers.IntegerField):
    """An id in a query string (`?company=12`): a positive integer that fits a BIGINT."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=1, max_value=MAX_ID, **kwargs)
