"""Companies, deals, tickets, custom objects and their schemas, and the blocklist over the API."""
from __future__ import annotations

import pytest

from contacts_app.models import BlockedEntry, Company, Contact, CustomObject, ObjectSchema
from tests.factories import (
    CompanyFactory,
    ContactFactory,
    CustomObjectFactory,
    DealFactory,
    ObjectSchemaFactory,
    TicketFactory,
)

pytestmark = pytest.mark.django_db


# --- Companies ------------------------------------------------------------------------------------


def test_a_company_is_created_with_its_contacts_and_a_clean_domain(api):
    ann, bob = ContactFactory(), ContactFactory()

    answer = api.post("/api/v1/companies/", {"name": "Acme Oy", "domain": "https://www.Acme.example/about",
                                             "properties": {"size": "50-200"}, "contacts": [bob.pk, ann.pk]},
                      format="json")

    assert answer.status_code == 201
    body = answer.json()
    assert {key: body[key] for key in ("name", "domain", "properties", "contacts")} == {
        "name": "Acme Oy", "domain": "acme.example", "properties": {"size": "50-200"},
        "contacts": sorted([ann.pk, bob.pk]),
    }
    assert set(Contact.objects.filter(company_id=body["id"]).values_list("pk", flat=True)) == {ann.pk, bob.pk}


def test_setting_a_companys_contacts_moves_them_and_releases_the_others(api):
    acme, globex = CompanyFactory(), CompanyFactory()
    stays, leaves = ContactFactory(company=acme), ContactFactory(company=acme)
    moves = ContactFactory(company=globex)

    answer = api.patch(f"/api/v1/companies/{acme.pk}/", {"contacts": [stays.pk, moves.pk]}, format="json")

    assert sorted(answer.json()["contacts"]) == sorted([stays.pk, moves.pk])
    leaves.refresh_from_db()
    moves.refresh_from_db()
    assert (leaves.company_id, moves.company_id) == (None, acme.pk)


def test_a_company_with_a_bad_domain_or_unknown_contacts_is_refused(api):
    bad_domain = api.post("/api/v1/companies/", {"name": "X", "domain": "not a domain"}, format="json")
    unknown = api.post("/api/v1/companies/", {"name": "X", "contacts": [1, 2, 99999]}, format="json")
    assert "domain" in bad_domain.json()["fields"]
    assert "contacts" in unknown.json()["fields"]
    assert not Company.objects.exists()


def test_deleting_a_company_keeps_its_contacts(api):
    company = CompanyFactory()
    contact = ContactFactory(company=company)
    assert api.delete(f"/api/v1/companies/{company.pk}/").status_code == 204
    contact.refresh_from_db()
    assert contact.company_id is None


def test_listing_companies_costs_three_queries(api, django_assert_max_num_queries):
    for _ in range(30):
        ContactFactory.create_batch(3, company=CompanyFactory())
    with django_assert_max_num_queries(3):
        body = api.get("/api/v1/companies/").json()
    assert all(len(row["contacts"]) == 3 for row in body["results"])


# --- Deals and tickets ----------------------------------------------------------------------------


def test_a_deal_has_an_amount_a_stage_a_company_and_contacts(api):
    company, contact = CompanyFactory(), ContactFactory()

    answer = api.post("/api/v1/deals/", {"name": "Expansion", "amount": "12500.50", "stage": "negotiation",
                                         "company": company.pk, "contacts": [contact.pk]}, format="json")

    assert answer.status_code == 201
    body = answer.json()
    assert {key: body[key] for key in ("name", "amount", "stage", "company", "contacts")} == {
        "name": "Expansion", "amount": "12500.50", "stage": "negotiation", "company": company.pk,
        "contacts": [contact.pk],
    }


def test_a_deal_amount_must_be_a_number_that_fits(api):
    for amount in ("lots", "1e20", "1.234"):
        answer = api.post("/api/v1/deals/", {"name": "X", "amount": amount}, format="json")
        assert answer.status_code == 400
        assert "amount" in answer.json()["fields"]


def test_patching_a_deals_contacts_replaces_them(api):
    deal = DealFactory()
    deal.contacts.add(ContactFactory())
    newcomer = ContactFactory()
    assert api.patch(f"/api/v1/deals/{deal.pk}/", {"contacts": [newcomer.pk]}, format="json").json()["contacts"] == [
        newcomer.pk]


