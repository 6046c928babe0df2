"""Google and Microsoft as OAuth 2.0 providers of mailboxes: read from settings at each use.

Settings (README, "Configuration"): `<PROVIDER>_OAUTH_CLIENT_ID` /
`_CLIENT_SECRET` / `_AUTHORIZE_URL` / `_TOKEN_URL`, `MICROSOFT_OAUTH_TENANT`
and `<PROVIDER>_SMTP` / `_IMAP` as host:port:security. A provider is
offered only when its client id is set.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from authlib.integrations.requests_client import OAuth2Session
from django.conf import settings

from mailboxes_app.models import Provider

# Seconds for each call to a token endpoint: a worker holds the mailbox's row lock meanwhile.
TOKEN_TIMEOUT = 10
CALLBACK_PATH = "/mailboxes/oauth/callback/"


@dataclass(frozen=True)
class OAuthProvider:
    key: str
    label: str
    client_id: str
    client_secret: str
    authorize_url: str
    token_url: str
    scope: str
    smtp: tuple[str, int, str]
    imap: tuple[str, int, str]
    # The provider's own sending limits, the defaults of a new mailbox's caps.
    daily_limit: int
    minute_limit: int | None = None
    # Extra authorization parameters (Google: offline access and a consent screen every time,
    # so a refresh token comes back on every connect).
    authorize_params: dict[str, str] = field(default_factory=dict)
    # Where the id_token names the mailbox's address, in order of preference.
    address_claims: tuple[str, ...] = ("email",)

    @property
    def configured(self) -> bool:
        return bool(self.client_id)


def oauth_provider(key: str) -> OAuthProvider | None:
    """The provider named `key` ("google", "microsoft"), configured or not; None for any other name."""
    if key == Provider.GOOGLE:
        return OAuthProvider(
            key=Provider.GOOGLE, label="Google",
            client_id=settings.GOOGLE_OAUTH_CLIENT_ID, client_secret=settings.GOOGLE_OAUTH_CLIENT_SECRET,
            authorize_url=settings.GOOGLE_OAUTH_AUTHORIZE_URL, token_url=settings.GOOGLE_OAUTH_TOKEN_URL,
            scope="https://mail.google.com/ openid email",
            smtp=settings.GOOGLE_SMTP, imap=settings.GOOGLE_IMAP, daily_limit=2000,
            authorize_params={"access_type": "offline", "prompt": "consent"},
        )
    if key == Provider.MICROSOFT:
        return OAuthProvider(
            key=Provider.MICROSOFT, label="Microsoft 365",
            client_id=settings.MICROSOFT_OAUTH_CLIENT_ID, client_secret=settings.MICROSOFT_OAUTH_CLIENT_SECRET,
            authorize_url=settings.MICROSOFT_OAUTH_AUTHORIZE_URL, token_url=settings.MICROSOFT_OAUTH_TOKEN_URL,
            scope="https://outlook.office.com/SMTP.Send https://outlook.office.com/IMAP.AccessAsUser.All "
            "offline_access openid email",
            smtp=settings.MICROSOFT_SMTP, imap=settings.MICROSOFT_IMAP, daily_limit=10_000, minute_limit=30,
            address_claims=("email", "preferred_username"),
        )
    return None


def oauth_providers() -> list[OAuthProvider]:
    """Both providers, configured or not (the admin settings page lists them)."""
    return [provider for key in (Provider.GOOGLE, Provider.MICROSOFT) if (provider := oauth_provider(key))]


def configured_providers() -> list[OAuthProvider]:
    return [provider for provider in oauth_providers() if provider.configured]


def redirect_uri() -> str:
    """The callback to register with each provider."""
    return settings.SITE_URL + CALLBACK_PATH


def oauth_client(provider: OAuthProvider) -> OAuth2Session:
    """Authlib's OAuth 2.0 client for the provider: PKCE S256, client secret in the POST body."""
    return OAuth2Session(
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        token_endpoint_auth_method="client_secret_post",  # noqa: S106  (a method name, not a secret)
        scope=provider.scope,
        redirect_uri=redirect_uri(),
        code_challenge_method="S256",
        default_timeout=TOKEN_TIMEOUT,
    )
