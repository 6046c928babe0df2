from __future__ import annotations

from django.apps import AppConfig


class HubspotApiConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "hubspot_api"
    verbose_name = "HubSpot-compatible Sequences API"
