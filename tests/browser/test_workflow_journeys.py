"""Chromium: a sequence's Automation tab creates a workflow and toggles it off and on; the Workflows tool."""
from __future__ import annotations

import pytest

from contacts_app.services import contact_create
from sequences_app.models import StepType
from tests.browser.conftest import shot
from tests.factories import MailboxFactory, SeatFactory, SequenceFactory, SequenceStepFactory, UserFactory
from workflows_app.models import Workflow, WorkflowRun
from workflows_app.tests.helpers import drain

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    """Events are processed by `drain()` in the test's thread, never by a worker through the broker."""
    monkeypatch.setattr("workflows_app.events._enqueue", lambda event_id: None)

UNLABELLED = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
  .filter(el => !(el.labels && el.labels.length))
  .filter(el => !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
  .map(el => el.outerHTML.slice(0, 120))"""
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture
def erin(transactional_db):
    # An admin: only an admin's workflow may send as the contact's owner.
    user = UserFactory(first_name="Erin", last_name="Enterprise", is_staff=True)
    SeatFactory(user=user, tier="enterprise")
    MailboxFactory(owner=user)
    return user


@pytest.fixture
def intro(erin):
    sequence = SequenceFactory(owner=erin, name="Intro for new leads", visibility="everyone")
    SequenceStepFactory(sequence=sequence, order=1, subject="Hello {{ contact.email }}", body_html="<p>Hi</p>")
    SequenceStepFactory(sequence=sequence, order=2, type=StepType.CALL, delay_days=2, title="Call", subject="",
                        body_html="")
    return sequence


def test_create_a_workflow_on_the_automation_tab_and_toggle_it_off_and_on(login, erin, intro):
    page = login(erin)
    page.goto(f"/sequences/{intro.pk}/")
    page.get_by_role("link", name="Automation").click()
    page.get_by_role("heading", name="New workflow for this sequence").wait_for()
    assert page.evaluate(UNLABELLED) == []
    page.get_by_label("Trigger").select_option("property_matches")
    page.get_by_label("Field").fill("lifecycle_stage")
    page.get_by_label("Operator").select_option("eq")
    page.get_by_label("Value").fill("lead")
    page.get_by_label("Enroll in this sequence").check()
    page.get_by_label("Sender").select_option("contact_owner")
    page.get_by_label("Name (optional)").fill("New leads get the intro")
    page.get_by_role("button", name="Create workflow").click()
    page.get_by_text("Workflow “New leads get the intro” created; it is on.").wait_for()
    switch = page.get_by_role("switch", name="New leads get the intro")
    assert switch.get_attribute("aria-checked") == "true"
    shot(page, "workflows-automation-tab-created")

    switch.click()
    page.get_by_role("switch", name="New leads get the intro").and_(page.locator("[aria-checked=false]")).wait_for()
    assert not Workflow.objects.get().enabled
    shot(page, "workflows-automation-tab-off")

    page.get_by_role("switch", name="New leads get the intro").click()
    page.get_by_role("switch", name="New leads get the intro").and_(page.locator("[aria-checked=true]")).wait_for()
    assert Workflow.objects.get().enabled
    shot(page, "workflows-automation-tab-on")

    # It works: a new lead is enrolled by the workflow, with its owner as the sender.
    contact = contact_create(email="lead@example.com", owner=erin, lifecycle_stage="lead")
    drain()
    assert WorkflowRun.objects.get().contact == contact
    assert contact.enrollments.get().sequence == intro

    page.get_by_role("link", name="All workflows →").click()
    page.get_by_role("heading", name="Workflows", exact=True).wait_for()
    page.get_by_text("Enroll in “Intro for new leads” (sender: the contact owner)").wait_for()
    shot(page, "workflows-index")
    page.get_by_role("link", name="History of New leads get the intro: 1 contacts entered").click()
    page.get_by_text(f"Enrolled in “Intro for new leads”, sent by {erin}.").wait_for()
    shot(page, "workflows-history")


def test_the_workflow_editor_builds_a_chain_and_fits_a_phone(login, erin, intro):
    page = login(erin)
    page.goto("/workflows/new/")
    page.get_by_label("Workflow name").fill("Lead nurture")
    page.get_by_label("Start when").select_option("property_matches")
    page.get_by_label("Value").fill("lead")
    page.locator("[data-action]").first.get_by_label("Sequence").select_option(str(intro.pk))
    page.get_by_role("button", name="+ Wait").click()
    page.get_by_label("Wait this many days").fill("2")
    page.get_by_role("button", name="+ Set a property value").click()
    page.get_by_label("Property", exact=True).fill("lifecycle_stage")
    page.get_by_label("Value").last.fill("marketingqualifiedlead")
    page.get_by_label("On: run for contacts").check()
    assert page.evaluate(UNLABELLED) == []
    shot(page, "workflows-editor")
    page.get_by_role("button", name="Save workflow").click()
    page.get_by_text("Workflow “Lead nurture” saved and on.").wait_for()
    flow = Workflow.objects.get()
    assert [a["type"] for a in flow.actions] == ["enroll_in_sequence", "delay", "set_property"]
    phone = login(erin, width=390, height=844)
    phone.goto(f"/workflows/{flow.pk}/")
    assert phone.evaluate(OVERFLOW) <= 0
    shot(phone, "workflows-editor-phone")
