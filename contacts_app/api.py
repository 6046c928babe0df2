"""CRM endpoints: contacts (with CSV import), companies, deals, tickets, custom objects, the blocklist, lists.

The CRM is portal-wide: every signed-in user reads and writes contacts,
companies, deals, tickets, records and lists. Object schemas and the
blocklist are read by all and changed by admins.
"""
from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.permissions import IsAdminOrReadOnly
from config.api.viewsets import ServiceModelViewSet
from contacts_app import services
from contacts_app.importing import contacts_import
from contacts_app.models import (
    BlockedEntry,
    Company,
    Contact,
    ContactList,
    CustomObject,
    Deal,
    ObjectSchema,
    Ticket,
)
from contacts_app.selectors import contacts_filtered, list_members, list_sizes
from contacts_app.serializers import (
    BlockedEntrySerializer,
    CompanySerializer,
    ContactFilterSerializer,
    ContactImportResultSerializer,
    ContactImportSerializer,
    ContactListSerializer,
    ContactSerializer,
    CustomObjectSerializer,
    DealSerializer,
    ListMembersResultSerializer,
    ListMembersSerializer,
    ObjectSchemaSerializer,
    RepermissionRequestSerializer,
    RepermissionSerializer,
    TicketSerializer,
)


def _contact_ids(*, via: str | None = None) -> Prefetch:
    # Associations are shown as ids: fetch only the id column (plus the foreign key
    # a reverse relation is matched by, or each row would load it in a query of its own).
    columns = ("id", via) if via else ("id",)
    return Prefetch("contacts", queryset=Contact.objects.only(*columns).order_by("id"))


@extend_schema_view(list=extend_schema(parameters=[ContactFilterSerializer]))
class ContactViewSet(ServiceModelViewSet):
    serializer_class = ContactSerializer
    filter_serializer_class = ContactFilterSerializer

    def visible_queryset(self) -> QuerySet[Contact]:
        return Contact.objects.all()

    def filter_list(self, queryset: QuerySet[Contact], params: dict[str, Any]) -> QuerySet[Contact]:
        # A search or filter may match few: the paginator then sorts the matches (config.api.pagination).
        self.list_is_filtered = any(value not in (None, "") for value in params.values())
        return contacts_filtered(**params)

    def service_create(self, data: dict[str, Any]) -> Contact:
        return services.contact_create(**data)

    def service_update(self, instance: Contact, data: dict[str, Any]) -> Contact:
        return services.contact_update(contact=instance, data=data)

    def service_delete(self, instance: Contact) -> None:
        services.contact_delete(contact=instance)

    @extend_schema(request=RepermissionRequestSerializer, responses={200: RepermissionSerializer})
    @action(detail=True, methods=["post"], url_path="repermission")
    def repermission(self, request: Request, pk: str) -> Response:
        """Admins: "re-permission: the contact asked again" — clear email-standing flags, with the reason."""
        contact = self.get_object()
        payload = RepermissionRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        record = services.contact_repermit(
            contact=contact, user=request.user, reason=payload.validated_data["reason"],
            flags=payload.validated_data.get("flags"),
        )
        return Response(RepermissionSerializer(record).data)

    @extend_schema(request={"multipart/form-data": ContactImportSerializer},
                   responses={200: ContactImportResultSerializer})
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser, FormParser])
    def import_csv(self, request: Request) -> Response:
        """Upsert contacts by email from a CSV file; bad rows are reported, the others imported."""
        serializer = ContactImportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        result = contacts_import(file=upload, size=upload.size)
        return Response(result.as_dict())


class CompanyViewSet(ServiceModelViewSet):
    serializer_class = CompanySerializer

    def visible_queryset(self) -> QuerySet[Company]:
        return Company.objects.prefetch_related(_contact_ids(via="company_id"))

    def service_create(self, data: dict[str, Any]) -> Company:
        return services.company_create(**data)

    def service_update(self, instance: Company, data: dict[str, Any]) -> Company:
        return services.company_update(company=instance, data=data)

    def service_delete(self, instance: Company) -> None:
        services.company_delete(company=instance)


class DealViewSet(ServiceModelViewSet):
    serializer_class = DealSerializer

    def visible_queryset(self) -> QuerySet[Deal]:
        return Deal.objects.prefetch_related(_contact_ids())

    def service_create(self, data: dict[str, Any]) -> Deal:
        return services.deal_create(**data)

    def service_update(self, instance: Deal, data: dict[str, Any]) -> Deal:
        return services.deal_update(deal=instance, data=data)

    def service_delete(self, instance: Deal) -> None:
        services.deal_delete(deal=instance)


class TicketViewSet(ServiceModelViewSet):
    serializer_class = TicketSerializer

    def visible_queryset(self) -> QuerySet[Ticket]:
        return Ticket.objects.prefetch_related(_contact_ids())

    def service_create(self, data: dict[str, Any]) -> Ticket:
        return services.ticket_create(**data)

    def service_update(self, instance: Ticket, data: dict[str, Any]) -> Ticket:
        return services.ticket_update(ticket=instance, data=data)

    def service_delete(self, instance: Ticket) -> None:
        services.ticket_delete(ticket=instance)


