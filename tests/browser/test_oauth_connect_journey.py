"""Connecting a Google mailbox in Chromium: Nudge's button, the local provider's consent page, back in Nudge
with the mailbox connected (its verification run by the task, the card polling until it is done)."""
from __future__ import annotations

import pytest

from config.celery import app
from mailboxes_app.models import Mailbox
from mailboxes_app.tests.oauth_helpers import use_local_mail_servers
from tests.browser.conftest import shot
from tests.factories import SeatFactory, UserFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def eager_tasks():
    """The verification task runs in the live server's thread, as a worker would run it."""
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = eager


def test_a_rep_connects_google_through_the_consent_page_and_comes_back_connected(
    settings, live_server, login, oauth_providers, xoauth2_smtp, eager_tasks
):
    settings.SITE_URL = live_server.url
    use_local_mail_servers(settings, xoauth2_smtp)
    settings.MICROSOFT_OAUTH_CLIENT_ID = ""
    rep = UserFactory(first_name="Riikka", last_name="Rep", email="riikka@acme.example")
    SeatFactory(user=rep)
    oauth_providers.email = "riikka@acme.example"
    page = login(rep)

    page.goto("/mailboxes/")
    assert page.get_by_role("link", name="Connect Microsoft 365").count() == 0
    page.get_by_role("link", name="Connect Google").click()

    page.wait_for_url(f"{oauth_providers.url}/authorize?*")
    assert page.get_by_role("heading", name="Sign in to the local provider").is_visible()
    assert page.get_by_label("Account").input_value() == "riikka@acme.example"
    shot(page, "oauth-consent")
    page.get_by_role("button", name="Allow").click()

    page.wait_for_url(f"{live_server.url}/mailboxes/")
    card = page.get_by_role("region", name="riikka@acme.example")
    card.get_by_test_id("mailbox-status").filter(has_text="Connected").wait_for()
    assert "Google" in card.get_by_test_id("mailbox-provider").inner_text()
    assert page.get_by_text("riikka@acme.example is connected through Google").is_visible()
    shot(page, "oauth-connected")

    mailbox = Mailbox.objects.get(owner=rep)
    assert (mailbox.email, mailbox.provider, mailbox.status) == ("riikka@acme.example", "google", "connected")
    assert xoauth2_smtp.logins == [("riikka@acme.example", True)]


def test_declining_on_the_consent_page_brings_the_rep_back_to_a_sentence(
    settings, live_server, login, oauth_providers, xoauth2_smtp
):
    settings.SITE_URL = live_server.url
    use_local_mail_servers(settings, xoauth2_smtp)
    rep = UserFactory()
    SeatFactory(user=rep)
    page = login(rep)

    page.goto("/mailboxes/")
    page.get_by_role("link", name="Connect Google").click()
    page.get_by_role("button", name="Deny").click()

    page.wait_for_url(f"{live_server.url}/mailboxes/oauth/callback/?*")
    assert "Google did not connect the mailbox: you (or your organisation" in page.get_by_test_id(
        "connect-error"
    ).inner_text()
    assert not Mailbox.objects.filter(owner=rep).exists()
