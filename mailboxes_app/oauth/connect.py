"""Connecting a Google or Microsoft mailbox: the OAuth 2.0 authorization-code flow with PKCE (S256).

1. `oauth_authorization_start`: a random `state` and PKCE verifier, kept in a
   MailboxOAuthState row bound to the user and a hash of their browser
   session key; the browser goes to the provider with the S256 challenge.
2. The provider sends the browser back to `/mailboxes/oauth/callback/`:
   `oauth_callback` takes the state once — unknown, from another session
   or user, used, or older than STATE_TTL: nothing is connected and the
   answer says why — then reads a provider error as a sentence, or
   exchanges the code (with the verifier) for tokens through Authlib.
3. The address is the id_token's `email` claim (Microsoft: else
   `preferred_username`). The id_token came straight from the token
   endpoint over TLS, so its signature need not be checked (OIDC Core
   §3.1.3.7).
4. `mailbox_oauth_connect` creates the mailbox, or reconnects the owner's
   mailbox with that address (same row), and its SMTP and IMAP logins are
   verified at once (the `nudge.mailbox_verify` task, whose progress the
   mailbox's card shows); once connected, the enrollments that waited on it
   resume.
"""
from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from django.db import transaction
from django.utils import timezone

from accounts_app.models import User
from config.errors import ValidationFailed
from mailboxes_app.models import Mailbox, MailboxOAuthState
from mailboxes_app.oauth.providers import OAuthProvider, oauth_client, oauth_provider
from mailboxes_app.oauth.tokens import expiry_of

STATE_TTL = timedelta(minutes=10)
STATE_KEPT = timedelta(days=1)
START_AGAIN = "Nothing was connected; start again from the Mailboxes page."
# Provider errors (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6) in words.
PROVIDER_ERRORS = {
    "access_denied": "you (or your organisation's policy) declined to give Nudge access",
    "consent_required": "your consent is needed and was not given",
    "interaction_required": "the sign-in needs you to act in the provider's page",
    "login_required": "you were not signed in",
    "invalid_scope": "it does not grant the mail access Nudge asks for",
    "unauthorized_client": "Nudge's app registration may not use this flow",
    "server_error": "it had an internal error",
    "temporarily_unavailable": "it is busy right now",
}


@dataclass(frozen=True)
class ConnectResult:
    """What the callback did: a mailbox (its verification queued) or one sentence why not."""

    mailbox: Mailbox | None = None
    created: bool = False
    error: str = ""
    provider: str = ""


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def oauth_authorization_start(*, user: User, session_key: str, provider_key: str, now: datetime | None = None) -> str:
    """Where to send the browser to connect a mailbox of `provider_key`; raises when it isn't configured."""
    provider = oauth_provider(provider_key)
    if provider is None or not provider.configured:
        raise ValidationFailed(
            "This mail provider is not configured on this Nudge.",
            fields={"provider": ["Ask an admin to set its OAuth client id."]},
        )
    verifier = generate_token(64)
    url, state = oauth_client(provider).create_authorization_url(
        provider.authorize_url, code_verifier=verifier, **provider.authorize_params
    )
    now = now or timezone.now()
    # Authorizations nobody finished are kept a day (so a late callback hears "expired"), then forgotten.
    MailboxOAuthState.objects.filter(created_at__lt=now - STATE_KEPT).delete()
    MailboxOAuthState.objects.create(
        state_hash=_hash(state), session_hash=_hash(session_key), user=user, provider=provider.key,
        code_verifier=verifier, created_at=now,
    )
    return url


def oauth_callback(
    *, user: User, session_key: str, params: dict[str, str], now: datetime | None = None
) -> ConnectResult:
    """Finish an authorization (steps 2–4 of the module docstring); never raises for a bad callback."""
    now = now or timezone.now()
    taken = _take_state(user=user, session_key=session_key, state=params.get("state", ""), now=now)
    if isinstance(taken, str):
        return ConnectResult(error=taken)
    state, provider = taken
    if params.get("error"):
        return ConnectResult(error=_provider_error(provider, params["error"]))
    if not params.get("code"):
        return ConnectResult(error=f"{provider.label} sent Nudge back without an authorization. {START_AGAIN}")
    try:
        token = oauth_client(provider).fetch_token(
            provider.token_url, grant_type="authorization_code", code=params["code"],
            code_verifier=state.code_verifier,
        )
    except OAuthError as exc:
        return ConnectResult(error=f"{provider.label} refused to finish the sign-in ({exc.error}). {START_AGAIN}")
    except (requests.RequestException, ValueError):
        return ConnectResult(
            error=f"{provider.label}'s sign-in service did not answer. Nothing was connected; try again in a minute."
        )
    address = _address(provider, token)
    if not address:
        return ConnectResult(error=f"{provider.label} did not tell Nudge the mailbox's address. {START_AGAIN}")
    if not token.get("refresh_token"):
        return ConnectResult(
            error=f"{provider.label} gave no lasting access (no refresh token), so Nudge could not keep sending. "
            f"{START_AGAIN}"
        )
    mailbox, created = mailbox_oauth_connect(owner=user, provider=provider, email=address, token=token, now=now)
    from mailboxes_app.services import mailbox_verify_request

    mailbox_verify_request(mailbox=mailbox)
    return ConnectResult(mailbox=mailbox, created=created, provider=provider.label)


