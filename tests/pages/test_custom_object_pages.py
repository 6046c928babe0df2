"""Admins define custom object types in the pages; everyone creates and edits their records, typed by the schema."""
from __future__ import annotations

import pytest

from contacts_app.models import CustomObject, ObjectSchema
from tests.factories import ObjectSchemaFactory

pytestmark = pytest.mark.django_db

PROPERTIES = "name string\nplan enumeration starter, team\nseats number\nrenews_on date\nactive boolean\n"


def test_an_admin_defines_an_object_type_with_typed_properties(client, admin_user):
    client.force_login(admin_user)
    response = client.post("/object-types/new/", {"label": "Subscriptions", "name": "subscriptions",
                                                  "properties": PROPERTIES})
    assert response["Location"] == "/objects/subscriptions/"
    schema = ObjectSchema.objects.get()
    assert schema.properties[1] == {"name": "plan", "type": "enumeration", "options": ["starter", "team"]}
    assert "Subscriptions" in client.get("/object-types/").content.decode()


def test_the_service_s_refusals_of_a_schema_are_shown_and_nothing_is_saved(client, admin_user):
    client.force_login(admin_user)
    response = client.post("/object-types/new/", {"label": "Deals", "name": "deals", "properties": ""})
    assert response.status_code == 400
    assert "&#x27;deals&#x27; names a built-in record type." in response.content.decode()
    response = client.post("/object-types/new/", {"label": "Things", "name": "things", "properties": "x colour"})
    assert response.status_code == 400
    assert "Choose one of string, number" in response.content.decode()
    assert not ObjectSchema.objects.exists()


def test_a_rep_cannot_define_an_object_type(rep_client):
    response = rep_client.post("/object-types/new/", {"label": "Things", "name": "things", "properties": ""},
                               follow=True)
    assert "Only an admin may define or change custom object types." in response.content.decode()
    assert not ObjectSchema.objects.exists()
    assert "New object type" not in rep_client.get("/object-types/").content.decode()


@pytest.fixture
def subscriptions(db):
    return ObjectSchemaFactory(name="subscriptions", label="Subscriptions", properties=[
        {"name": "name", "type": "string"}, {"name": "plan", "type": "enumeration", "options": ["starter", "team"]},
        {"name": "seats", "type": "number"}, {"name": "renews_on", "type": "date"},
        {"name": "active", "type": "boolean"},
    ])


def test_a_rep_creates_and_edits_a_record_with_its_schema_s_types(rep_client, subscriptions):
    response = rep_client.post("/objects/subscriptions/new/", {
        "name": "Acme team", "plan": "team", "seats": "12", "renews_on": "2027-03-01", "active": "on"})
    record = CustomObject.objects.get()
    assert response["Location"] == f"/objects/subscriptions/{record.pk}/"
    assert record.properties == {"name": "Acme team", "plan": "team", "seats": 12, "renews_on": "2027-03-01",
                                 "active": True}
    page = rep_client.get(f"/objects/subscriptions/{record.pk}/edit/").content.decode()
    assert "Acme team" in page
    assert '<option value="team" selected>' in page
    rep_client.post(f"/objects/subscriptions/{record.pk}/edit/", {"name": "Acme team", "plan": "", "seats": "2.5"})
    record.refresh_from_db()
    assert record.properties == {"name": "Acme team", "seats": 2.5, "active": False}


def test_a_record_value_outside_its_choices_is_refused_beside_its_field(rep_client, subscriptions):
    response = rep_client.post("/objects/subscriptions/new/", {"plan": "platinum", "seats": "many"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter a number." in html
    assert not CustomObject.objects.exists()
