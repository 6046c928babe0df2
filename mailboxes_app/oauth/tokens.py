"""Access tokens of OAuth mailboxes: always valid when used, refreshed once however many workers ask.

`access_token(mailbox)` is what SMTP and IMAP logins call:
1. A stored token valid for more than REFRESH_MARGIN is used as it is.
2. Otherwise (or when a server just refused the token, `refused=`) the
   mailbox's row is locked and read again: if another worker refreshed it
   meanwhile, its token is used. Else this worker asks the provider's token
   endpoint (Authlib, at most providers.TOKEN_TIMEOUT seconds — the only
   network call ever made under a mailbox's row lock, so that parallel
   workers refresh once) and stores the new access token and any rotated
   refresh token (Microsoft rotates them) before anything uses them.
3. `invalid_grant` (access revoked, password changed, consent withdrawn)
   disconnects the mailbox with the reason in words and tells its owner
   once; the sender then parks its emails and their enrollments wait
   (INBOX_DISCONNECTED) until a reconnect. Any other failure of the token
   endpoint (timeout, 5xx, garbage) is `OAuthUnavailable`: try again later.
Tokens are never logged, and no message built here contains one.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

import requests
from authlib.integrations.base_client.errors import OAuthError
from django.db import transaction
from django.utils import timezone

from accounts_app.models import Notification
from mailboxes_app.models import Mailbox
from mailboxes_app.oauth.providers import OAuthProvider, oauth_client, oauth_provider

logger = logging.getLogger(__name__)

# Refresh this long before the provider's expiry, so no token expires between refresh and login.
REFRESH_MARGIN = timedelta(minutes=5)
# When a token endpoint gives no expires_in, assume the usual hour.
DEFAULT_LIFETIME = timedelta(hours=1)


class OAuthRevoked(Exception):
    """The provider no longer accepts the mailbox's grant; the mailbox is disconnected (reason in the message)."""


class OAuthUnavailable(Exception):
    """The token endpoint could not answer now (timeout, 5xx, a malformed answer); try again later."""


def revoked_reason(provider: OAuthProvider) -> str:
    return f"{provider.label} no longer accepts Nudge's access — reconnect."


def xoauth2_string(user: str, token: str) -> str:
    """The SASL XOAUTH2 initial response (Google's and Microsoft's documented format)."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def expiry_of(token: dict[str, object], now: datetime) -> datetime:
    seconds = token.get("expires_in")
    try:
        return now + timedelta(seconds=int(seconds))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return now + DEFAULT_LIFETIME


def access_token(mailbox: Mailbox, *, refused: str | None = None, now: datetime | None = None) -> str:
    """A token to log in with now (steps in the module docstring). `refused`: the token a server just refused.

    Raises OAuthRevoked (mailbox now disconnected) or OAuthUnavailable.
    """
    now = now or timezone.now()
    if refused is None and _fresh(mailbox.oauth_access_token, mailbox.oauth_expires_at, now):
        return mailbox.oauth_access_token
    provider = oauth_provider(mailbox.provider)
    if provider is None:
        raise OAuthRevoked("This mailbox does not log in with OAuth.")
    revoked = False
    with transaction.atomic():
        row = Mailbox.objects.select_for_update().only(
            "pk", "status", "oauth_access_token", "oauth_refresh_token", "oauth_expires_at", "owner_id", "email"
        ).get(pk=mailbox.pk)
        if row.oauth_access_token != refused and _fresh(row.oauth_access_token, row.oauth_expires_at, now):
            _copy(row, mailbox)  # another worker refreshed it while this one waited for the lock
            return row.oauth_access_token
        if not row.oauth_refresh_token:
            raise OAuthRevoked(revoked_reason(provider))
        try:
            token = oauth_client(provider).refresh_token(provider.token_url, refresh_token=row.oauth_refresh_token)
        except OAuthError as exc:
            if exc.error != "invalid_grant":
                raise OAuthUnavailable(f"{provider.label}'s token service refused a refresh ({exc.error}).") from None
            revoked = True
            _disconnect(row, provider)
        except (requests.RequestException, ValueError) as exc:
            # Name only the kind of failure: a response text could echo what was posted.
            raise OAuthUnavailable(
                f"{provider.label}'s token service did not answer ({type(exc).__name__}); will try again."
            ) from None
        else:
            row.oauth_access_token = str(token["access_token"])
            # A rotated refresh token replaces the old one in the same commit (the old one may be dead now).
            row.oauth_refresh_token = str(token.get("refresh_token") or row.oauth_refresh_token)
            row.oauth_expires_at = expiry_of(token, now)
            # .update(): leaves updated_at alone, which mailbox_verify compares to spot edits.
            Mailbox.objects.filter(pk=row.pk).update(
                oauth_access_token=row.oauth_access_token,
                oauth_refresh_token=row.oauth_refresh_token,
                oauth_expires_at=row.oauth_expires_at,
            )
            logger.info("refreshed the access token of mailbox %s", row.pk)
    if revoked:
        mailbox.refresh_from_db()
        raise OAuthRevoked(revoked_reason(provider))
    _copy(row, mailbox)
    return row.oauth_access_token


def _fresh(token: str, expires_at: datetime | None, now: datetime) -> bool:
    return bool(token) and expires_at is not None and expires_at - REFRESH_MARGIN > now


def _copy(row: Mailbox, mailbox: Mailbox) -> None:
    mailbox.oauth_access_token = row.oauth_access_token
    mailbox.oauth_refresh_token = row.oauth_refresh_token
    mailbox.oauth_expires_at = row.oauth_expires_at


def _disconnect(row: Mailbox, provider: OAuthProvider) -> None:
    """The grant is dead: forget the tokens, disconnect with the reason; tell the owner only on the change."""
    reason = revoked_reason(provider)
    was_connected = row.status == Mailbox.Status.CONNECTED
    Mailbox.objects.filter(pk=row.pk).update(
        status=Mailbox.Status.DISCONNECTED, status_detail=reason,
        oauth_access_token="", oauth_refresh_token="", oauth_expires_at=None,
    )
    logger.info("mailbox %s disconnected: its %s grant was revoked", row.pk, provider.key)
    if was_connected:
        Notification.objects.create(
            user_id=row.owner_id,
            kind="inbox_disconnected",
            message=f"{row.email} was disconnected: {reason} Your sequences from it wait until you do.",
            url="/mailboxes/",
        )
