"""Every API error, whatever raised it, answers with the one envelope of API.md.

`{"code": "UPPER_CASE", "message": "a human sentence"}`, plus `"fields"` for
validation errors (field path -> messages). DRF's exceptions, Django's
`Http404`/`PermissionDenied`/`ValidationError`, our `ServiceError` and the two
database errors that bad input or a lost race can still cause all map here,
so no view writes an error body of its own.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from config.errors import ServiceError

logger = logging.getLogger(__name__)

NON_FIELD_KEY = api_settings.NON_FIELD_ERRORS_KEY

# DRF exception class -> (status, code). Checked in order, so subclasses first.
_CODES: list[tuple[type[exceptions.APIException], int, str]] = [
    (exceptions.ValidationError, 400, "VALIDATION_ERROR"),
    (exceptions.ParseError, 400, "VALIDATION_ERROR"),
    (exceptions.NotAuthenticated, 401, "NOT_AUTHENTICATED"),
    (exceptions.AuthenticationFailed, 401, "NOT_AUTHENTICATED"),
    (exceptions.PermissionDenied, 403, "PERMISSION_DENIED"),
    (exceptions.NotFound, 404, "NOT_FOUND"),
    (exceptions.MethodNotAllowed, 405, "METHOD_NOT_ALLOWED"),
    (exceptions.NotAcceptable, 406, "NOT_ACCEPTABLE"),
    (exceptions.UnsupportedMediaType, 415, "UNSUPPORTED_MEDIA_TYPE"),
    (exceptions.Throttled, 429, "THROTTLED"),
]


def api_exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: turn `exc` into the envelope, or None to let Django answer 500."""
    if isinstance(exc, ServiceError):
        set_rollback()
        return Response(exc.as_dict(), status=exc.status_code)
    exc = _as_api_exception(exc)
    if exc is None:
        return None
    set_rollback()
    status_code, code = _status_and_code(exc)
    headers: dict[str, str] = {}
    if status_code == 401:
        # DRF answers 403 when the view has no authenticator that can name a
        # scheme; the contract says 401, which needs a WWW-Authenticate header.
        headers["WWW-Authenticate"] = getattr(exc, "auth_header", None) or "Token"
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        headers["Retry-After"] = str(int(exc.wait))
    body: dict[str, Any] = {"code": code, "message": _message(exc)}
    if code == "VALIDATION_ERROR":
        body["fields"] = flatten_errors(exc.detail) if isinstance(exc, exceptions.ValidationError) else {}
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        body["retry_after"] = int(exc.wait)
    return Response(body, status=status_code, headers=headers)


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Nested serializer errors as one level: `{"seat": {"tier": [...]}}` -> `{"seat.tier": [...]}`.

    List items get their index (`filters.1.field`); a nested
    `non_field_errors` belongs to its parent's path, and a bare list at the
    top is the request's `non_field_errors`.
    """
    flat: dict[str, list[str]] = {}

    def add(path: str, message: Any) -> None:
        flat.setdefault(path or NON_FIELD_KEY, []).append(str(message))

    def walk(value: Any, path: str) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                key = str(key)
                walk(item, path if key == NON_FIELD_KEY else (f"{path}.{key}" if path else key))
        elif isinstance(value, list | tuple):
            if all(not isinstance(item, Mapping | list | tuple) for item in value):
                for item in value:
                    add(path, item)
            else:
                for index, item in enumerate(value):
                    if item:  # DRF puts {} for list items that were fine
                        walk(item, f"{path}.{index}" if path else str(index))
        else:
            add(path, value)

    walk(detail, prefix)
    return flat


def _as_api_exception(exc: Exception) -> exceptions.APIException | None:
    if isinstance(exc, exceptions.APIException):
        return exc
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(as_serializer_error(exc))
    if isinstance(exc, IntegrityError):
        # Services check uniqueness first; reaching here means a concurrent
        # request won the race, which the caller can retry.
        logger.info("integrity error answered as 409: %s", exc)
        return _Conflict()
    if isinstance(exc, RecursionError):
        # json's decoder recurses per nesting level: a body nested thousands deep
        # exhausts the stack before any validation can look at it.
        return exceptions.ParseError("The JSON is nested too deeply.")
    if isinstance(exc, DataError):
        # A value the database can't hold that slipped past validation
        # (an out-of-range number, say): the input is wrong, not the server.
        logger.warning("data error answered as 400: %s", exc)
        return exceptions.ValidationError({NON_FIELD_KEY: ["A value is out of range or malformed."]})
    return None


class _Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The record changed at the same time in another request; try again."
    default_code = "conflict"


def _status_and_code(exc: exceptions.APIException) -> tuple[int, str]:
    for exc_class, status_code, code in _CODES:
        if isinstance(exc, exc_class):
            return status_code, code
    return exc.status_code, str(exc.default_code).upper()


def _message(exc: exceptions.APIException) -> str:
    if isinstance(exc, exceptions.ValidationError):
        fields = flatten_errors(exc.detail)
        if not fields:
            return "The request is not valid."
        path, messages = next(iter(fields.items()))
        first = messages[0] if path == NON_FIELD_KEY else f"{path}: {messages[0]}"
        count = sum(len(m) for m in fields.values())
        return first if count == 1 else f"{first} (and {count - 1} more)"
    if isinstance(exc, exceptions.ParseError):
        return f"The request body could not be read: {exc.detail}"
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        return str(exc.detail) if str(exc.detail) else "Authentication credentials were not provided."
    detail = exc.detail
    if isinstance(detail, Mapping | list | tuple):
        return "; ".join(str(m) for m in flatten_errors(detail).get(NON_FIELD_KEY, [])) or str(exc.default_detail)
    return str(detail)
