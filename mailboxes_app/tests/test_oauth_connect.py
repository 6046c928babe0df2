"""Connecting Google and Microsoft 365 mailboxes: the authorization-code flow with PKCE against a local
OAuth 2.0 server, the callback's refusals in words, reconnecting the same row, and tokens nobody sees."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
import time_machine
from django.db import connection
from django.test import Client

from mailboxes_app.models import Mailbox, MailboxOAuthState
from tests.factories import MailboxFactory, UserFactory
from tests.fixtures_api import api_client
from tests.fixtures_oauth import CLIENT_ID

from .oauth_helpers import connect, consent, start, use_local_mail_servers

pytestmark = pytest.mark.django_db


@pytest.fixture
def providers(settings, oauth_providers, xoauth2_smtp):
    use_local_mail_servers(settings, xoauth2_smtp)
    return oauth_providers


@pytest.fixture
def browser(rep) -> Client:
    client = Client()
    client.force_login(rep)
    return client


def _tokens(mailbox: Mailbox) -> list[str]:
    mailbox.refresh_from_db()
    return [mailbox.oauth_access_token, mailbox.oauth_refresh_token]


def test_the_mailboxes_page_offers_a_provider_only_when_its_client_id_is_set(settings, browser):
    settings.GOOGLE_OAUTH_CLIENT_ID, settings.MICROSOFT_OAUTH_CLIENT_ID = "", ""
    page = browser.get("/mailboxes/").content.decode()
    assert "Connect Google" not in page
    assert "Connect Microsoft 365" not in page
    assert "Connect a mailbox" in page

    settings.GOOGLE_OAUTH_CLIENT_ID = "google-client"
    page = browser.get("/mailboxes/").content.decode()
    assert "Connect Google" in page
    assert "Connect Microsoft 365" not in page
    assert "Other (SMTP/IMAP)" in page


def test_starting_a_google_connection_asks_for_mail_offline_and_consent_with_a_pkce_s256_challenge(
    providers, browser, settings
):
    query = parse_qs(urlparse(start(browser, "google")).query)

    assert query["client_id"] == [CLIENT_ID]
    assert query["response_type"] == ["code"]
    assert query["scope"] == ["https://mail.google.com/ openid email"]
    assert (query["access_type"], query["prompt"]) == (["offline"], ["consent"])
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43
    assert query["redirect_uri"] == [settings.SITE_URL + "/mailboxes/oauth/callback/"]
    assert MailboxOAuthState.objects.filter(provider="google", used_at=None).count() == 1


def test_starting_a_microsoft_connection_asks_for_smtp_imap_and_offline_access(providers, browser):
    query = parse_qs(urlparse(start(browser, "microsoft")).query)

    assert query["scope"] == [
        "https://outlook.office.com/SMTP.Send https://outlook.office.com/IMAP.AccessAsUser.All offline_access "
        "openid email"
    ]
    assert "prompt" not in query


def test_the_microsoft_endpoints_default_to_the_configured_tenant(monkeypatch):
    import importlib

    import config.settings as nudge_settings

    monkeypatch.setenv("MICROSOFT_OAUTH_TENANT", "contoso.onmicrosoft.com")
    reloaded = importlib.reload(nudge_settings)
    try:
        assert reloaded.MICROSOFT_OAUTH_AUTHORIZE_URL == (
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize"
        )
        assert reloaded.MICROSOFT_OAUTH_TOKEN_URL.endswith("/contoso.onmicrosoft.com/oauth2/v2.0/token")
        assert reloaded.GOOGLE_SMTP == ("smtp.gmail.com", 587, "starttls")
        assert reloaded.MICROSOFT_IMAP == ("outlook.office365.com", 993, "ssl")
    finally:
        monkeypatch.delenv("MICROSOFT_OAUTH_TENANT")
        importlib.reload(nudge_settings)


def test_a_rep_connects_a_google_mailbox_that_is_verified_at_once(providers, browser, rep, xoauth2_smtp, run_tasks):
    answer = connect(browser, providers, run_tasks, login="rep@acme.example")

    assert answer.status_code == 302
    assert answer["Location"] == "/mailboxes/"
    mailbox = Mailbox.objects.get(owner=rep, email="rep@acme.example")
    assert (mailbox.provider, mailbox.auth, mailbox.status) == ("google", "oauth", "connected")
    assert (mailbox.smtp_host, mailbox.smtp_port) == (xoauth2_smtp.host, xoauth2_smtp.port)
    assert mailbox.daily_limit == 2000  # Google's own limit, the mailbox's cap by default
    assert mailbox.minute_limit is None
    assert mailbox.smtp_password == ""
    assert mailbox.imap_password == ""
    # The verification logged in with XOAUTH2 as the mailbox's address.
    assert xoauth2_smtp.logins == [("rep@acme.example", True)]
    page = browser.get("/mailboxes/").content.decode()
    assert "rep@acme.example is connected" in page


def test_tokens_are_stored_encrypted(providers, browser, rep, run_tasks):
    connect(browser, providers, run_tasks, login="rep@acme.example")
    mailbox = Mailbox.objects.get(email="rep@acme.example")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT oauth_access_token, oauth_refresh_token FROM mailboxes_app_mailbox WHERE id = %s", [mailbox.pk]
        )
        stored = cursor.fetchone()
    access, refresh = _tokens(mailbox)
    assert access.startswith("at-")
    assert refresh.startswith("rt-")
    assert access not in stored[0]
    assert refresh not in stored[1]


def test_a_microsoft_mailbox_takes_its_address_from_preferred_username_and_its_limit(
    providers, browser, rep, run_tasks
):
    providers.address_claim = "preferred_username"

    connect(browser, providers, run_tasks, provider="microsoft", login="Rep@Contoso.example")

    mailbox = Mailbox.objects.get(owner=rep, email="rep@contoso.example")
    assert (mailbox.provider, mailbox.status, mailbox.daily_limit) == ("microsoft", "connected", 10_000)
    assert mailbox.minute_limit == 30  # Microsoft's 30 messages a minute, the mailbox's own per-minute cap


def test_reconnecting_an_address_updates_the_same_mailbox(providers, browser, rep, run_tasks):
    connect(browser, providers, run_tasks, login="rep@acme.example")
    first = Mailbox.objects.get(email="rep@acme.example")
    old_tokens = _tokens(first)
    Mailbox.objects.filter(pk=first.pk).update(
        daily_limit=500, minute_limit=12, status="disconnected", status_detail="x"
    )

    connect(browser, providers, run_tasks, login="rep@acme.example")

    [again] = Mailbox.objects.filter(owner=rep, email="rep@acme.example")
    assert again.pk == first.pk
    assert again.status == "connected"
    assert (again.daily_limit, again.minute_limit) == (500, 12)  # the rep's own caps stay
    assert _tokens(again) != old_tokens


def test_a_password_mailbox_with_the_address_is_the_one_reconnected(providers, browser, rep, run_tasks):
    password_box = MailboxFactory(owner=rep, email="rep@acme.example", is_primary=False)

    connect(browser, providers, run_tasks, login="rep@acme.example")

    password_box.refresh_from_db()
    assert (password_box.provider, password_box.smtp_password, password_box.status) == ("google", "", "connected")
    assert Mailbox.objects.filter(owner=rep).count() == 2  # the factory's primary one and this one


def test_a_callback_replayed_in_another_users_session_attaches_nothing(providers, browser, rep):
    callback = consent(providers, start(browser, "google"), login="rep@acme.example")
    other = UserFactory()
    intruder = Client()
    intruder.force_login(other)

    answer = intruder.get(callback)

    assert answer.status_code == 400
    assert "started in another browser session" in answer.content.decode()
    assert not Mailbox.objects.filter(email="rep@acme.example").exists()
    # The rightful session still finishes it.
    assert browser.get(callback).status_code == 302
    assert Mailbox.objects.get(email="rep@acme.example").owner == rep


def test_a_callback_from_another_browser_session_of_the_same_user_attaches_nothing(providers, browser, rep):
    callback = consent(providers, start(browser, "google"), login="rep@acme.example")
    second_browser = Client()
    second_browser.force_login(rep)

    answer = second_browser.get(callback)

    assert answer.status_code == 400
    assert "another browser session" in answer.content.decode()
    assert not Mailbox.objects.filter(email="rep@acme.example").exists()


def test_a_used_callback_connects_nothing_the_second_time(providers, browser, rep):
    callback = consent(providers, start(browser, "google"), login="rep@acme.example")
    browser.get(callback)
    Mailbox.objects.filter(email="rep@acme.example").delete()

    answer = browser.get(callback)

    assert answer.status_code == 400
    assert "already used" in answer.content.decode()
    assert not Mailbox.objects.filter(email="rep@acme.example").exists()


def test_an_unknown_state_connects_nothing(providers, browser):
    answer = browser.get("/mailboxes/oauth/callback/?code=abc&state=made-up")
    assert answer.status_code == 400
    assert "unknown to Nudge" in answer.content.decode()
    answer = browser.get("/mailboxes/oauth/callback/")
    assert answer.status_code == 400
    assert "unknown to Nudge" in answer.content.decode()


def test_a_state_older_than_ten_minutes_has_expired(providers, browser):
    with time_machine.travel("2026-12-01 09:00+00:00", tick=False):
        callback = consent(providers, start(browser, "google"), login="rep@acme.example")
    with time_machine.travel("2026-12-01 09:10:30+00:00", tick=False):
        answer = browser.get(callback)

    assert answer.status_code == 400
    assert "expired" in answer.content.decode()
    assert not Mailbox.objects.filter(email="rep@acme.example").exists()


def test_authorizations_nobody_finished_are_forgotten_after_a_day(providers, browser):
    with time_machine.travel("2026-12-01 09:00+00:00", tick=False):
        start(browser, "google")
    with time_machine.travel("2026-12-01 20:00+00:00", tick=False):
        start(browser, "google")
    with time_machine.travel("2026-12-02 10:00+00:00", tick=False):
        start(browser, "google")

    assert MailboxOAuthState.objects.count() == 2


def test_a_provider_error_is_shown_as_a_sentence(providers, browser):
    callback = consent(providers, start(browser, "google"), login="rep@acme.example", decision="deny")
    answer = browser.get(callback)

    assert answer.status_code == 400
    assert "Google did not connect the mailbox: you (or your organisation" in answer.content.decode()


def test_an_unexpected_provider_error_is_quoted_escaped(providers, browser):
    url = start(browser, "google")
    state = parse_qs(urlparse(url).query)["state"][0]
    answer = browser.get("/mailboxes/oauth/callback/", {"state": state, "error": "<b>weird</b>"})
    assert answer.status_code == 400
    assert "&lt;b&gt;weird&lt;/b&gt;" in answer.content.decode()


def test_the_provider_checks_the_pkce_verifier(providers, browser):
    """Nudge sends the verifier of the challenge it sent: with another one the provider refuses the code."""
    callback = consent(providers, start(browser, "google"), login="rep@acme.example")
    state = MailboxOAuthState.objects.get()
    state.code_verifier = "another-verifier-" + "x" * 40
    state.save()

    answer = browser.get(callback)

    assert answer.status_code == 400
    assert "refused to finish the sign-in (invalid_grant)" in answer.content.decode()
    assert not Mailbox.objects.filter(email="rep@acme.example").exists()


def test_a_token_endpoint_that_is_down_connects_nothing_and_says_so(providers, browser):
    callback = consent(providers, start(browser, "google"), login="rep@acme.example")
    providers.token_endpoint_down = True

    answer = browser.get(callback)

    assert answer.status_code == 400
    assert "did not answer" in answer.content.decode()


def test_an_unconfigured_provider_starts_nothing(settings, browser):
    settings.GOOGLE_OAUTH_CLIENT_ID = ""
    answer = browser.get("/mailboxes/connect/google/", follow=True)
    assert "not configured" in answer.content.decode()
    assert browser.get("/mailboxes/connect/yahoo/", follow=True).status_code == 200
    assert not MailboxOAuthState.objects.exists()


def test_no_token_appears_in_any_api_answer_page_or_admin_page(providers, browser, rep, admin_user, run_tasks):
    connect(browser, providers, run_tasks, login="rep@acme.example")
    mailbox = Mailbox.objects.get(email="rep@acme.example")
    secrets = _tokens(mailbox)
    api = api_client(rep)
    admin = Client()
    admin.force_login(admin_user)

    answers = [
        api.get("/api/v1/mailboxes/"),
        api.get(f"/api/v1/mailboxes/{mailbox.pk}/"),
        api.patch(f"/api/v1/mailboxes/{mailbox.pk}/", {"display_name": "Rep"}, format="json"),
        api.post(f"/api/v1/mailboxes/{mailbox.pk}/verify/"),
        browser.get("/mailboxes/"),
        browser.get(f"/mailboxes/{mailbox.pk}/edit/"),
        admin.get(f"/admin/mailboxes_app/mailbox/{mailbox.pk}/change/"),
        admin.get("/admin/mailboxes_app/mailbox/"),
    ]
    for answer in answers:
        assert answer.status_code in (200, 202), answer.content[:300]
        body = answer.content.decode()
        assert not any(secret in body for secret in secrets)
    detail = answers[1].json()
    assert (detail["provider"], detail["auth"]) == ("google", "oauth")
    assert not any(key.startswith("oauth") for key in detail)


def test_the_api_lets_caps_and_names_change_but_not_an_oauth_mailboxs_servers(providers, browser, rep, run_tasks):
    connect(browser, providers, run_tasks, login="rep@acme.example")
    mailbox = Mailbox.objects.get(email="rep@acme.example")
    api = api_client(rep)

    ok = api.patch(f"/api/v1/mailboxes/{mailbox.pk}/", {"display_name": "Rep A", "daily_limit": 1500,
                                                       "provider": "other"}, format="json")
    assert ok.status_code == 200
    assert (ok.json()["display_name"], ok.json()["daily_limit"], ok.json()["provider"]) == ("Rep A", 1500, "google")
    refused = api.patch(f"/api/v1/mailboxes/{mailbox.pk}/", {"smtp_host": "evil.example"}, format="json")
    assert refused.status_code == 400
    assert refused.json()["code"] == "VALIDATION_ERROR"
    assert "smtp_host" in refused.json()["fields"]
    mailbox.refresh_from_db()
    assert mailbox.smtp_host != "evil.example"
    assert mailbox.status == "connected"


def test_a_password_mailbox_answers_provider_other_and_auth_password(rep):
    answer = api_client(rep).get("/api/v1/mailboxes/").json()
    assert [(row["provider"], row["auth"]) for row in answer["results"]] == [("other", "password")]


def test_the_admin_settings_page_names_configured_providers_and_the_redirect_uri(
    settings, admin_user
):
    settings.GOOGLE_OAUTH_CLIENT_ID, settings.MICROSOFT_OAUTH_CLIENT_ID = "g-client", ""
    settings.SITE_URL = "https://nudge.acme.example"
    client = Client()
    client.force_login(admin_user)

    page = client.get("/settings/?tab=portal").content.decode()

    assert "https://nudge.acme.example/mailboxes/oauth/callback/" in page
    assert "Configured: reps see “Connect Google”" in page
    assert "Not configured (set MICROSOFT_OAUTH_CLIENT_ID" in page


def test_the_edit_page_of_an_oauth_mailbox_changes_only_its_name_and_cap(providers, browser, rep, run_tasks):
    connect(browser, providers, run_tasks, login="rep@acme.example")
    mailbox = Mailbox.objects.get(email="rep@acme.example")

    answer = browser.post(f"/mailboxes/{mailbox.pk}/edit/", {"display_name": "Rep A", "daily_limit": "900",
                                                            "minute_limit": "20", "smtp_host": "evil.example"})

    assert answer.status_code == 302
    mailbox.refresh_from_db()
    assert (mailbox.display_name, mailbox.daily_limit, mailbox.status) == ("Rep A", 900, "connected")
    assert mailbox.minute_limit == 20
    assert mailbox.smtp_host != "evil.example"
