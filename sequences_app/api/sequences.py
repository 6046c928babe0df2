"""`/sequences/` and `/sequences/{id}/performance/`: thin views over the sequence services and selectors.

Reads and 404s come from `sequences_visible_to` (a sequence the caller may
not see doesn't exist for them); writes hand the decoded JSON body to the
services, which validate it whole and decide who may edit (403).

Only the routes below are registered, so `/sequences/{id}/enrollments/`,
`/pause/` and `/resume/` (sequences_app.api.enrollments) never match here.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from sequences_app.analytics import sequence_performance
from sequences_app.models import Sequence
from sequences_app.selectors import sequences_list, sequences_visible_to, sequences_with_details
from sequences_app.serializers.sequences import (
    SequenceFilterSerializer,
    SequencePerformanceSerializer,
    SequenceSerializer,
)
from sequences_app.services.inputs import require_object
from sequences_app.services.sequences import (
    EDITABLE_FIELDS,
    sequence_create,
    sequence_delete,
    sequence_update,
)


@extend_schema_view(list=extend_schema(parameters=[SequenceFilterSerializer]))
class SequenceViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = SequenceSerializer
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self) -> QuerySet[Sequence]:
        visible = sequences_visible_to(self.request.user)
        if self.action == "list":
            params = SequenceFilterSerializer(data=self.request.query_params)
            params.is_valid(raise_exception=True)
            return sequences_list(
                user=self.request.user,
                search=params.validated_data.get("search", "").strip(),
                owner_id=params.validated_data.get("owner"),
            )
        if self.action in ("performance", "destroy", "update", "partial_update"):
            return visible
        return sequences_with_details(visible)

    def create(self, request: Request) -> Response:
        data = require_object(request.data)
        sequence = sequence_create(
            owner=request.user,
            name=data.get("name"),
            sharing=data.get("sharing"),
            settings=data.get("settings"),
            steps=data.get("steps"),
        )
        return Response(self._answer(sequence), status=status.HTTP_201_CREATED)

    def update(self, request: Request, pk: str) -> Response:
        return self._edit(request, full=True)

    def partial_update(self, request: Request, pk: str) -> Response:
        return self._edit(request, full=False)

    def destroy(self, request: Request, pk: str) -> Response:
        sequence_delete(sequence=self.get_object(), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=SequencePerformanceSerializer)
    @action(detail=True, methods=["get"])
    def performance(self, request: Request, pk: str) -> Response:
        return Response(sequence_performance(sequence=self.get_object()))

    def _edit(self, request: Request, *, full: bool) -> Response:
        sequence = self.get_object()
        data = require_object(request.data)
        changes = {field: data[field] for field in EDITABLE_FIELDS if field in data}
        sequence = sequence_update(sequence=sequence, user=request.user, full=full, **changes)
        return Response(self._answer(sequence))

    def _answer(self, sequence: Sequence) -> dict[str, Any]:
        """Re-read with details, so the answer shows exactly what was stored."""
        fresh = sequences_with_details(Sequence.objects.filter(pk=sequence.pk)).get()
        return self.get_serializer(fresh).data
