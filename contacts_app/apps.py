from __future__ import annotations

from django.apps import AppConfig


class ContactsAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "contacts_app"
    verbose_name = "CRM"
