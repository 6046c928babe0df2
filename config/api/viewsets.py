"""A ModelViewSet whose writes go through services, so views stay thin."""
from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from rest_framework import serializers, viewsets


class ServiceModelViewSet(viewsets.ModelViewSet):
    """CRUD over `visible_queryset()`; subclasses name the service for each write.

    1. `visible_queryset()` is every row the caller may see, with the
       select/prefetch its serializer needs — reads and 404s come from it.
    2. `filter_serializer_class` validates the list's query parameters
       (a bad `?company=abc` is a 400, not an empty list or a 500) and
       `filter_list()` applies them.
    3. `service_create/update/delete` call the app's services; the answer
       is re-read through `visible_queryset()` so it shows what was stored.
    """

    lookup_value_regex = r"\d+"
    filter_serializer_class: type[serializers.Serializer] | None = None

    def visible_queryset(self) -> QuerySet[Any]:
        raise NotImplementedError

    def filter_list(self, queryset: QuerySet[Any], params: dict[str, Any]) -> QuerySet[Any]:
        return queryset

    def service_create(self, data: dict[str, Any]) -> Model:
        raise NotImplementedError

    def service_update(self, instance: Any, data: dict[str, Any]) -> Model:
        raise NotImplementedError

    def service_delete(self, instance: Any) -> None:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet[Any]:
        queryset = self.visible_queryset()
        if self.action == "list":
            queryset = self.filter_list(queryset, self.list_params())
        return queryset

    def list_params(self) -> dict[str, Any]:
        if self.filter_serializer_class is None:
            return {}
        params = self.filter_serializer_class(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return dict(params.validated_data)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        created = self.service_create(dict(serializer.validated_data))
        serializer.instance = self.visible_queryset().get(pk=created.pk)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        updated = self.service_update(serializer.instance, dict(serializer.validated_data))
        serializer.instance = self.visible_queryset().get(pk=updated.pk)

    def perform_destroy(self, instance: Any) -> None:
        self.service_delete(instance)
