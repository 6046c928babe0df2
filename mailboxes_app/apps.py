from __future__ import annotations

from django.apps import AppConfig


class MailboxesAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "mailboxes_app"
    verbose_name = "Mailboxes"