def test_a_ticket_has_a_subject_a_status_and_contacts(api):
    contact = ContactFactory()
    answer = api.post("/api/v1/tickets/", {"subject": "Login broken", "contacts": [contact.pk]}, format="json")
    assert answer.status_code == 201
    assert {key: answer.json()[key] for key in ("subject", "status", "contacts")} == {
        "subject": "Login broken", "status": "new", "contacts": [contact.pk]}


def test_tickets_and_deals_are_deleted(api):
    ticket, deal = TicketFactory(), DealFactory()
    assert api.delete(f"/api/v1/tickets/{ticket.pk}/").status_code == 204
    assert api.delete(f"/api/v1/deals/{deal.pk}/").status_code == 204


# --- Object schemas and custom objects ----------------------------------------------------------


SCHEMA = {
    "name": "project", "label": "Project",
    "properties": [
        {"name": "title", "type": "string"}, {"name": "budget", "type": "number"},
        {"name": "active", "type": "boolean"}, {"name": "starts", "type": "date"},
        {"name": "kickoff", "type": "datetime"},
        {"name": "phase", "type": "enumeration", "options": ["plan", "build", "run"]},
    ],
}


def test_an_admin_defines_an_object_schema(admin_api):
    answer = admin_api.post("/api/v1/object-schemas/", SCHEMA, format="json")
    assert answer.status_code == 201
    assert {key: answer.json()[key] for key in ("name", "label", "properties")} == SCHEMA


@pytest.mark.parametrize(("properties", "field"), [
    ([{"name": "x", "type": "money"}], "properties.0.type"),
    ([{"name": "bad name", "type": "string"}], "properties.0.name"),
    ([{"name": "x", "type": "string"}, {"name": "x", "type": "number"}], "properties.1.name"),
    ([{"name": "x", "type": "enumeration"}], "properties.0.options"),
    ([{"name": "x", "type": "string", "options": ["a"]}], "properties.0.options"),
    (["x"], "properties.0"),
    ({"x": "string"}, "properties"),
])
def test_schema_property_types_are_validated(admin_api, properties, field):
    answer = admin_api.post("/api/v1/object-schemas/", {"name": "thing", "label": "Thing", "properties": properties},
                            format="json")
    assert answer.status_code == 400
    assert field in answer.json()["fields"]


@pytest.mark.parametrize("name", ["company", "deal", "ticket", "contact"])
def test_a_schema_cannot_take_a_built_in_records_name(admin_api, name):
    answer = admin_api.post("/api/v1/object-schemas/", {"name": name, "label": "X"}, format="json")
    assert answer.status_code == 400
    assert "name" in answer.json()["fields"]


def test_schema_names_are_unique(admin_api):
    ObjectSchemaFactory(name="project")
    answer = admin_api.post("/api/v1/object-schemas/", {"name": "Project", "label": "Again"}, format="json")
    assert answer.status_code == 400


def test_a_rep_reads_schemas_but_cannot_change_them(api):
    schema = ObjectSchemaFactory()
    assert api.get("/api/v1/object-schemas/").status_code == 200
    for answer in (
        api.post("/api/v1/object-schemas/", SCHEMA, format="json"),
        api.patch(f"/api/v1/object-schemas/{schema.pk}/", {"label": "Mine"}, format="json"),
        api.delete(f"/api/v1/object-schemas/{schema.pk}/"),
    ):
        assert answer.status_code == 403
        assert answer.json()["code"] == "PERMISSION_DENIED"


@pytest.fixture
def project_schema():
    return ObjectSchema.objects.create(name=SCHEMA["name"], label=SCHEMA["label"], properties=SCHEMA["properties"])


def test_a_record_is_created_with_typed_properties_and_contacts(api, project_schema):
    contact = ContactFactory()
    properties = {"title": "Rollout", "budget": 1200.5, "active": True, "starts": "2026-12-01",
                  "kickoff": "2026-12-01T09:00:00+02:00", "phase": "plan"}

    answer = api.post("/api/v1/objects/project/", {"properties": properties, "contacts": [contact.pk]},
                      format="json")

    assert answer.status_code == 201
    body = answer.json()
    assert (body["properties"], body["contacts"], body["schema"]) == (properties, [contact.pk], "project")
    assert api.get(f"/api/v1/objects/project/{body['id']}/").json()["properties"] == properties


