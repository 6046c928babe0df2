"""`/workflows/`, `/workflows/{id}/history/` and `/sequences/{id}/automation/`: thin views over the services.

Writes hand the decoded JSON body to the services, which check the
Enterprise rule first (403 ENTERPRISE_REQUIRED) and then the payload whole.
Everyone signed in may read workflows and their history.
"""
from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from sequences_app.selectors import sequences_visible_to
from workflows_app.models import Workflow
from workflows_app.selectors import workflow_history, workflows_for_sequence, workflows_list
from workflows_app.serializers import (
    HistoryFilterSerializer,
    WorkflowFilterSerializer,
    WorkflowHistorySerializer,
    WorkflowSerializer,
)
from workflows_app.services import workflow_create, workflow_delete, workflow_update


@extend_schema_view(
    list=extend_schema(parameters=[WorkflowFilterSerializer]),
    create=extend_schema(request=WorkflowSerializer, responses={201: WorkflowSerializer}),
    update=extend_schema(request=WorkflowSerializer),
    partial_update=extend_schema(request=WorkflowSerializer),
)
class WorkflowViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = WorkflowSerializer
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self) -> QuerySet[Workflow]:
        if self.action == "list":
            params = WorkflowFilterSerializer(data=self.request.query_params)
            params.is_valid(raise_exception=True)
            return workflows_list(
                enabled=params.validated_data.get("enabled"),
                sequence_id=params.validated_data.get("sequence"),
                trigger_type=params.validated_data.get("trigger_type"),
            )
        return Workflow.objects.all()

    def create(self, request: Request) -> Response:
        workflow = workflow_create(user=request.user, data=request.data)
        return Response(self._answer(workflow), status=status.HTTP_201_CREATED)

    def update(self, request: Request, pk: str) -> Response:
        workflow = workflow_update(workflow=self.get_object(), user=request.user, data=request.data, partial=False)
        return Response(self._answer(workflow))

    def partial_update(self, request: Request, pk: str) -> Response:
        workflow = workflow_update(workflow=self.get_object(), user=request.user, data=request.data, partial=True)
        return Response(self._answer(workflow))

    def destroy(self, request: Request, pk: str) -> Response:
        workflow_delete(workflow=self.get_object(), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(parameters=[HistoryFilterSerializer], responses=WorkflowHistorySerializer(many=True))
    @action(detail=True, methods=["get"])
    def history(self, request: Request, pk: str) -> Response:
        """What happened to each contact in this workflow, newest first: the trigger and every action."""
        params = HistoryFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        rows = workflow_history(
            workflow=self.get_object(),
            outcome=params.validated_data.get("outcome"),
            contact_id=params.validated_data.get("contact"),
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(WorkflowHistorySerializer(page, many=True).data)

    def _answer(self, workflow: Workflow) -> dict[str, Any]:
        return WorkflowSerializer(Workflow.objects.get(pk=workflow.pk)).data


class SequenceAutomationView(generics.ListAPIView):
    """The workflows linked to a sequence (its Automation tab); 404 for a sequence the caller can't see."""

    serializer_class = WorkflowSerializer

    def get_queryset(self) -> QuerySet[Workflow]:
        sequence = get_object_or_404(sequences_visible_to(self.request.user), pk=self.kwargs["pk"])
        return workflows_for_sequence(sequence)
