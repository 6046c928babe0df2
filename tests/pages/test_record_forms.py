"""Creating and editing contacts, companies, deals and tickets in the pages, through the API's services."""
from __future__ import annotations

import pytest

from contacts_app.models import Company, Contact, Deal, Ticket
from tests.factories import CompanyFactory, ContactFactory, DealFactory, TicketFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_rep_creates_a_contact_and_lands_on_its_page(rep_client, rep):
    company = CompanyFactory(name="Acme Oy")
    response = rep_client.post("/new/contact/", {
        "email": " Ann@Acme.Example ", "first_name": "Ann", "last_name": "Lee", "company": "acme oy",
        "lifecycle_stage": "lead", "time_zone": "Europe/Helsinki", "owner": rep.pk,
    })
    contact = Contact.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/contacts/{contact.pk}/"
    # The service normalised the address, the form found the company by name.
    assert (contact.email, contact.company, contact.owner, contact.time_zone) == (
        "ann@acme.example", company, rep, "Europe/Helsinki")


def test_the_service_s_refusals_are_shown_beside_their_fields_and_nothing_is_saved(rep_client):
    taken = ContactFactory(email="ann@acme.example")
    response = rep_client.post("/new/contact/", {"email": "ANN@acme.example", "time_zone": "Mars/Olympus"})
    assert response.status_code == 400
    html = response.content.decode()
    assert f"Contact {taken.pk} already has this email address." in html
    assert "is not an IANA time zone such as" in html
    assert 'role="alert"' in html
    assert "VALIDATION_ERROR" not in html
    assert Contact.objects.count() == 1


def test_an_unknown_company_name_is_refused_with_a_sentence(rep_client):
    response = rep_client.post("/new/contact/", {"email": "bo@acme.example", "company": "Nobody Ltd"})
    assert response.status_code == 400
    assert "No company is called “Nobody Ltd”" in response.content.decode()
    assert not Contact.objects.exists()


def test_the_edit_form_is_filled_in_and_saving_changes_only_the_contact(rep_client):
    contact = ContactFactory(email="ann@acme.example", first_name="Ann", job_title="CTO")
    page = rep_client.get(f"/edit/contact/{contact.pk}/").content.decode()
    assert 'value="ann@acme.example"' in page
    assert 'value="CTO"' in page
    response = rep_client.post(f"/edit/contact/{contact.pk}/", {"email": "ann@acme.example", "first_name": "Anna"})
    assert response.status_code == 302
    contact.refresh_from_db()
    assert (contact.first_name, contact.job_title) == ("Anna", "")


def test_the_contact_form_offers_no_email_standing_and_an_edit_keeps_the_flags(rep_client):
    contact = ContactFactory(email="ann@acme.example", unsubscribed=True, email_bounced=True)
    page = rep_client.get(f"/edit/contact/{contact.pk}/").content.decode()
    assert 'name="unsubscribed"' not in page
    assert 'name="email_bounced"' not in page
    # A hand-made post naming the flag changes nothing about it: the form doesn't take it.
    rep_client.post(f"/edit/contact/{contact.pk}/", {"email": "ann@acme.example", "unsubscribed": ""})
    contact.refresh_from_db()
    assert contact.unsubscribed
    assert contact.email_bounced


def test_a_rep_creates_a_company_with_a_pasted_web_address(rep_client):
    response = rep_client.post("/new/company/", {"name": "Acme", "domain": "https://www.Acme.example/about"})
    company = Company.objects.get()
    assert response["Location"] == f"/companies/{company.pk}/"
    assert company.domain == "acme.example"


def test_a_bad_domain_is_refused_beside_the_domain_field(rep_client):
    response = rep_client.post("/new/company/", {"name": "Acme", "domain": "not a domain"})
    assert response.status_code == 400
    assert "is not a domain like acme.example" in response.content.decode()
    assert not Company.objects.exists()


