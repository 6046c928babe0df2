"""Nudge for Outlook: the manifest against its schema, and the task pane in Chromium with a stand-in Office.js."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema
from django.conf import settings
from django.test import Client

from accounts_app.models import PrivateApp
from accounts_app.private_apps import extension_token_create
from tests.browser.conftest import shot
from tests.factories import (
    ContactFactory,
    MailboxFactory,
    SeatFactory,
    SequenceFactory,
    SequenceStepFactory,
    UserFactory,
)

OUTLOOK = Path(settings.BASE_DIR) / "extensions" / "outlook"
STANDIN = (Path(__file__).parent / "inbox_fixtures" / "office_standin.js").read_text()
OFFICE_JS = "https://appsforoffice.microsoft.com/lib/1/hosted/office.js"
NS = {"o": "http://schemas.microsoft.com/office/appforoffice/1.1"}
MESSAGE = {
    "from": {"displayName": "Maria Mäkinen", "emailAddress": "Maria@acme.example"},
    "to": [{"displayName": "Alice Anders", "emailAddress": "alice@example.com"}],
    "cc": [{"displayName": "Bob Berg", "emailAddress": "bob@acme.example"}],
}


def test_the_outlook_manifest_is_valid_against_the_add_in_schema():
    xmlschema.XMLSchema(str(OUTLOOK / "manifest.xsd")).validate(str(OUTLOOK / "manifest.xml"))


def test_the_schema_check_refuses_a_manifest_that_breaks_it():
    schema = xmlschema.XMLSchema(str(OUTLOOK / "manifest.xsd"))
    manifest = (OUTLOOK / "manifest.xml").read_text()
    assert not schema.is_valid(manifest.replace("<Permissions>ReadItem", "<Permissions>Everything"))
    assert not schema.is_valid(manifest.replace("<Version>1.0.0.0</Version>", ""))
    assert not schema.is_valid(manifest.replace('"https://nudge.example.com/addin/outlook/"', '"http://x/"'))


@pytest.mark.django_db
def test_nudge_serves_the_manifest_with_its_own_address(settings):
    settings.SITE_URL = "https://sales.example.org"
    response = Client().get("/addin/outlook/manifest.xml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    root = ET.fromstring(response.content)  # noqa: S314 (our own answer)
    source = root.find("o:FormSettings/o:Form/o:DesktopSettings/o:SourceLocation", NS).get("DefaultValue")
    assert source == "https://sales.example.org/addin/outlook/"
    assert b"nudge.example.com" not in response.content
    xmlschema.XMLSchema(str(OUTLOOK / "manifest.xsd")).validate(response.content.decode())


@pytest.mark.django_db
def test_the_task_pane_may_be_framed_by_outlook():
    response = Client().get("/addin/outlook/")
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    assert OFFICE_JS in response.content.decode()


def _office(page, message=MESSAGE) -> None:
    body = STANDIN.replace("%ITEM%", json.dumps(message))
    page.context.route(OFFICE_JS, lambda route: route.fulfill(body=body, content_type="text/javascript"))


@pytest.fixture
def alice(transactional_db):
    user = UserFactory(username="alice", email="alice@example.com", first_name="Alice", last_name="Anders")
    SeatFactory(user=user)
    MailboxFactory(owner=user, email="alice@example.com")
    return user


def _api(user, path: str):
    client = Client()
    client.force_login(user)
    return client.get(f"/api/v1{path}").json()


def _signed_in(page, user) -> None:
    _, token = extension_token_create(user=user, client="outlook")
    page.evaluate("([token, user]) => { localStorage.setItem('nudge-outlook-token', token);"
                  " localStorage.setItem('nudge-outlook-user', user); }", [token, user.email])
    page.reload()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_signing_in_from_the_task_pane_approves_a_token_in_an_office_dialog(login, alice):
    page = login(alice)
    _office(page)
    page.goto("/addin/outlook/")
    with page.expect_popup() as opened:
        page.get_by_role("button", name="Connect Nudge").click()
    dialog = opened.value
    dialog.get_by_role("button", name="Approve Nudge for Outlook").click()
    page.get_by_label("First name").wait_for()  # the pane reloaded, signed in
    app = PrivateApp.objects.get(user=alice)
    assert (app.name, app.scopes) == ("Nudge for Outlook", ["nudge.api.read", "nudge.api.write"])

    page.get_by_role("button", name="Disconnect").click()
    page.get_by_role("button", name="Connect Nudge").wait_for()
    assert not PrivateApp.objects.filter(user=alice).exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_task_pane_creates_the_sender_then_pauses_and_unenrolls_them(login, alice):
    sequence = SequenceFactory(owner=alice, name="Post-conference follow-up")
    SequenceStepFactory(sequence=sequence, order=1, subject="Hi {{ contact.first_name }}, {{ contact.job_title }}")
    page = login(alice, width=360, height=900)
    _office(page)
    page.goto("/addin/outlook/")
    _signed_in(page, alice)
    assert page.get_by_label("Person in this email").locator("option").all_inner_texts() == [
        "Maria Mäkinen <maria@acme.example>", "Bob Berg <bob@acme.example>",
    ]
    assert page.get_by_label("Last name").input_value() == "Mäkinen"
    page.get_by_role("button", name="Create contact").click()
    page.get_by_test_id("contact-card").wait_for()

    page.get_by_role("button", name="Enroll in a sequence").click()
    page.locator("#sequence option", has_text="Post-conference follow-up").wait_for(state="attached")
    page.get_by_role("button", name="Enroll", exact=True).click()
    page.get_by_label("contact.job_title").fill("CTO")
    page.get_by_role("button", name="Enroll with these values").click()
    page.get_by_test_id("enrolled").wait_for()
    [contact] = _api(alice, "/contacts/?email=maria@acme.example")["results"]
    [enrollment] = _api(alice, f"/enrollments/?contact={contact['id']}")["results"]
    assert enrollment["status"] == "active"

    page.get_by_role("button", name="Pause").click()
    page.locator("[data-testid=enrollment][data-status=paused]").wait_for()
    assert _api(alice, f"/enrollments/{enrollment['id']}/")["status"] == "paused"
    shot(page, "outlook-taskpane")
    page.get_by_role("button", name="Unenroll").click()
    page.get_by_test_id("no-enrollment").wait_for()
    assert _api(alice, f"/enrollments/{enrollment['id']}/")["status"] == "unenrolled"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_task_pane_shows_nudges_sentence_for_a_refused_contact(login, alice):
    sequence = SequenceFactory(owner=alice, name="Post-conference follow-up")
    SequenceStepFactory(sequence=sequence, order=1)
    ContactFactory(email="maria@acme.example", first_name="Maria", owner=alice, email_bounced=True)
    page = login(alice, width=360, height=900)
    _office(page)
    page.goto("/addin/outlook/")
    _signed_in(page, alice)
    page.get_by_role("button", name="Enroll in a sequence").click()
    page.locator("#sequence option", has_text="Post-conference follow-up").wait_for(state="attached")
    page.get_by_role("button", name="Enroll", exact=True).click()
    refusal = page.locator("[data-testid=refusal][data-code=BOUNCED]")
    refusal.wait_for()
    assert "bounced" in refusal.inner_text().lower()
    assert _api(alice, f"/enrollments/?sequence={sequence.pk}")["count"] == 0
