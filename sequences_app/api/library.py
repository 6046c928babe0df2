"""`/templates/`, `/snippets/`, `/documents/`: a rep's own library (admins see everyone's).

Thin views: the list and 404s come from the `*_visible_to` selectors, writes
hand the decoded body to sequences_app.services.library.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from sequences_app.models import Document, EmailTemplate, Snippet
from sequences_app.selectors import documents_visible_to, email_templates_visible_to, snippets_visible_to
from sequences_app.serializers.library import (
    DocumentSerializer,
    EmailTemplateSerializer,
    LibraryFilterSerializer,
    SnippetSerializer,
)
from sequences_app.services import library as services
from sequences_app.services.inputs import require_object


@extend_schema_view(list=extend_schema(parameters=[LibraryFilterSerializer]))
class _LibraryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """List and read through `visible()`, filtered by `?search=` on the name; subclasses add writes."""

    lookup_value_regex = r"[0-9]+"

    def visible(self) -> QuerySet[Any]:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet[Any]:
        queryset = self.visible()
        if self.action == "list":
            params = LibraryFilterSerializer(data=self.request.query_params)
            params.is_valid(raise_exception=True)
            if term := params.validated_data.get("search", "").strip():
                queryset = queryset.filter(name__icontains=term)
        return queryset

    def answer(self, instance: Model, *, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(instance).data, status=status_code)


class EmailTemplateViewSet(_LibraryViewSet):
    serializer_class = EmailTemplateSerializer

    def visible(self) -> QuerySet[EmailTemplate]:
        return email_templates_visible_to(self.request.user)

    def create(self, request: Request) -> Response:
        data = require_object(request.data)
        template = services.email_template_create(
            owner=request.user, name=data.get("name"), subject=data.get("subject"), body_html=data.get("body_html")
        )
        return self.answer(template, status_code=status.HTTP_201_CREATED)

    def update(self, request: Request, pk: str, partial: bool = False) -> Response:
        data = require_object(request.data)
        changes = {field: data[field] for field in services.TEMPLATE_FIELDS if field in data}
        template = services.email_template_update(
            template=self.get_object(), user=request.user, full=not partial, **changes
        )
        return self.answer(template)

    def partial_update(self, request: Request, pk: str) -> Response:
        return self.update(request, pk, partial=True)

    def destroy(self, request: Request, pk: str) -> Response:
        services.email_template_delete(template=self.get_object(), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SnippetViewSet(_LibraryViewSet):
    serializer_class = SnippetSerializer

    def visible(self) -> QuerySet[Snippet]:
        return snippets_visible_to(self.request.user)

    def create(self, request: Request) -> Response:
        data = require_object(request.data)
        snippet = services.snippet_create(
            owner=request.user, name=data.get("name"), shortcut=data.get("shortcut"), body_html=data.get("body_html")
        )
        return self.answer(snippet, status_code=status.HTTP_201_CREATED)

    def update(self, request: Request, pk: str, partial: bool = False) -> Response:
        data = require_object(request.data)
        changes = {field: data[field] for field in services.SNIPPET_FIELDS if field in data}
        snippet = services.snippet_update(snippet=self.get_object(), user=request.user, full=not partial, **changes)
        return self.answer(snippet)

    def partial_update(self, request: Request, pk: str) -> Response:
        return self.update(request, pk, partial=True)

    def destroy(self, request: Request, pk: str) -> Response:
        services.snippet_delete(snippet=self.get_object(), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DocumentViewSet(_LibraryViewSet):
    """Upload with multipart (`file`, optional `name`); rename with PATCH; the file itself never changes."""

    serializer_class = DocumentSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def visible(self) -> QuerySet[Document]:
        return documents_visible_to(self.request.user)

    def create(self, request: Request) -> Response:
        data = require_object(request.data)
        document = services.document_create(owner=request.user, file=data.get("file"), name=data.get("name"))
        return self.answer(document, status_code=status.HTTP_201_CREATED)

    def update(self, request: Request, pk: str, partial: bool = False) -> Response:
        document = self.get_object()
        data = require_object(request.data)
        name = data.get("name", document.name if partial else None)
        return self.answer(services.document_update(document=document, user=request.user, name=name))

    def partial_update(self, request: Request, pk: str) -> Response:
        return self.update(request, pk, partial=True)

    def destroy(self, request: Request, pk: str) -> Response:
        services.document_delete(document=self.get_object(), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
