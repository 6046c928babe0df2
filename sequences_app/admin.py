from __future__ import annotations

from django.contrib import admin

from sequences_app.models import (
    Document,
    EmailEvent,
    EmailTemplate,
    Enrollment,
    EnrollmentStep,
    Meeting,
    Sequence,
    SequenceStep,
    Snippet,
    Task,
)


class SequenceStepInline(admin.StackedInline):
    model = SequenceStep
    extra = 0
    ordering = ("order",)


@admin.register(Sequence)
class SequenceAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "visibility", "follow_up_days", "created_at", "deleted_at")
    list_filter = ("visibility", "follow_up_days", "account_based", "deleted_at")
    search_fields = ("name", "owner__username")
    raw_id_fields = ("owner",)
    filter_horizontal = ("shared_users", "shared_teams")
    inlines = [SequenceStepInline]
    readonly_fields = ("created_at", "updated_at", "deleted_at")


class EnrollmentStepInline(admin.TabularInline):
    model = EnrollmentStep
    extra = 0
    can_delete = False
    readonly_fields = ("order", "type", "status", "scheduled_for", "done_at", "detail")

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ("id", "contact", "sequence", "sender", "status", "reason", "current_step", "next_action_at")
    list_filter = ("status", "reason", "is_bulk")
    search_fields = ("contact__email", "sequence__name", "sender__username")
    list_select_related = ("contact", "sequence", "sender")
    inlines = [EnrollmentStepInline]
    # Enrollments change only through services (pause, resume, unenroll keep the
    # schedule consistent); the admin shows them, snapshot included, read-only.
    readonly_fields = [field.name for field in Enrollment._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ("title", "owner", "type", "priority", "due_at", "status")
    list_filter = ("status", "type", "priority")
    search_fields = ("title", "owner__username", "contact__email")
    raw_id_fields = ("owner", "contact", "enrollment")


@admin.register(Meeting)
class MeetingAdmin(admin.ModelAdmin):
    list_display = ("contact", "user", "starts_at", "created_at")
    search_fields = ("contact__email",)
    raw_id_fields = ("contact", "user")


@admin.register(EmailEvent)
class EmailEventAdmin(admin.ModelAdmin):
    list_display = ("kind", "sequence", "contact", "step_order", "occurred_at")
    list_filter = ("kind",)
    search_fields = ("contact__email",)
    raw_id_fields = ("sequence", "enrollment", "contact", "message")
    readonly_fields = [field.name for field in EmailEvent._meta.fields]


@admin.register(EmailTemplate)
class EmailTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "updated_at")
    search_fields = ("name", "subject")
    raw_id_fields = ("owner",)


@admin.register(Snippet)
class SnippetAdmin(admin.ModelAdmin):
    list_display = ("name", "shortcut", "owner")
    search_fields = ("name", "shortcut")
    raw_id_fields = ("owner",)


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "created_at")
    search_fields = ("name",)
    raw_id_fields = ("owner",)
    readonly_fields = ("token",)
