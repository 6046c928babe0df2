"""Creating a contact and importing a CSV in Chromium, at 1280 px and at phone width (390 px)."""
from __future__ import annotations

import pytest

from contacts_app.models import Contact, ContactImport
from tests.browser.conftest import shot
from tests.factories import CompanyFactory, ContactFactory, SeatFactory, UserFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": 1280, "phone": 390}
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture
def seller(transactional_db):
    user = UserFactory(first_name="Sam", last_name="Seller")
    SeatFactory(user=user)
    return user


@pytest.mark.parametrize("size", WIDTHS)
def test_a_rep_creates_a_contact_fixes_an_error_and_sees_its_page(login, seller, size):
    CompanyFactory(name="Acme Oy")
    ContactFactory(email="taken@acme.example")
    page = login(seller, width=WIDTHS[size])
    page.goto("/contacts/")
    page.get_by_role("link", name="New contact").click()
    page.get_by_label("Email").fill("taken@acme.example")
    page.get_by_label("First name").fill("Maria")
    page.get_by_label("Last name").fill("Mäkinen")
    page.get_by_label("Company").fill("Acme Oy")
    page.get_by_label("Lifecycle stage").select_option("lead")
    page.get_by_role("button", name="Create contact").click()
    alert = page.get_by_role("alert")
    assert "Not saved." in alert.inner_text()
    assert page.get_by_label("Email").get_attribute("aria-invalid") == "true"
    assert "already has this email address" in page.locator(".field.has-error").inner_text()
    shot(page, f"crm-contact-new-error-{size}")
    page.get_by_label("Email").fill("maria@acme.example")
    page.get_by_role("button", name="Create contact").click()
    page.wait_for_url("**/contacts/*/")
    assert page.get_by_role("heading", level=1).inner_text() == "Maria Mäkinen"
    assert page.evaluate(OVERFLOW) <= 0
    shot(page, f"crm-contact-created-{size}")
    contact = Contact.objects.get(email="maria@acme.example")
    assert (contact.company.name, contact.lifecycle_stage) == ("Acme Oy", "lead")


@pytest.mark.parametrize("size", WIDTHS)
def test_the_import_journey_upload_map_preview_run_result(login, seller, size, tmp_path):
    ContactFactory(email="bo@acme.example", first_name="Bo")
    path = tmp_path / "hubspot.csv"
    path.write_text("Record ID,First Name,Email,Lifecycle Stage,Segment\n"
                    "1,Ann,ann@acme.example,Lead,A\n2,Bob,bo@acme.example,Customer,B\n3,Cy,not-an-address,Lead,C\n")
    page = login(seller, width=WIDTHS[size])
    page.goto("/contacts/")
    page.get_by_role("link", name="Import CSV").click()
    page.get_by_label("CSV file (required)").set_input_files(str(path))
    page.get_by_role("button", name="Upload and map columns").click()
    page.wait_for_url("**/contacts/import/*/")
    # HubSpot's headers are recognised; the preview already marks the bad row.
    assert page.get_by_label("Email", exact=True).input_value() == "email"
    assert page.get_by_label("Lifecycle Stage").input_value() == "lifecycle_stage"
    preview = page.locator("#import-preview")
    assert "is not a valid email address" in preview.inner_text()
    # Skipping a column re-renders the preview through htmx.
    page.get_by_label("Segment").select_option("skip")
    page.locator("#import-preview th", has_text="(not imported)").wait_for()
    shot(page, f"crm-import-map-{size}")
    page.get_by_role("button", name="Import 3 rows").click()
    page.get_by_test_id("import-result").wait_for()
    assert page.get_by_test_id("import-created").inner_text() == "1"
    assert page.get_by_test_id("import-updated").inner_text() == "1"
    assert page.get_by_test_id("import-errors").inner_text() == "1"
    assert page.evaluate(OVERFLOW) <= 0
    shot(page, f"crm-import-result-{size}")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the problems as CSV").click()
    assert "not-an-address" in download.value.path().read_text(encoding="utf-8")
    assert ContactImport.objects.get().status == "done"
    assert "segment" not in Contact.objects.get(email="ann@acme.example").properties