@pytest.mark.parametrize(("properties", "field"), [
    ({"title": 5}, "properties.title"),
    ({"budget": "100"}, "properties.budget"),
    ({"budget": True}, "properties.budget"),
    ({"active": "yes"}, "properties.active"),
    ({"starts": "01.12.2026"}, "properties.starts"),
    ({"kickoff": "2026-12-01T09:00:00"}, "properties.kickoff"),
    ({"phase": "retire"}, "properties.phase"),
    ({"colour": "red"}, "properties.colour"),
])
def test_record_properties_must_match_the_schema(api, project_schema, properties, field):
    answer = api.post("/api/v1/objects/project/", {"properties": properties}, format="json")
    assert answer.status_code == 400
    assert field in answer.json()["fields"]
    assert not CustomObject.objects.exists()


def test_patching_a_record_merges_properties_and_null_clears_one(api, project_schema):
    record = CustomObject.objects.create(schema=project_schema, properties={"title": "A", "budget": 1})
    answer = api.patch(f"/api/v1/objects/project/{record.pk}/", {"properties": {"budget": None, "phase": "run"}},
                       format="json")
    assert answer.json()["properties"] == {"title": "A", "phase": "run"}


def test_an_unknown_object_type_is_404(api):
    for answer in (api.get("/api/v1/objects/spaceship/"), api.post("/api/v1/objects/spaceship/", {}, format="json")):
        assert answer.status_code == 404
        assert answer.json()["code"] == "NOT_FOUND"


def test_a_record_is_found_only_under_its_own_type(api, project_schema):
    other = CustomObjectFactory()
    assert api.get(f"/api/v1/objects/project/{other.pk}/").status_code == 404
    assert api.get(f"/api/v1/objects/{other.schema.name}/{other.pk}/").status_code == 200


# --- Blocklist ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "stored"), [
    ("Spammer@Example.COM", "spammer@example.com"),
    (" Example.org ", "example.org"),
    ("@bad-domain.example", "bad-domain.example"),
])
def test_an_admin_blocks_an_address_or_a_domain_stored_lower_case(admin_api, value, stored):
    answer = admin_api.post("/api/v1/blocklist/", {"value": value}, format="json")
    assert answer.status_code == 201
    assert answer.json()["value"] == stored


@pytest.mark.parametrize("value", ["not blocked", "a@b", "localhost", "", "x" * 300, "@", "ann@@example.com"])
def test_a_value_that_is_neither_address_nor_domain_is_refused(admin_api, value):
    answer = admin_api.post("/api/v1/blocklist/", {"value": value}, format="json")
    assert answer.status_code == 400
    assert "value" in answer.json()["fields"]


def test_the_same_value_in_another_case_is_a_duplicate(admin_api):
    BlockedEntry.objects.create(value="example.org")
    answer = admin_api.post("/api/v1/blocklist/", {"value": "EXAMPLE.org"}, format="json")
    assert answer.status_code == 400
    assert answer.json()["fields"] == {"value": ["example.org is already on the blocklist."]}


def test_a_rep_reads_the_blocklist_but_cannot_change_it(api):
    entry = BlockedEntry.objects.create(value="example.org")
    assert api.get("/api/v1/blocklist/").json()["results"][0]["value"] == "example.org"
    for answer in (
        api.post("/api/v1/blocklist/", {"value": "other.org"}, format="json"),
        api.patch(f"/api/v1/blocklist/{entry.pk}/", {"value": "x.org"}, format="json"),
        api.delete(f"/api/v1/blocklist/{entry.pk}/"),
    ):
        assert answer.status_code == 403
        assert answer.json()["code"] == "PERMISSION_DENIED"
    assert BlockedEntry.objects.get().value == "example.org"


def test_an_admin_removes_a_block(admin_api):
    entry = BlockedEntry.objects.create(value="example.org")
    assert admin_api.delete(f"/api/v1/blocklist/{entry.pk}/").status_code == 204
    assert not BlockedEntry.objects.exists()
