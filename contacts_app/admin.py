from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet

from contacts_app.models import (
    BlockedEntry,
    Company,
    Contact,
    ContactList,
    CustomObject,
    Deal,
    ListMembership,
    ObjectSchema,
    Repermission,
    Ticket,
)
from contacts_app.services import contact_delete


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("email", "first_name", "last_name", "company", "owner", "lifecycle_stage", "created_at")
    list_filter = ("lifecycle_stage", "email_bounced", "unsubscribed", "unsubscribed_sales", "marked_spam")
    search_fields = ("email", "first_name", "last_name", "company__name")
    list_select_related = ("company", "owner")
    raw_id_fields = ("company", "owner")
    # Email standing is cleared only by the audited re-permission on the contact's page.
    readonly_fields = ("email_bounced", "bounce_reason", "unsubscribed", "unsubscribed_sales", "marked_spam",
                       "created_at", "updated_at")
    show_full_result_count = False

    # Deleting here goes through the service: live enrollments end CONTACT_DELETED first.
    def delete_model(self, request: Any, obj: Contact) -> None:
        contact_delete(contact=obj)

    def delete_queryset(self, request: Any, queryset: QuerySet[Contact]) -> None:
        for contact in queryset:
            contact_delete(contact=contact)


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ("name", "domain", "owner", "created_at")
    search_fields = ("name", "domain")
    raw_id_fields = ("owner",)


@admin.register(Deal)
class DealAdmin(admin.ModelAdmin):
    list_display = ("name", "amount", "stage", "company", "created_at")
    list_filter = ("stage",)
    search_fields = ("name",)
    raw_id_fields = ("company", "owner", "contacts")


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ("subject", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("subject",)
    raw_id_fields = ("owner", "contacts")


@admin.register(ObjectSchema)
class ObjectSchemaAdmin(admin.ModelAdmin):
    list_display = ("label", "name", "created_at")
    search_fields = ("name", "label")


@admin.register(CustomObject)
class CustomObjectAdmin(admin.ModelAdmin):
    list_display = ("__str__", "schema", "created_at")
    list_filter = ("schema",)
    raw_id_fields = ("contacts",)


class ListMembershipInline(admin.TabularInline):
    model = ListMembership
    extra = 0
    raw_id_fields = ("contact",)


@admin.register(ContactList)
class ContactListAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "created_by", "created_at")
    list_filter = ("kind",)
    search_fields = ("name",)
    inlines = [ListMembershipInline]
    raw_id_fields = ("created_by",)


@admin.register(BlockedEntry)
class BlockedEntryAdmin(admin.ModelAdmin):
    list_display = ("value", "created_by", "created_at")
    search_fields = ("value",)
    raw_id_fields = ("created_by",)


@admin.register(Repermission)
class RepermissionAdmin(admin.ModelAdmin):
    """The audit trail of re-permissions: read-only (they are made on the contact's page or the API)."""

    list_display = ("contact_email", "cleared", "by_name", "at", "reason")
    search_fields = ("contact_email", "by_name", "reason")

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
