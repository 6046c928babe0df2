"""drf-spectacular post-processing: what every operation may answer besides success, and what not everyone gets.

1. Every operation declares the error responses of API.md's conventions
   (400, 401, 403, 404, 405, 409, 415, 429) with the one error envelope
   (`config.api.errors`), so a client, or schemathesis' status-code and
   schema checks, can rely on them.
2. `User` marks as required only the fields everyone receives: a non-admin
   reading someone else gets PUBLIC_USER_FIELDS alone (no `seat`, no
   `daily_send_limit`).
"""
from __future__ import annotations

from typing import Any

from accounts_app.serializers import PUBLIC_USER_FIELDS

ERROR_RESPONSES = {
    "400": "Invalid input: VALIDATION_ERROR (with `fields`) or a rule's own code.",
    "401": "NOT_AUTHENTICATED: no or a bad token or session.",
    "403": "PERMISSION_DENIED, or a rule's own code: not allowed for the caller.",
    "404": "NOT_FOUND: no such object, or not one the caller may see.",
    "405": "METHOD_NOT_ALLOWED.",
    "409": "A conflict with the current state (a rule's own code).",
    "415": "UNSUPPORTED_MEDIA_TYPE.",
    "429": "THROTTLED or LOGIN_LOCKED_OUT; `Retry-After` says when to try again.",
}
ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error's shape: a stable upper-case code, a sentence, and per-field messages for "
                   "validation errors. Some codes add details of their own (e.g. `retry_after`).",
    "properties": {
        "code": {"type": "string", "example": "VALIDATION_ERROR"},
        "message": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        "retry_after": {"type": "integer", "description": "Seconds to wait (429 only)."},
    },
    "required": ["code", "message"],
}
METHODS = {"get", "post", "put", "patch", "delete"}


def declare_errors(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    envelope = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_RESPONSES.items():
                responses.setdefault(status, {"description": description, "content": envelope})
    user = schemas.get("User")
    if user is not None:
        user["required"] = [name for name in user.get("required", []) if name in PUBLIC_USER_FIELDS]
    return result
