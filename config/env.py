"""Small typed readers for settings taken from the environment.

Each fails loudly on a value it cannot read, so a typo in a deployment's
configuration stops the process at start-up instead of changing behaviour.
"""
from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from exc
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_mail_server(name: str, default: str) -> tuple[str, int, str]:
    """`host:port:security` (security: none, starttls or ssl) as a (host, port, security) triple."""
    raw = os.environ.get(name) or default
    host, _, rest = raw.strip().rpartition(":")
    host, _, port = host.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536 or rest not in ("none", "starttls", "ssl"):
        raise ImproperlyConfigured(f"{name} must look like host:port:security (none, starttls or ssl), not {raw!r}")
    return host, int(port), rest
