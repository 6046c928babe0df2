from __future__ import annotations

from django.apps import AppConfig


class AccountsAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts_app"
    verbose_name = "Accounts, seats and teams"

    def ready(self) -> None:
        from accounts_app import checks  # noqa: F401  (registers the deployment checks)
