"""`/api/v1/contacts/`: portal-wide contacts with normalised email, IANA time zones and flat properties."""
from __future__ import annotations

import pytest

from contacts_app import services
from contacts_app.models import Contact
from sequences_app.models import Enrollment
from tests.factories import CompanyFactory, ContactFactory, EnrollmentFactory, UserFactory

pytestmark = pytest.mark.django_db

CONTACT_KEYS = {
    "id", "email", "first_name", "last_name", "job_title", "phone", "company", "owner", "lifecycle_stage",
    "time_zone", "properties", "email_bounced", "bounce_reason", "bounce_code", "unsubscribed", "unsubscribed_sales",
    "marked_spam", "created_at", "updated_at",
}


def test_a_rep_creates_a_contact_and_the_email_is_stored_lower_case(api, rep):
    company = CompanyFactory()

    answer = api.post("/api/v1/contacts/", {
        "email": "  Maria@Acme.Example ", "first_name": "Maria", "company": company.pk, "owner": rep.pk,
        "lifecycle_stage": "lead", "time_zone": "Europe/Helsinki", "properties": {"industry": "Software"},
    }, format="json")

    assert answer.status_code == 201
    body = answer.json()
    assert set(body) == CONTACT_KEYS
    assert body["email"] == "maria@acme.example"
    assert (body["company"], body["owner"]) == (company.pk, rep.pk)
    assert body["properties"] == {"industry": "Software"}
    assert body["created_at"].endswith("Z")


def test_an_email_taken_in_any_case_is_refused(api):
    existing = ContactFactory(email="ann@example.com")
    answer = api.post("/api/v1/contacts/", {"email": "ANN@example.com"}, format="json")
    assert answer.status_code == 400
    assert answer.json()["fields"] == {"email": [f"Contact {existing.pk} already has this email address."]}


def test_a_contact_may_have_no_email(api):
    answer = api.post("/api/v1/contacts/", {"first_name": "Walk-in"}, format="json")
    assert answer.status_code == 201
    assert answer.json()["email"] == ""


@pytest.mark.parametrize(("body", "field"), [
    ({"time_zone": "Europe/Atlantis"}, "time_zone"),
    ({"lifecycle_stage": "prospect"}, "lifecycle_stage"),
    ({"email": "not-an-address"}, "email"),
    ({"company": 987654}, "company"),
    ({"owner": 987654}, "owner"),
    ({"first_name": "x" * 151}, "first_name"),
    ({"properties": {"has space": 1}}, "properties.has space"),
    ({"properties": {"nested": {"a": 1}}}, "properties.nested"),
    ({"properties": ["a"]}, "properties"),
])
def test_bad_contact_fields_are_named(api, body, field):
    answer = api.post("/api/v1/contacts/", body, format="json")
    assert answer.status_code == 400
    assert answer.json()["code"] == "VALIDATION_ERROR"
    assert field in answer.json()["fields"]
    assert not Contact.objects.exists()


def test_patching_properties_merges_and_null_removes_a_key(api):
    contact = ContactFactory(properties={"industry": "Retail", "employees": 7})

    answer = api.patch(f"/api/v1/contacts/{contact.pk}/", {"properties": {"industry": "Software", "employees": None,
                                                                          "vip": True}}, format="json")

    assert answer.json()["properties"] == {"industry": "Software", "vip": True}


def test_patching_the_email_to_another_contacts_is_refused(api):
    ContactFactory(email="taken@example.com")
    contact = ContactFactory(email="mine@example.com")
    answer = api.patch(f"/api/v1/contacts/{contact.pk}/", {"email": "Taken@Example.com"}, format="json")
    assert answer.status_code == 400
    contact.refresh_from_db()
    assert contact.email == "mine@example.com"


def test_patching_keeps_its_own_email(api):
    contact = ContactFactory(email="mine@example.com")
    answer = api.patch(f"/api/v1/contacts/{contact.pk}/", {"email": "MINE@example.com", "phone": "123"}, format="json")
    assert answer.status_code == 200


def test_email_standing_can_be_set_by_hand(api):
    contact = ContactFactory()
    answer = api.patch(f"/api/v1/contacts/{contact.pk}/", {"unsubscribed_sales": True}, format="json")
    assert answer.json()["unsubscribed_sales"] is True


def test_every_user_sees_every_contact(api, admin_user):
    ContactFactory(owner=admin_user, email="owned-by-admin@example.com")
    emails = [row["email"] for row in api.get("/api/v1/contacts/").json()["results"]]
    assert emails == ["owned-by-admin@example.com"]


def test_filter_by_email_ignores_case(api):
    ContactFactory(email="ann@example.com")
    ContactFactory(email="bob@example.com")
    results = api.get("/api/v1/contacts/?email=ANN@example.com").json()["results"]
    assert [row["email"] for row in results] == ["ann@example.com"]


def test_search_matches_every_word_in_names_or_email(api):
    ContactFactory(first_name="Ann", last_name="Smith", email="a1@example.com")
    ContactFactory(first_name="Ann", last_name="Jones", email="a2@example.com")
    ContactFactory(first_name="Bob", last_name="Smith", email="ann.smith.fan@example.com")
    found = {row["email"] for row in api.get("/api/v1/contacts/?search=ann smi").json()["results"]}
    assert found == {"a1@example.com", "ann.smith.fan@example.com"}


def test_filter_by_company_and_owner(api, rep):
    acme = CompanyFactory()
    ContactFactory(email="a@acme.example", company=acme, owner=rep)
    ContactFactory(email="b@acme.example", company=acme)
    ContactFactory(email="c@else.example", owner=rep)
    results = api.get(f"/api/v1/contacts/?company={acme.pk}&owner={rep.pk}").json()["results"]
    assert [row["email"] for row in results] == ["a@acme.example"]


@pytest.mark.parametrize("query", ["company=acme", "owner=-3", f"company={2**64}", "owner=1.5"])
def test_a_malformed_filter_is_a_validation_error(api, query):
    answer = api.get(f"/api/v1/contacts/?{query}")
    assert answer.status_code == 400
    assert query.split("=")[0] in answer.json()["fields"]


def test_deleting_a_contact_goes_through_the_service_and_keeps_enrollment_history(api, monkeypatch):
    contact = ContactFactory()
    enrollment = EnrollmentFactory(contact=contact, status=Enrollment.Status.FINISHED)
    calls = []
    original = services.contact_delete
    monkeypatch.setattr(services, "contact_delete", lambda *, contact: calls.append(contact.pk) or original(
        contact=contact))

    answer = api.delete(f"/api/v1/contacts/{contact.pk}/")

    assert answer.status_code == 204
    assert calls == [contact.pk]
    assert not Contact.objects.filter(pk=contact.pk).exists()
    enrollment.refresh_from_db()
    assert enrollment.contact_id is None


def test_listing_fifty_contacts_takes_two_queries(api, django_assert_max_num_queries):
    owner = UserFactory()
    company = CompanyFactory()
    ContactFactory.create_batch(60, owner=owner, company=company, properties={"x": 1})
    with django_assert_max_num_queries(2):
        answer = api.get("/api/v1/contacts/")
    assert len(answer.json()["results"]) == 50
