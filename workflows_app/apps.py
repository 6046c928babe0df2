from __future__ import annotations

from django.apps import AppConfig


class WorkflowsAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "workflows_app"
    verbose_name = "Workflows"
