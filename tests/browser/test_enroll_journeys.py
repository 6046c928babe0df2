"""End-to-end enrollment journeys in Chromium: every entry point leads to the same review screen."""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from contacts_app.models import ContactList, ListMembership
from sequences_app.models import Enrollment, StepType
from tests.browser.conftest import shot
from tests.factories import (
    CompanyFactory,
    ContactFactory,
    DealFactory,
    MailboxFactory,
    SeatFactory,
    SequenceFactory,
    SequenceStepFactory,
    UserFactory,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def seller(transactional_db):
    user = UserFactory(first_name="Alice", last_name="Anders", can_bulk_enroll=True)
    SeatFactory(user=user)
    MailboxFactory(owner=user)
    return user


@pytest.fixture
def intro(seller):
    sequence = SequenceFactory(owner=seller, name="Post-conference follow-up")
    SequenceStepFactory(sequence=sequence, order=1, subject="Great meeting you, {{ contact.first_name }}")
    SequenceStepFactory(
        sequence=sequence, order=2, type=StepType.CALL, delay_days=2, title="Call {{ contact.first_name }}",
        subject="", body_html="",
    )
    SequenceStepFactory(sequence=sequence, order=3, delay_days=3, subject="", body_html="<p>Bumping this up.</p>")
    return sequence


def _settled(page):
    """Wait until no htmx preview is in flight (its answer replaces the review screen)."""
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


def _confirm(page):
    _settled(page)
    page.get_by_role("button", name="Enroll", exact=False).filter(has_text=" of ").click()
    page.get_by_test_id("confirm-enroll").click()
    page.get_by_test_id("result-heading").wait_for()


def test_enroll_one_contact_from_its_record(login, seller, intro):
    contact = ContactFactory(first_name="Maria", last_name="Mäkinen", owner=seller)
    page = login(seller)
    page.goto(f"/contacts/{contact.pk}/")
    page.get_by_role("button", name="More ▾").click()
    page.get_by_role("menuitem", name="Enroll in a sequence").click()
    page.get_by_role("button", name="Next").click()
    page.get_by_text("1 of 1 contact ready").wait_for()
    shot(page, "enroll-record-review")
    _confirm(page)
    assert "1 enrolled" in page.get_by_test_id("result-heading").inner_text()
    shot(page, "enroll-record-result")
    assert Enrollment.objects.filter(contact=contact, sequence=intro, status="active").exists()


def test_bulk_enroll_from_the_contacts_index_with_a_bounced_contact(login, seller, intro):
    ContactFactory(first_name="Ann", last_name="A", owner=seller)
    ContactFactory(first_name="Ben", last_name="B", owner=seller)
    ContactFactory(
        first_name="Bob", last_name="Bounce", owner=seller, email_bounced=True, bounce_reason="550 no such user"
    )
    page = login(seller)
    page.goto("/contacts/")
    page.get_by_label("Select all contacts on this page").check()
    page.get_by_role("button", name="Enroll in sequence").click()
    page.get_by_role("button", name="Next").click()
    page.get_by_text("2 of 3 contacts ready").wait_for()
    assert "550 no such user" in page.get_by_test_id("verdicts").inner_text()
    shot(page, "enroll-index-review")
    _confirm(page)
    assert "2 enrolled, 1 not enrolled" in page.get_by_test_id("result-heading").inner_text()
    assert "Bounced" in page.get_by_test_id("rejected").inner_text()
    shot(page, "enroll-index-result")
    assert Enrollment.objects.filter(sequence=intro).count() == 2


def test_a_whole_list_with_select_all_and_one_contact_removed(login, seller, intro):
    contact_list = ContactList.objects.create(name="Trade show", kind="static", created_by=seller)
    contacts = [ContactFactory(first_name=f"Lena{i}", owner=seller) for i in range(4)]
    for contact in contacts:
        ListMembership.objects.create(contact_list=contact_list, contact=contact)
    page = login(seller)
    page.goto(f"/lists/{contact_list.pk}/")
    page.get_by_label("Select all contacts on this page").check()
    page.get_by_role("button", name="Select all 4 contacts").click()
    page.get_by_role("button", name="Enroll in sequence").click()
    page.get_by_role("button", name="Next").click()
    page.get_by_text("4 of 4 contacts ready").wait_for()
    page.get_by_role("button", name=f"Remove {contacts[0]}").click()
    page.get_by_text("3 of 3 contacts ready").wait_for()
    shot(page, "enroll-list-review")
    _confirm(page)
    assert Enrollment.objects.filter(sequence=intro).count() == 3
    assert not Enrollment.objects.filter(contact=contacts[0]).exists()


def test_enroll_from_a_deal_through_an_associated_contact(login, seller, intro):
    company = CompanyFactory(name="Acme Oy")
    contact = ContactFactory(first_name="Jussi", company=company)
    deal = DealFactory(name="Acme annual", company=company)
    deal.contacts.add(contact)
    empty_deal = DealFactory(name="Nobody's deal")
    page = login(seller)
    page.goto(f"/deals/{empty_deal.pk}/")
    assert "has no associated contacts" in page.content()
    page.goto(f"/deals/{deal.pk}/")
    page.get_by_role("button", name="Enroll a contact in a sequence").click()
    page.get_by_label("Associated contact", exact=True).select_option(str(contact.pk))
    page.get_by_role("button", name="Next").click()
    page.get_by_text("1 of 1 contact ready").wait_for()
    _confirm(page)
    shot(page, "enroll-deal-result")
    assert Enrollment.objects.filter(contact=contact).exists()


def test_missing_tokens_fill_one_then_update_all(login, seller, intro):
    no_name = [ContactFactory(first_name="", last_name=f"Nameless{i}", owner=seller) for i in range(3)]
    page = login(seller)
    query = "&".join(f"contacts={c.pk}" for c in no_name)
    page.goto(f"/enroll/?sequence={intro.pk}&{query}")
    page.get_by_text("0 of 3 contacts ready").wait_for()
    page.get_by_role("button", name=f"Fill contact.first_name for {no_name[0]}").click()
    page.get_by_role("textbox", name=f"contact.first_name for {no_name[0]}").fill("Maija")
    page.get_by_role("textbox", name=f"contact.first_name for {no_name[0]}").press("Tab")
    page.get_by_text("1 of 3 contacts ready").wait_for()
    shot(page, "enroll-tokens-one-filled")
    page.get_by_label("Value of contact.first_name for everyone who lacks it").fill("there")
    page.get_by_role("button", name="Update all").click()
    page.get_by_text("3 of 3 contacts ready").wait_for()
    _confirm(page)
    values = {e.contact_id: e.token_values for e in Enrollment.objects.all()}
    assert values[no_name[0].pk] == {"contact.first_name": "Maija"}
    assert values[no_name[1].pk] == {"contact.first_name": "there"}


def test_send_later_at_a_chosen_time_and_start_at_step_two(login, seller, intro):
    contact = ContactFactory(first_name="Hank", time_zone="Europe/Helsinki")
    page = login(seller)
    page.goto(f"/enroll/?sequence={intro.pk}&contacts={contact.pk}")
    page.get_by_label("Start at").select_option("2")
    page.get_by_text("1 of 1 contact ready").wait_for()
    page.get_by_text("Send later").click()
    # A Monday about two months ahead: send_at may be at most a year away.
    day = datetime.now(ZoneInfo("Europe/Helsinki")).date() + timedelta(days=60)
    day += timedelta(days=-day.weekday())
    page.get_by_label("Date").fill(day.isoformat())
    page.get_by_label("Time", exact=True).fill("09:30")
    page.get_by_label("Time", exact=True).press("Tab")
    page.get_by_text(f"Mon {day.day} {day:%b %Y}, 09:30").wait_for()
    shot(page, "enroll-send-later-step-2")
    _confirm(page)
    enrollment = Enrollment.objects.get(contact=contact)
    assert enrollment.status == "scheduled"
    assert enrollment.start_step == 2
    expected = datetime.combine(day, time(9, 30), tzinfo=ZoneInfo("Europe/Helsinki")).astimezone(UTC)
    assert enrollment.next_action_at == expected


def test_fifty_one_contacts_are_refused(login, seller, intro):
    for i in range(51):
        ContactFactory(first_name=f"Bulk{i:02d}", owner=seller)
    page = login(seller)
    page.goto("/contacts/")
    page.get_by_label("Select all contacts on this page").check()
    page.get_by_role("button", name="Select all 51 contacts").click()
    page.get_by_role("button", name="Enroll in sequence").click()
    page.get_by_role("button", name="Next").click()
    error = page.get_by_test_id("request-error")
    error.wait_for()
    assert "at most 50 contacts" in error.inner_text()
    shot(page, "enroll-51-refused")
    assert page.get_by_role("button", name="Enroll 0 of 51 contacts").is_disabled()
    assert not Enrollment.objects.exists()


def test_edit_an_email_for_one_contact_and_for_everyone(login, seller, intro):
    first = ContactFactory(first_name="Eeva", owner=seller)
    second = ContactFactory(first_name="Olli", owner=seller)
    page = login(seller)
    page.goto(f"/enroll/?sequence={intro.pk}&contacts={first.pk}&contacts={second.pk}")
    page.get_by_text("2 of 2 contacts ready").wait_for()
    page.locator(".contact-nav .pick", has_text="Eeva").click()
    page.get_by_text(f"Emails and tasks for {first}").wait_for()
    _settled(page)
    page.locator(".step-editors").get_by_label("Subject").first.fill("Eeva, just for you")
    page.locator(".contact-nav .pick", has_text="All contacts").click()
    page.get_by_text("Emails and tasks for all contacts").wait_for()
    _settled(page)
    # Eeva's edit now travels as a hidden field while everyone's emails are on screen.
    page.locator(f'input[type=hidden][name="co.{first.pk}.1.subject"]').wait_for(state="attached")
    page.locator(".step-editors").get_by_label("Subject").first.fill("Hello everyone")
    page.locator(".step-editors").get_by_label("Send task").fill("4")
    page.locator(".step-editors").get_by_label("Send task").press("Tab")
    _settled(page)
    page.get_by_text("2 of 2 contacts ready").wait_for()
    shot(page, "enroll-edit-per-contact")
    _confirm(page)
    overrides = {e.contact_id: e.step_overrides for e in Enrollment.objects.all()}
    assert overrides[first.pk].get("1", {}).get("subject") == "Eeva, just for you", overrides
    assert overrides[second.pk]["1"]["subject"] == "Hello everyone"
    assert overrides[second.pk]["2"]["delay_days"] == 4
