"""In Chromium: a rep makes a token on Settings → Private apps, calls the HubSpot API with it, then revokes it."""
from __future__ import annotations

import pytest
from django.test import Client

from tests.browser.conftest import shot
from tests.factories import MailboxFactory, SeatFactory, SequenceFactory, UserFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

UNLABELLED = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
  .filter(el => !(el.labels && el.labels.length) && !el.closest('fieldset'))
  .map(el => el.outerHTML.slice(0, 120))"""
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def test_a_rep_makes_uses_and_revokes_a_private_app_token(login):
    rep = UserFactory(first_name="Rita", last_name="Rep")
    SeatFactory(user=rep)
    MailboxFactory(owner=rep)
    SequenceFactory(owner=rep, name="Demo follow-up")
    page = login(rep)
    page.goto("/")
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Name").fill("Zapier")
    page.get_by_label("automation.sequences.read").check()
    page.get_by_role("button", name="Create token").click()
    token = page.get_by_label("Your token").input_value()
    assert token.startswith("pat-nudge-")
    assert page.evaluate(UNLABELLED) == []
    shot(page, "private-apps-created")

    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    listed = api.get("/automation/v4/sequences", {"userId": rep.pk}).json()
    assert [row["name"] for row in listed["results"]] == ["Demo follow-up"]

    page.goto("/settings/")
    assert token not in page.content()
    assert page.get_by_test_id("private-app").filter(has_text="Zapier").count() == 1
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke Zapier").click()
    page.get_by_text("Token Zapier revoked").wait_for()
    assert api.get("/automation/v4/sequences", {"userId": rep.pk}).status_code == 401

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/settings/")
    assert page.evaluate(OVERFLOW) <= 0
    shot(page, "private-apps-phone")
