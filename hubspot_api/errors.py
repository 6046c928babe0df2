"""HubSpot's error shape for the HubSpot-compatible paths.

`{"status": "error", "message", "correlationId", "category", "subCategory"?,
"errors"?: [{"message", "code"?, "in"?}], "context"?}` — the `Error` schema of
HubSpot's spec. Every error is logged with its correlationId, so a support
request quoting it finds the log line.
"""
from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from django.core.exceptions import SuspiciousOperation
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response

logger = logging.getLogger(__name__)

VALIDATION_ERROR = "VALIDATION_ERROR"
INVALID_AUTHENTICATION = "INVALID_AUTHENTICATION"
MISSING_SCOPES = "MISSING_SCOPES"
OBJECT_NOT_FOUND = "OBJECT_NOT_FOUND"
RATE_LIMITS = "RATE_LIMITS"


class HubSpotError(Exception):
    def __init__(
        self,
        status: int,
        category: str,
        message: str,
        *,
        sub_category: str = "",
        errors: list[dict[str, str]] | None = None,
        context: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        self.message = message
        self.sub_category = sub_category
        self.errors = errors or []
        self.context = context or {}


def invalid(message: str, *, field: str = "", code: str = "INVALID") -> HubSpotError:
    """A 400 about one input, named in `errors[].in`."""
    detail = {"message": message, "code": code}
    if field:
        detail["in"] = field
    return HubSpotError(400, VALIDATION_ERROR, message, errors=[detail])


def not_found(message: str) -> HubSpotError:
    return HubSpotError(404, OBJECT_NOT_FOUND, message)


def as_hubspot_error(exc: Exception) -> HubSpotError | None:
    """What DRF or Django raised on the way, in HubSpot's terms; None for a bug (answered as a logged 500)."""
    if isinstance(exc, HubSpotError):
        return exc
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        return HubSpotError(401, INVALID_AUTHENTICATION, _auth_message(exc))
    if isinstance(exc, Http404 | exceptions.NotFound):
        return not_found("The resource was not found.")
    if isinstance(exc, exceptions.MethodNotAllowed):
        return HubSpotError(405, VALIDATION_ERROR, str(exc.detail))
    if isinstance(exc, exceptions.APIException):
        return HubSpotError(exc.status_code, VALIDATION_ERROR, str(exc.detail))
    if isinstance(exc, SuspiciousOperation):
        # Django's own refusals of a request (a body over DATA_UPLOAD_MAX_MEMORY_SIZE, …).
        return HubSpotError(400, VALIDATION_ERROR, "The request was refused as malformed or too large.")
    return None


def error_response(error: HubSpotError, correlation_id: UUID, *, path: str) -> Response:
    body: dict[str, Any] = {
        "status": "error",
        "message": error.message,
        "correlationId": str(correlation_id),
        "category": error.category,
    }
    if error.sub_category:
        body["subCategory"] = error.sub_category
    if error.errors:
        body["errors"] = error.errors
    if error.context:
        body["context"] = error.context
    logger.info(
        "hubspot api %s %s on %s: %s (correlationId %s)",
        error.status, error.category, path, error.sub_category or error.message, correlation_id,
    )
    return Response(body, status=error.status)


def _auth_message(exc: exceptions.APIException) -> str:
    if isinstance(exc, exceptions.NotAuthenticated):
        return (
            "Authentication credentials not found. This API takes a private app token: "
            "Authorization: Bearer <token>."
        )
    return str(exc.detail)
