"""Private app tokens: make, list, revoke, authenticate, and count them against the burst limit.

A token is `pat-nudge-` + 43 URL-safe characters (256 random bits). It acts
as its user with that user's visibility and permissions, narrowed by its
scopes. Anything that hands out scoped tokens (the settings page, the API, a
future browser extension) goes through `private_app_create`.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from accounts_app.models import PrivateApp, PrivateAppWindow, User
from config.errors import NotAllowed, ValidationFailed

TOKEN_PREFIX = "pat-nudge-"  # noqa: S105 (the public start of every token, not a secret)
# The part of a token kept in clear (and shown in lists) to tell tokens apart.
SHOWN_PREFIX_LENGTH = len(TOKEN_PREFIX) + 4

READ_SEQUENCES = "automation.sequences.read"
WRITE_ENROLLMENTS = "automation.sequences.enrollments.write"
NUDGE_API_READ = "nudge.api.read"
NUDGE_API_WRITE = "nudge.api.write"
SCOPES: dict[str, str] = {
    READ_SEQUENCES: "Read sequences and a contact's enrollment (HubSpot-compatible API)",
    WRITE_ENROLLMENTS: "Enroll contacts in sequences (HubSpot-compatible API)",
    NUDGE_API_READ: "Read through /api/v1/ whatever you can see",
    NUDGE_API_WRITE: "Read and change through /api/v1/ whatever you may",
}
MAX_NAME_LENGTH = 120


def private_app_create(*, user: User, name: str, scopes: list[str]) -> tuple[PrivateApp, str]:
    """A new token for `user`; returns the row and the token, which is never available again."""
    errors: dict[str, list[str]] = {}
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        errors["name"] = ["Give the token a name."]
    elif len(name) > MAX_NAME_LENGTH:
        errors["name"] = [f"At most {MAX_NAME_LENGTH} characters."]
    if not isinstance(scopes, list) or not scopes:
        errors["scopes"] = ["Choose at least one scope."]
    else:
        unknown = [str(scope) for scope in scopes if scope not in SCOPES]
        if unknown:
            errors["scopes"] = [f"Unknown scope {unknown[0]!r}; known: {', '.join(SCOPES)}."]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], fields=errors)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    app = PrivateApp.objects.create(
        user=user,
        name=name,
        scopes=sorted(set(scopes), key=list(SCOPES).index),
        token_hash=_hash(token),
        token_prefix=token[:SHOWN_PREFIX_LENGTH],
    )
    return app, token


# What an inbox extension's token may do: the contact card, enrolling, pausing — as its rep.
EXTENSION_CLIENTS: dict[str, str] = {"gmail": "Nudge for Gmail", "outlook": "Nudge for Outlook"}
EXTENSION_SCOPES = [NUDGE_API_READ, NUDGE_API_WRITE]


def extension_origin_allowed(origin: str) -> bool:
    """Whether `origin` (chrome-extension://<id>) is one of the configured EXTENSION_ORIGINS."""
    return origin in settings.EXTENSION_ORIGINS


def extension_token_create(*, user: User, client: str) -> tuple[PrivateApp, str]:
    """The token an inbox extension (`client`: gmail or outlook) holds: an ordinary private app token.

    It is listed in the rep's Settings → Private apps like any other and revoked
    the same way (or by the extension's Disconnect).
    """
    if client not in EXTENSION_CLIENTS:
        raise ValidationFailed(f"Unknown extension {client!r}.", fields={"client": ["Unknown extension."]})
    return private_app_create(user=user, name=EXTENSION_CLIENTS[client], scopes=list(EXTENSION_SCOPES))


def private_app_revoke(*, app: PrivateApp, caller: User) -> None:
    """Revoke at once: the row goes, and with it every later request made with the token."""
    if app.user_id != caller.pk and not caller.is_staff:
        raise NotAllowed("PERMISSION_DENIED", "Only the token's owner or an admin may revoke it.")
    app.delete()


def private_apps_visible_to(user: User) -> QuerySet[PrivateApp]:
    """A user's own tokens; an admin sees everyone's."""
    apps = PrivateApp.objects.select_related("user")
    return apps if user.is_staff else apps.filter(user=user)


def private_app_authenticate(token: str, *, now: datetime | None = None) -> PrivateApp | None:
    """The live token `token` names (its user loaded), or None; notes the use at most once a minute."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    app = PrivateApp.objects.select_related("user").filter(token_hash=_hash(token)).first()
    if app is None or not app.user.is_active:
        return None
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.PRIVATE_APP_TOUCH_SECONDS)
    if app.last_used_at is None or app.last_used_at < stale:
        PrivateApp.objects.filter(pk=app.pk).update(last_used_at=now)
        app.last_used_at = now
    return app


@dataclass(frozen=True)
class Burst:
    """Where a token stands in its current burst window."""

    limit: int
    remaining: int
    interval_ms: int
    allowed: bool


def private_app_hit(app: PrivateApp, *, now: datetime | None = None) -> Burst:
    """Count one request against the token's burst limit, in the database so every process shares it.

    1. The window is the current PRIVATE_APP_BURST_INTERVAL_SECONDS slice of time.
    2. One upsert adds the hit and returns the window's count atomically
       (PostgreSQL and SQLite both have INSERT … ON CONFLICT … RETURNING).
    3. The first hit of a window deletes the token's older windows.
    """
    now = now or timezone.now()
    interval_ms = settings.PRIVATE_APP_BURST_INTERVAL_SECONDS * 1000
    limit = settings.PRIVATE_APP_BURST_LIMIT
    slot = int(now.timestamp() * 1000) // interval_ms
    table = connection.ops.quote_name(PrivateAppWindow._meta.db_table)
    # One statement, atomic on its own: no transaction (or savepoint) around it.
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (app_id, slot, hits) VALUES (%s, %s, 1) "  # noqa: S608 (quoted table name)
            f"ON CONFLICT (app_id, slot) DO UPDATE SET hits = {table}.hits + 1 RETURNING hits",
            [app.pk, slot],
        )
        hits = cursor.fetchone()[0]
    if hits == 1:
        PrivateAppWindow.objects.filter(app=app, slot__lt=slot).delete()
    return Burst(limit=limit, remaining=max(0, limit - hits), interval_ms=interval_ms, allowed=hits <= limit)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