class ObjectSchemaViewSet(ServiceModelViewSet):
    serializer_class = ObjectSchemaSerializer
    permission_classes = [IsAdminOrReadOnly]

    def visible_queryset(self) -> QuerySet[ObjectSchema]:
        return ObjectSchema.objects.all()

    def service_create(self, data: dict[str, Any]) -> ObjectSchema:
        return services.object_schema_create(**data)

    def service_update(self, instance: ObjectSchema, data: dict[str, Any]) -> ObjectSchema:
        return services.object_schema_update(schema=instance, data=data)

    def service_delete(self, instance: ObjectSchema) -> None:
        services.object_schema_delete(schema=instance)


@extend_schema_view(
    **{
        name: extend_schema(parameters=[OpenApiParameter("schema_name", str, OpenApiParameter.PATH)])
        for name in ("list", "create", "retrieve", "update", "partial_update", "destroy")
    }
)
class CustomObjectViewSet(ServiceModelViewSet):
    """Records of the custom object type named in the URL; an unknown type is a 404."""

    serializer_class = CustomObjectSerializer

    def object_schema(self) -> ObjectSchema:
        if not hasattr(self, "_object_schema"):
            self._object_schema = get_object_or_404(ObjectSchema, name=self.kwargs["schema_name"])
        return self._object_schema

    def visible_queryset(self) -> QuerySet[CustomObject]:
        return CustomObject.objects.filter(schema=self.object_schema()).select_related("schema").prefetch_related(
            _contact_ids()
        )

    def service_create(self, data: dict[str, Any]) -> CustomObject:
        return services.custom_object_create(schema=self.object_schema(), **data)

    def service_update(self, instance: CustomObject, data: dict[str, Any]) -> CustomObject:
        return services.custom_object_update(record=instance, data=data)

    def service_delete(self, instance: CustomObject) -> None:
        services.custom_object_delete(record=instance)


class BlockedEntryViewSet(ServiceModelViewSet):
    serializer_class = BlockedEntrySerializer
    permission_classes = [IsAdminOrReadOnly]

    def visible_queryset(self) -> QuerySet[BlockedEntry]:
        return BlockedEntry.objects.all()

    def service_create(self, data: dict[str, Any]) -> BlockedEntry:
        return services.blocked_entry_create(value=data["value"], created_by=self.request.user)

    def service_update(self, instance: BlockedEntry, data: dict[str, Any]) -> BlockedEntry:
        return services.blocked_entry_update(entry=instance, data=data)

    def service_delete(self, instance: BlockedEntry) -> None:
        services.blocked_entry_delete(entry=instance)


class ContactListViewSet(ServiceModelViewSet):
    serializer_class = ContactListSerializer

    def visible_queryset(self) -> QuerySet[ContactList]:
        return ContactList.objects.all()

    def get_serializer(self, *args: Any, **kwargs: Any) -> Any:
        # A page of lists gets every `size` in one query (see list_sizes).
        if kwargs.get("many") and args:
            kwargs["context"] = {**self.get_serializer_context(), "sizes": list_sizes(args[0])}
        return super().get_serializer(*args, **kwargs)

    def service_create(self, data: dict[str, Any]) -> ContactList:
        return services.contact_list_create(**data, created_by=self.request.user)

    def service_update(self, instance: ContactList, data: dict[str, Any]) -> ContactList:
        return services.contact_list_update(contact_list=instance, data=data)

    def service_delete(self, instance: ContactList) -> None:
        services.contact_list_delete(contact_list=instance)

    @extend_schema(methods=["GET"], request=None, responses={200: ContactSerializer(many=True)})
    @extend_schema(methods=["POST", "DELETE"], request=ListMembersSerializer,
                   responses={200: ListMembersResultSerializer})
    @action(detail=True, methods=["get", "post", "delete"])
    def members(self, request: Request, pk: str) -> Response:
        """GET: the contacts on the list now (paginated). POST/DELETE: add or remove contacts (static lists)."""
        contact_list = self.get_object()
        if request.method == "GET":
            self.list_is_filtered = True
            page = self.paginate_queryset(list_members(contact_list=contact_list).order_by("-created_at", "-id"))
            return self.get_paginated_response(ContactSerializer(page, many=True).data)
        serializer = ListMembersSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contacts = serializer.validated_data["contacts"]
        if request.method == "POST":
            changed = services.list_members_add(contact_list=contact_list, contacts=contacts)
        else:
            changed = services.list_members_remove(contact_list=contact_list, contacts=contacts)
        size = list_sizes([contact_list])[contact_list.pk]
        return Response({"changed": changed, "size": int(size), "size_capped": size.capped}, status=status.HTTP_200_OK)
