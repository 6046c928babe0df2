"""The Gmail extension (extensions/chrome/), unpacked in Debian's Chromium, against Gmail-shaped pages.

Playwright serves https://mail.google.com/ from tests/browser/inbox_fixtures/ (so the real
manifest's content script matches), and the extension talks to the live server. Every journey
is checked through the API afterwards.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from accounts_app.models import PrivateApp
from accounts_app.private_apps import extension_token_create
from extensions.build import build
from sequences_app.models import Enrollment
from tests.browser.conftest import ARTIFACTS
from tests.factories import (
    ContactFactory,
    MailboxFactory,
    SeatFactory,
    SequenceFactory,
    SequenceStepFactory,
    UserFactory,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FIXTURES = Path(__file__).parent / "inbox_fixtures"
THREAD_URL = "https://mail.google.com/mail/u/0/#inbox/FMfcgzQbdrxv"
COMPOSE_URL = "https://mail.google.com/mail/u/0/?compose=new"


@dataclass
class Inbox:
    context: object
    worker: object
    extension_id: str
    nudge_url: str

    def page(self, url: str):
        page = self.context.new_page()
        page.goto(url)
        return page

    def connect_as(self, user) -> PrivateApp:
        """What the connect page leaves behind, without the pages (test_connecting… walks them)."""
        app, token = extension_token_create(user=user, client="gmail")
        self.worker.evaluate(
            "(values) => chrome.storage.local.set(values)",
            {"nudgeUrl": self.nudge_url, "token": token, "user": user.email},
        )
        return app


def _gmail(route) -> None:
    name = "gmail_compose.html" if "compose=" in route.request.url else "gmail_thread.html"
    route.fulfill(body=(FIXTURES / name).read_text(), content_type="text/html; charset=utf-8")


@pytest.fixture
def inbox(playwright, live_server, settings, tmp_path):
    unpacked = tmp_path / "nudge-for-gmail"
    build(live_server.url, unpacked)
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"),
        executable_path=shutil.which("chromium"),
        headless=False,  # the "new" headless mode below runs extensions; the old one doesn't
        ignore_default_args=["--disable-extensions"],
        args=[
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            # Chromium 137+ ignores --load-extension unless this feature is off.
            "--disable-features=DisableLoadExtensionCommandLineSwitch",
            f"--disable-extensions-except={unpacked}", f"--load-extension={unpacked}",
        ],
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(30_000)
    worker = context.service_workers[0] if context.service_workers else context.wait_for_event("serviceworker")
    extension_id = worker.url.split("/")[2]
    origin = f"chrome-extension://{extension_id}"
    settings.EXTENSION_ORIGINS = [origin]
    settings.CORS_ALLOWED_ORIGINS = [origin]
    context.route("https://mail.google.com/**", _gmail)
    yield Inbox(context, worker, extension_id, live_server.url)
    context.close()


@pytest.fixture
def alice(transactional_db):
    user = UserFactory(username="alice", email="alice@example.com", first_name="Alice", last_name="Anders")
    SeatFactory(user=user)
    MailboxFactory(owner=user, email="alice@example.com")
    return user


@pytest.fixture
def intro(alice):
    sequence = SequenceFactory(owner=alice, name="Post-conference follow-up")
    SequenceStepFactory(sequence=sequence, order=1, subject="Great meeting you, {{ contact.first_name }}")
    SequenceStepFactory(sequence=sequence, order=2, delay_days=2, subject="", body_html="<p>Bumping this.</p>")
    return sequence


def _api(user, method: str, path: str, data: dict | None = None):
    client = Client()
    client.force_login(user)
    if method == "get":
        return client.get(f"/api/v1{path}")
    return getattr(client, method)(f"/api/v1{path}", data=json.dumps(data or {}), content_type="application/json")


def _shot(target, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    target.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_connecting_hands_a_scoped_token_to_the_extension_and_disconnect_revokes_it(inbox, alice):
    client = Client()
    client.force_login(alice)
    inbox.context.add_cookies([{
        "name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": inbox.nudge_url,
    }])
    options = inbox.page(f"chrome-extension://{inbox.extension_id}/options.html")
    options.get_by_label("Your Nudge address").fill(inbox.nudge_url)
    with inbox.context.expect_page() as opened:
        options.get_by_role("button", name="Connect").click()
    approval = opened.value
    approval.get_by_role("button", name="Approve Nudge for Gmail").click()
    approval.get_by_text("Connected. You can close this tab").wait_for()
    _shot(approval, "extension-connect-done")

    app = PrivateApp.objects.get(user=alice)
    assert (app.name, app.scopes) == ("Nudge for Gmail", ["nudge.api.read", "nudge.api.write"])
    assert "pat-nudge-" not in approval.content()  # the page forgot the token once handed over
    token = inbox.worker.evaluate("async () => (await chrome.storage.local.get('token')).token")
    assert Client().get("/api/v1/users/me/", HTTP_AUTHORIZATION=f"Bearer {token}").json()["username"] == "alice"
    options.get_by_test_id("connected-as").wait_for()
    assert "alice@example.com" in options.get_by_test_id("connected-as").inner_text()

    options.get_by_role("button", name="Disconnect").click()
    options.get_by_label("Your Nudge address").wait_for()
    assert not PrivateApp.objects.filter(user=alice).exists()
    assert Client().get("/api/v1/users/me/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_the_panel_creates_a_contact_prefilled_from_the_open_thread(inbox, alice):
    inbox.connect_as(alice)
    gmail = inbox.page(THREAD_URL)
    panel = gmail.frame_locator("#nudge-side-panel")
    assert panel.get_by_label("First name").input_value() == "Maria"
    assert panel.get_by_label("Last name").input_value() == "Mäkinen"
    assert panel.get_by_label("Email", exact=True).input_value() == "maria@acme.example"
    # Gmail's own scripts can neither message the extension nor look into its panel.
    assert gmail.evaluate("() => !(window.chrome && chrome.runtime && chrome.runtime.sendMessage)")
    assert gmail.evaluate("() => document.getElementById('nudge-side-panel').contentDocument === null")
    panel.get_by_label("Job title").fill("CTO")
    panel.get_by_role("button", name="Create contact").click()
    panel.get_by_test_id("contact-card").wait_for()
    _shot(gmail, "extension-gmail-panel")

    [contact] = _api(alice, "get", "/contacts/?email=maria@acme.example").json()["results"]
    assert (contact["first_name"], contact["last_name"], contact["job_title"]) == ("Maria", "Mäkinen", "CTO")
    assert contact["owner"] == alice.pk


def test_compose_enrolls_a_new_recipient_after_asking_for_a_missing_token(inbox, alice):
    sequence = SequenceFactory(owner=alice, name="Demo follow-up")
    SequenceStepFactory(sequence=sequence, order=1, subject="Hello {{ contact.first_name }} at {{ contact.job_title }}")
    inbox.connect_as(alice)
    gmail = inbox.page(COMPOSE_URL)
    gmail.get_by_role("button", name="Sequences").click()
    dialog = gmail.frame_locator("#nudge-compose-dialog")
    dialog.get_by_text("Recipients: maria@acme.example").wait_for()
    dialog.get_by_label("Sequence").fill("Demo")
    dialog.locator("#sequence option", has_text="Demo follow-up").wait_for(state="attached")
    dialog.get_by_label("Time zone").fill("Europe/Helsinki")
    dialog.get_by_label("Create contacts for recipients who aren't in Nudge").check()
    dialog.get_by_role("button", name="Enroll").click()
    dialog.get_by_label("contact.job_title").fill("Head of Sales")
    _shot(gmail, "extension-compose-dialog")
    dialog.get_by_role("button", name="Enroll with these values").click()
    dialog.get_by_test_id("enrolled").wait_for()
    assert "maria@acme.example" in dialog.get_by_test_id("enrolled").inner_text()

    [contact] = _api(alice, "get", "/contacts/?email=maria@acme.example").json()["results"]
    [enrollment] = _api(alice, "get", f"/enrollments/?contact={contact['id']}").json()["results"]
    assert (enrollment["sequence"], enrollment["status"], enrollment["time_zone"]) == (
        sequence.pk, "active", "Europe/Helsinki"
    )
    assert Enrollment.objects.get(pk=enrollment["id"]).token_values == {"contact.job_title": "Head of Sales"}


def test_compose_shows_nudges_sentence_when_it_refuses_a_recipient(inbox, alice, intro):
    ContactFactory(email="maria@acme.example", first_name="Maria", owner=alice, unsubscribed=True)
    inbox.connect_as(alice)
    gmail = inbox.page(COMPOSE_URL)
    gmail.get_by_role("button", name="Sequences").click()
    dialog = gmail.frame_locator("#nudge-compose-dialog")
    dialog.locator("#sequence option", has_text="Post-conference follow-up").wait_for(state="attached")
    dialog.get_by_role("button", name="Enroll").click()
    refusal = dialog.locator("[data-testid=refusal][data-code=UNSUBSCRIBED]")
    refusal.wait_for()

    dry = _api(alice, "post", f"/sequences/{intro.pk}/enrollments/", {
        "contacts": [ContactFactory._meta.model.objects.get(email="maria@acme.example").pk], "dry_run": True,
    }).json()
    assert dry["rejected"][0]["message"] in refusal.inner_text()
    assert _api(alice, "get", f"/enrollments/?sequence={intro.pk}").json()["count"] == 0


def test_the_panel_pauses_and_unenrolls_the_threads_contact(inbox, alice, intro):
    contact = ContactFactory(email="maria@acme.example", first_name="Maria", last_name="Mäkinen", owner=alice)
    answer = _api(alice, "post", f"/sequences/{intro.pk}/enrollments/", {"contacts": [contact.pk]})
    [enrolled] = answer.json()["enrolled"]
    inbox.connect_as(alice)
    gmail = inbox.page(THREAD_URL)
    panel = gmail.frame_locator("#nudge-side-panel")
    panel.get_by_role("heading", name="Post-conference follow-up").wait_for()
    assert panel.get_by_test_id("owner").inner_text() == "Alice Anders"
    panel.get_by_role("button", name="Pause").click()
    panel.locator("[data-testid=enrollment][data-status=paused]").wait_for()
    assert _api(alice, "get", f"/enrollments/{enrolled['id']}/").json()["status"] == "paused"
    _shot(gmail, "extension-gmail-panel-enrollment")

    panel.get_by_role("button", name="Unenroll").click()
    panel.get_by_test_id("no-enrollment").wait_for()
    assert _api(alice, "get", f"/enrollments/{enrolled['id']}/").json()["status"] == "unenrolled"


def test_compose_shows_the_whole_request_refusal_for_two_recipients_without_the_bulk_permission(inbox, alice, intro):
    ContactFactory(email="maria@acme.example", owner=alice)
    ContactFactory(email="bob@acme.example", owner=alice)
    inbox.connect_as(alice)
    inbox.context.unroute("https://mail.google.com/**")
    two = (FIXTURES / "gmail_compose.html").read_text().replace(
        '<div class="afV" data-hovercard-id="maria@acme.example"',
        '<div class="afV" data-hovercard-id="bob@acme.example" data-name="Bob Berg"></div>'
        '<div class="afV" data-hovercard-id="maria@acme.example"',
    )
    inbox.context.route("https://mail.google.com/**", lambda route: route.fulfill(body=two, content_type="text/html"))
    gmail = inbox.page(COMPOSE_URL)
    gmail.get_by_role("button", name="Sequences").click()
    dialog = gmail.frame_locator("#nudge-compose-dialog")
    dialog.get_by_text("Recipients: bob@acme.example, maria@acme.example").wait_for()
    dialog.locator("#sequence option", has_text="Post-conference follow-up").wait_for(state="attached")
    dialog.get_by_role("button", name="Enroll").click()
    refusal = dialog.locator("[data-testid=refusal][data-code=BULK_PERMISSION_REQUIRED]")
    refusal.wait_for()
    assert "bulk" in refusal.inner_text().lower()
    assert _api(alice, "get", f"/enrollments/?sequence={intro.pk}").json()["count"] == 0
