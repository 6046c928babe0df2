from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet

from accounts_app.models import Notification, PortalSettings, PrivateApp, Seat, Team, User
from accounts_app.services import seat_remove, user_deactivate


class SeatInline(admin.StackedInline):
    model = Seat
    extra = 0
    max_num = 1


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    inlines = [SeatInline]
    list_display = ("username", "email", "first_name", "last_name", "is_staff", "seat_tier", "can_bulk_enroll")
    list_filter = ("is_staff", "is_active", "can_bulk_enroll", "seat__hub", "seat__tier", "teams")
    list_select_related = ("seat",)
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        ("Sequences", {"fields": ("can_bulk_enroll",)}),
    )

    def save_model(self, request: Any, obj: User, form: Any, change: bool) -> None:
        """Unticking "active" goes through the service, so the user's sequences stop (SENDER_DEACTIVATED)."""
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            user_deactivate(user=obj)

    def save_formset(self, request: Any, form: Any, formset: Any, change: bool) -> None:
        """A seat deleted inline is taken away by the service, so the rep's sequences stop (SENDER_LOST_SEAT)."""
        if formset.model is not Seat:
            super().save_formset(request, form, formset, change)
            return
        for seat in formset.save(commit=False):
            seat.save()
        formset.save_m2m()
        for seat in formset.deleted_objects:
            seat_remove(user=seat.user)

    @admin.display(description="Seat", ordering="seat__tier")
    def seat_tier(self, user: User) -> str:
        seat = getattr(user, "seat", None)
        return f"{seat.hub} {seat.tier}" if seat else "—"


@admin.register(Seat)
class SeatAdmin(admin.ModelAdmin):
    list_display = ("user", "hub", "tier", "assigned_at")
    list_filter = ("hub", "tier")
    search_fields = ("user__username", "user__email")
    autocomplete_fields = ("user",)

    # Deleting here goes through the service: the rep's live enrollments stop (SENDER_LOST_SEAT).
    def delete_model(self, request: Any, obj: Seat) -> None:
        seat_remove(user=obj.user)

    def delete_queryset(self, request: Any, queryset: QuerySet[Seat]) -> None:
        for seat in queryset.select_related("user"):
            seat_remove(user=seat.user)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)
    filter_horizontal = ("members",)


@admin.register(PortalSettings)
class PortalSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "time_zone", "holiday_country", "professional_send_limit", "enterprise_send_limit")

    def has_add_permission(self, request: object) -> bool:
        return not PortalSettings.objects.exists()

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "message", "created_at", "read_at")
    list_filter = ("kind",)
    search_fields = ("user__username", "message")
    raw_id_fields = ("user",)


@admin.register(PrivateApp)
class PrivateAppAdmin(admin.ModelAdmin):
    """Tokens are made in Settings or the API (the token is shown once there); here they are seen and revoked."""

    list_display = ("name", "user", "token_prefix", "created_at", "last_used_at")
    list_select_related = ("user",)
    search_fields = ("name", "user__username", "user__email", "token_prefix")
    fields = ("name", "user", "scopes", "token_prefix", "created_at", "last_used_at")
    readonly_fields = fields

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False
