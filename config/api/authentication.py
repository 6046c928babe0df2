"""Private app tokens on the API: `Authorization: Bearer <token>` acts as the token's user.

Kept apart from config.api.auth (the token-obtain view): DRF imports the
classes named in DEFAULT_AUTHENTICATION_CLASSES while its own views module
loads, so this module must not import DRF's views.
"""
from __future__ import annotations

from typing import Any

from rest_framework import exceptions, status
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request


class MissingScopes(exceptions.APIException):
    """The token is good but lacks a scope: 403 with code MISSING_SCOPES."""

    status_code = status.HTTP_403_FORBIDDEN
    default_code = "missing_scopes"

    def __init__(self, required: list[str]) -> None:
        self.required_scopes = required
        super().__init__(f"This token lacks the scope {' or '.join(required)}.")


class BearerTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <private app token>`: the request acts as the token's user.

    `request.auth` is the PrivateApp, so a view can read its scopes. No other
    scheme is touched: without a Bearer header this returns None and the next
    authenticator gets its turn.
    """

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        from accounts_app.private_apps import private_app_authenticate

        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("The Authorization header must be 'Bearer <token>'.")
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("The token is not valid.") from exc
        app = private_app_authenticate(token)
        if app is None:
            raise exceptions.AuthenticationFailed("The token is not valid, or it was revoked.")
        return app.user, app

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class PrivateAppAuthentication(BearerTokenAuthentication):
    """Bearer tokens on `/api/v1/`: reads need nudge.api.read (or .write), anything else nudge.api.write."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        from accounts_app.private_apps import NUDGE_API_READ, NUDGE_API_WRITE

        found = super().authenticate(request)
        if found is None:
            return None
        scopes = set(found[1].scopes)
        if request.method in ("GET", "HEAD", "OPTIONS"):
            if not scopes & {NUDGE_API_READ, NUDGE_API_WRITE}:
                raise MissingScopes([NUDGE_API_READ, NUDGE_API_WRITE])
        elif NUDGE_API_WRITE not in scopes:
            raise MissingScopes([NUDGE_API_WRITE])
        return found
