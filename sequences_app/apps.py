from __future__ import annotations

from django.apps import AppConfig


class SequencesAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "sequences_app"
    verbose_name = "Sequences"

    def ready(self) -> None:
        from sequences_app import signals  # noqa: F401  (connects post_migrate)
