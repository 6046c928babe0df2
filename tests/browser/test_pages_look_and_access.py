"""Every main page at 1280 px and at phone width: screenshots, labelled inputs, keyboard dialogs."""
from __future__ import annotations

import pytest

from contacts_app.models import ContactList, ListMembership
from sequences_app.models import StepType
from tests.browser.conftest import shot
from tests.factories import (
    CompanyFactory,
    ContactFactory,
    DealFactory,
    MailboxFactory,
    SeatFactory,
    SequenceFactory,
    SequenceStepFactory,
    TaskFactory,
    UserFactory,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

UNLABELLED = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
  .filter(el => !(el.labels && el.labels.length))
  .filter(el => !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
  .map(el => el.outerHTML.slice(0, 120))"""
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture
def admin(transactional_db):
    user = UserFactory(first_name="Ada", last_name="Admin", is_staff=True, is_superuser=True, can_bulk_enroll=True)
    SeatFactory(user=user, tier="enterprise")
    MailboxFactory(owner=user)
    return user


@pytest.fixture
def pages(admin):
    company = CompanyFactory(name="Acme Oy")
    contacts = [
        ContactFactory(first_name=name, last_name="Mäkinen", company=company, owner=admin, lifecycle_stage="lead")
        for name in ("Maria", "Jussi", "Aino")
    ]
    sequence = SequenceFactory(owner=admin, name="Post-conference follow-up", visibility="everyone")
    SequenceStepFactory(sequence=sequence, order=1)
    SequenceStepFactory(sequence=sequence, order=2, type=StepType.CALL, delay_days=2, title="Call", subject="",
                        body_html="", priority="high")
    deal = DealFactory(name="Acme annual plan", company=company)
    deal.contacts.add(contacts[0])
    contact_list = ContactList.objects.create(name="Trade show", kind="static", created_by=admin)
    ListMembership.objects.create(contact_list=contact_list, contact=contacts[0])
    TaskFactory(owner=admin, contact=contacts[0], title="Call Maria", priority="high")
    return {
        "contacts": "/contacts/",
        "contact": f"/contacts/{contacts[0].pk}/",
        "deal": f"/deals/{deal.pk}/",
        "list": f"/lists/{contact_list.pk}/",
        "sequences": "/sequences/",
        "sequence": f"/sequences/{sequence.pk}/",
        "performance": f"/sequences/{sequence.pk}/performance/",
        "editor": f"/sequences/{sequence.pk}/edit/",
        "review": f"/enroll/?sequence={sequence.pk}&contacts={contacts[0].pk}&contacts={contacts[1].pk}",
        "tasks": "/tasks/",
        "mailboxes": "/mailboxes/",
        "settings": "/settings/",
        "portal": "/settings/?tab=portal",
    }


def test_every_page_is_labelled_and_fits_at_1280_and_phone_width(login, admin, pages):
    for width, suffix in ((1280, "desktop"), (390, "phone")):
        page = login(admin, width=width, height=844)
        for name, url in pages.items():
            page.goto(url)
            assert page.evaluate(UNLABELLED) == [], f"{name} at {width}px"
            assert page.evaluate(OVERFLOW) <= 1, f"{name} overflows at {width}px"
            if suffix == "desktop" or name in ("contacts", "contact", "review", "sequences"):
                shot(page, f"page-{name}-{suffix}")


def test_dialogs_open_from_the_keyboard_trap_focus_and_close_on_escape(login, admin, pages):
    page = login(admin)
    page.goto(pages["contact"])
    opener = page.get_by_role("button", name="Log meeting")
    opener.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("dialog#log-meeting")
    assert dialog.evaluate("d => d.open")
    for _ in range(8):
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.closest('dialog') !== null")
    page.keyboard.press("Escape")
    assert not dialog.evaluate("d => d.open")
    assert page.evaluate("() => document.activeElement.textContent.trim()") == "Log meeting"


def test_the_sequence_page_opens_the_enroll_panel_and_searches(login, admin, pages):
    page = login(admin)
    page.goto(pages["sequence"])
    page.get_by_role("button", name="Enroll contacts").click()
    results = page.locator("#pick-results")
    results.get_by_text("Maria Mäkinen").wait_for()
    page.get_by_label("Search contacts").fill("Jussi")
    results.get_by_text("Maria Mäkinen").wait_for(state="detached")
    results.get_by_text("Jussi Mäkinen").click()
    page.get_by_label("Search contacts").fill("Aino")
    results.get_by_text("Aino Mäkinen").wait_for()
    results.get_by_text("Aino Mäkinen").click()
    # The ticked contact stays ticked across searches.
    assert results.get_by_label("Jussi Mäkinen", exact=False).is_checked()
    shot(page, "enroll-panel")
    page.get_by_role("button", name="Next").click()
    page.get_by_text("2 of 2 contacts ready").wait_for()
