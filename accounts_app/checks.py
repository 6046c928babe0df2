"""Deployment checks (`manage.py check --deploy`): refuse to look production-ready with development secrets."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register

DEVELOPMENT_KEY_PREFIX = "insecure-local-development-key"


@register(Tags.security, deploy=True)
def secret_key_is_set(app_configs: Any, **kwargs: Any) -> list[Error]:
    if settings.SECRET_KEY.startswith(DEVELOPMENT_KEY_PREFIX):
        return [
            Error(
                "SECRET_KEY is the development default.",
                hint="Set SECRET_KEY, FIELD_ENCRYPTION_KEYS and LINK_SIGNING_KEYS; see .env.example.",
                id="nudge.E001",
            )
        ]
    return []
