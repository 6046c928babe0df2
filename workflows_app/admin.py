"""Read-mostly admin views: workflows are edited through the pages and the API (their rules live there)."""
from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from workflows_app.models import Workflow, WorkflowEvent, WorkflowHistory, WorkflowRun


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    list_display = ("name", "enabled", "trigger_type", "reenroll", "sequence", "created_by", "created_at")
    list_filter = ("enabled", "trigger_type", "reenroll")
    search_fields = ("name",)
    readonly_fields = ("trigger_type", "trigger_filters", "trigger_list", "trigger_sequence", "actions",
                       "created_by", "created_at", "updated_at")
    raw_id_fields = ("sequence",)


@admin.register(WorkflowRun)
class WorkflowRunAdmin(admin.ModelAdmin):
    list_display = ("workflow", "contact", "status", "action_index", "next_action_at", "started_at", "finished_at")
    list_filter = ("status",)
    raw_id_fields = ("workflow", "contact")
    readonly_fields = ("started_at", "finished_at")


@admin.register(WorkflowHistory)
class WorkflowHistoryAdmin(admin.ModelAdmin):
    list_display = ("at", "workflow", "contact", "action", "outcome", "code", "message")
    list_filter = ("outcome", "action", "code")
    raw_id_fields = ("workflow", "run", "contact")

    def has_change_permission(self, request: HttpRequest, obj: WorkflowHistory | None = None) -> bool:
        return False


@admin.register(WorkflowEvent)
class WorkflowEventAdmin(admin.ModelAdmin):
    list_display = ("pk", "kind", "created_at", "next_attempt_at")
    list_filter = ("kind",)