def test_a_company_name_is_required(rep_client):
    response = rep_client.post("/new/company/", {"name": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


def test_a_rep_creates_and_edits_a_deal(rep_client):
    company = CompanyFactory(name="Acme")
    rep_client.post("/new/deal/", {"name": "Big one", "amount": "24000.00", "stage": "proposal",
                                   "company": str(company.pk)})
    deal = Deal.objects.get()
    assert (str(deal.amount), deal.company) == ("24000.00", company)
    rep_client.post(f"/edit/deal/{deal.pk}/", {"name": "Bigger one", "amount": "", "stage": "won", "company": ""})
    deal.refresh_from_db()
    assert (deal.name, deal.amount, deal.stage, deal.company) == ("Bigger one", None, "won", None)


def test_a_deal_amount_must_be_a_number(rep_client):
    response = rep_client.post("/new/deal/", {"name": "Big one", "amount": "lots"})
    assert response.status_code == 400
    assert "Enter a number." in response.content.decode()


def test_a_rep_creates_a_ticket_whose_status_starts_new(rep_client):
    rep_client.post("/new/ticket/", {"subject": "Login broken", "status": ""})
    assert Ticket.objects.get().status == "new"


def test_another_rep_edits_records_they_do_not_own_the_crm_is_portal_wide(client, rep):
    other = UserFactory()
    client.force_login(other)
    deal = DealFactory(name="Rep's deal", owner=rep)
    response = client.post(f"/edit/deal/{deal.pk}/", {"name": "Renamed", "owner": rep.pk})
    assert response.status_code == 302
    deal.refresh_from_db()
    assert (deal.name, deal.owner) == ("Renamed", rep)


def test_signed_out_visitors_are_sent_to_sign_in_and_nothing_is_created(client):
    response = client.post("/new/contact/", {"email": "ann@acme.example"})
    assert response.status_code == 302
    assert "/login" in response["Location"]
    assert not Contact.objects.exists()


def test_an_unknown_record_type_or_record_is_not_found(rep_client):
    assert rep_client.get("/new/spaceship/").status_code == 404
    assert rep_client.get("/edit/deal/999999/").status_code == 404


@pytest.mark.parametrize("kind", ["deal", "ticket"])
def test_a_contact_is_associated_by_email_and_removed_again(rep_client, kind):
    record = DealFactory() if kind == "deal" else TicketFactory()
    contact = ContactFactory(email="ann@acme.example")
    response = rep_client.post(f"/associate/{kind}/{record.pk}/", {"email": "ANN@acme.example"})
    assert response.status_code == 302
    assert list(record.contacts.all()) == [contact]
    page = rep_client.get(response["Location"]).content.decode()
    assert "is now associated with this" in page
    assert "ann@acme.example" in page
    rep_client.post(f"/associate/{kind}/{record.pk}/remove/{contact.pk}/")
    assert not record.contacts.exists()
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_associating_a_contact_with_a_company_moves_it_from_its_old_company(rep_client):
    old, new = CompanyFactory(), CompanyFactory()
    contact = ContactFactory(email="ann@acme.example", company=old)
    rep_client.post(f"/associate/company/{new.pk}/", {"email": "ann@acme.example"})
    contact.refresh_from_db()
    assert contact.company == new
    rep_client.post(f"/associate/company/{new.pk}/remove/{contact.pk}/")
    contact.refresh_from_db()
    assert contact.company is None


def test_associating_an_unknown_address_says_to_create_the_contact_first(rep_client):
    deal = DealFactory()
    response = rep_client.post(f"/associate/deal/{deal.pk}/", {"email": "nobody@acme.example"}, follow=True)
    assert "No contact has the email address nobody@acme.example" in response.content.decode()
    assert not deal.contacts.exists()


def test_index_and_record_pages_offer_new_and_edit(rep_client):
    deal = DealFactory()
    assert 'href="/new/contact/"' in rep_client.get("/contacts/").content.decode()
    assert 'href="/new/deal/"' in rep_client.get("/deals/").content.decode()
    assert f'href="/edit/deal/{deal.pk}/"' in rep_client.get(f"/deals/{deal.pk}/").content.decode()
