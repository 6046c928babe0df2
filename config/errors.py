"""The one exception type services raise when they refuse an action.

API views turn it into the error envelope of API.md
(`{"code", "message", ...extra}`), pages into a message for the user, and
workflows into a history row — so a rule's code is written once, where the
rule is.
"""
from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    status_code = 400

    def __init__(self, code: str, message: str, *, status_code: int | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        if status_code is not None:
            self.status_code = status_code
        self.extra = extra

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.extra}


class ValidationFailed(ServiceError):
    """Input that breaks a rule; `fields` maps each field to its messages."""

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__("VALIDATION_ERROR", message, fields=fields or {})


class NotAllowed(ServiceError):
    status_code = 403


class Conflict(ServiceError):
    status_code = 409