def _take_state(
    *, user: User, session_key: str, state: str, now: datetime
) -> tuple[MailboxOAuthState, OAuthProvider] | str:
    """The started authorization this callback finishes, taken once; else why the callback is refused."""
    row = MailboxOAuthState.objects.filter(state_hash=_hash(state)).first() if state else None
    if row is None:
        return f"This sign-in is unknown to Nudge. {START_AGAIN}"
    if row.user_id != user.pk or row.session_hash != _hash(session_key or ""):
        return f"This sign-in was started in another browser session. {START_AGAIN}"
    if row.used_at is not None:
        return f"This sign-in was already used. {START_AGAIN}"
    if row.created_at < now - STATE_TTL:
        return f"This sign-in expired (after {STATE_TTL.seconds // 60} minutes). {START_AGAIN}"
    # Taken with a conditional UPDATE: of two callbacks racing with the same state, one wins.
    if not MailboxOAuthState.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=now):
        return f"This sign-in was already used. {START_AGAIN}"
    provider = oauth_provider(row.provider)
    if provider is None or not provider.configured:
        return f"This mail provider is no longer configured on this Nudge. {START_AGAIN}"
    return row, provider


def _provider_error(provider: OAuthProvider, error: str) -> str:
    words = PROVIDER_ERRORS.get(error)
    if words:
        return f"{provider.label} did not connect the mailbox: {words}. Nothing was connected."
    return f"{provider.label} did not connect the mailbox (it answered “{error[:60]}”). Nothing was connected."


def _address(provider: OAuthProvider, token: dict[str, object]) -> str:
    claims = id_token_claims(str(token.get("id_token") or ""))
    for name in provider.address_claims:
        value = claims.get(name)
        if isinstance(value, str) and "@" in value:
            return value.strip().lower()
    return ""


def id_token_claims(id_token: str) -> dict[str, object]:
    """The claims of an id_token received from the token endpoint itself (no signature check: see step 3)."""
    parts = id_token.split(".")
    if len(parts) != 3:
        return {}
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(payload)
    except (ValueError, json.JSONDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


@transaction.atomic
def mailbox_oauth_connect(
    *, owner: User, provider: OAuthProvider, email: str, token: dict[str, object], now: datetime
) -> tuple[Mailbox, bool]:
    """Create the owner's mailbox for `email`, or reconnect the one they have (same row, same id).

    Its servers are the provider's; passwords are dropped (XOAUTH2 needs
    none). A new mailbox gets the provider's limits as its caps (Google 2,000
    a day; Microsoft 10,000 a day and 30 a minute); a reconnected one keeps
    the caps its owner chose. It stays disconnected
    until verified.
    """
    from mailboxes_app.services import NOT_VERIFIED, mailbox_create

    mailbox = Mailbox.objects.select_for_update().filter(owner=owner, email=email).first()
    created = mailbox is None
    smtp_host, smtp_port, smtp_security = provider.smtp
    imap_host, imap_port, imap_security = provider.imap
    servers = {
        "smtp_port": smtp_port, "smtp_security": smtp_security, "smtp_username": email, "smtp_password": "",
        "imap_host": imap_host, "imap_port": imap_port, "imap_security": imap_security, "imap_username": email,
        "imap_password": "",
    }
    if mailbox is None:
        mailbox = mailbox_create(
            owner=owner, email=email, smtp_host=smtp_host, daily_limit=provider.daily_limit,
            minute_limit=provider.minute_limit, **servers,
        )
    else:
        for name, value in {"smtp_host": smtp_host, **servers}.items():
            setattr(mailbox, name, value)
    mailbox.provider = provider.key
    mailbox.oauth_access_token = str(token["access_token"])
    mailbox.oauth_refresh_token = str(token["refresh_token"])
    mailbox.oauth_expires_at = expiry_of(token, now)
    mailbox.status = Mailbox.Status.DISCONNECTED
    mailbox.status_detail = NOT_VERIFIED
    mailbox.save()
    return mailbox, created
