"""Driving the OAuth connect flow without a browser: Nudge's pages through Django's test client, the
local provider's consent page through plain HTTP (as the browser would post it)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests
from django.test import Client

from tests.fixtures_oauth import OAuthServer, XOAuth2Smtp


def use_local_mail_servers(settings, smtp: XOAuth2Smtp, imap: tuple[str, int] | None = None) -> None:
    """Point both providers' mail presets at loopback servers (no IMAP server: reading is not configured)."""
    for name in ("GOOGLE", "MICROSOFT"):
        setattr(settings, f"{name}_SMTP", (smtp.host, smtp.port, "none"))
        setattr(settings, f"{name}_IMAP", (imap[0], imap[1], "none") if imap else ("", 993, "none"))


def start(client: Client, provider: str = "google") -> str:
    """GET /mailboxes/connect/<provider>/: the provider's authorization URL Nudge redirects to."""
    answer = client.get(f"/mailboxes/connect/{provider}/")
    assert answer.status_code == 302, answer.content[:500]
    return answer["Location"]


def consent(oauth: OAuthServer, authorize_url: str, *, login: str, decision: str = "allow") -> str:
    """Answer the local provider's consent page; returns the callback path (with query) it redirects to."""
    query = {key: values[0] for key, values in parse_qs(urlparse(authorize_url).query).items()}
    page = requests.get(authorize_url, timeout=10)
    assert page.status_code == 200, page.text
    answer = requests.post(
        f"{oauth.url}/authorize", data={**query, "login": login, "decision": decision}, allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302
    callback = urlparse(answer.headers["Location"])
    return f"{callback.path}?{callback.query}"


def connect(
    client: Client, oauth: OAuthServer, run_tasks: Callable[[], Any], *, provider: str = "google",
    login: str = "rep@acme.example",
):
    """The whole flow; returns Nudge's answer to the callback (the verification it queues has run)."""
    callback = consent(oauth, start(client, provider), login=login)
    with run_tasks():
        return client.get(callback)
