"""`/templates/`, `/snippets/`, `/documents/` and the public document link `/d/<token>/`."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from sequences_app.models import Document, EmailTemplate, Snippet
from tests.factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db




@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SITE_URL = "https://nudge.example.com"


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def assert_refused(response: Any, field: str) -> None:
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert field in response.json()["fields"], response.json()


# --- Templates -----------------------------------------------------------------------------------------


def test_a_rep_creates_a_template(rep):
    data = {"name": "Intro", "subject": "Hi {{ contact.first_name }}", "body_html": "<p>Hello</p><script>x</script>"}

    response = client_for(rep).post("/api/v1/templates/", data, format="json")

    assert response.status_code == 201
    body = response.json()
    assert {"id", "name", "subject", "body_html", "created_at", "updated_at"} <= set(body)
    assert body["subject"] == "Hi {{ contact.first_name }}"
    assert body["body_html"] == "<p>Hello</p>"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"subject": "x"}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "T", "subject": "{{ contact.first_name|upper }}"}, "subject"),
        ({"name": "T", "subject": "Hi\nBcc: x@example.com"}, "subject"),
        ({"name": "T", "body_html": "{% load static %}"}, "body_html"),
        ({"name": "T", "body_html": "{{ contact.no_such_thing }}"}, "body_html"),
        ({"name": "T", "body_html": ["<p>"]}, "body_html"),
        ({"name": ["T"]}, "name"),
    ],
)
def test_an_invalid_template_is_refused(rep, data, field):
    assert_refused(client_for(rep).post("/api/v1/templates/", data, format="json"), field)
    assert not EmailTemplate.objects.exists()


def test_a_rep_sees_only_their_own_templates_and_an_admin_sees_all(rep, admin_user):
    mine = EmailTemplate.objects.create(owner=rep, name="Mine")
    theirs = EmailTemplate.objects.create(owner=UserFactory(), name="Theirs")

    assert [t["id"] for t in client_for(rep).get("/api/v1/templates/").json()["results"]] == [mine.pk]
    assert client_for(rep).get(f"/api/v1/templates/{theirs.pk}/").status_code == 404
    assert client_for(rep).patch(f"/api/v1/templates/{theirs.pk}/", {"name": "x"}, format="json").status_code == 404
    assert client_for(admin_user).get("/api/v1/templates/").json()["count"] == 2


def test_templates_are_edited_and_deleted(rep):
    template = EmailTemplate.objects.create(owner=rep, name="Old", subject="S")
    client = client_for(rep)

    patched = client.patch(f"/api/v1/templates/{template.pk}/", {"name": "New"}, format="json").json()
    assert (patched["name"], patched["subject"]) == ("New", "S")
    put = client.put(f"/api/v1/templates/{template.pk}/", {"name": "Put"}, format="json").json()
    assert (put["name"], put["subject"]) == ("Put", "")
    assert client.delete(f"/api/v1/templates/{template.pk}/").status_code == 204
    assert not EmailTemplate.objects.exists()


def test_templates_search_by_name(rep):
    EmailTemplate.objects.create(owner=rep, name="Webinar invite")
    EmailTemplate.objects.create(owner=rep, name="Pricing")

    results = client_for(rep).get("/api/v1/templates/", {"search": "webinar"}).json()["results"]

    assert [t["name"] for t in results] == ["Webinar invite"]


# --- Snippets ------------------------------------------------------------------------------------------


def test_a_rep_creates_a_snippet(rep):
    data = {"name": "Calendar", "shortcut": "calendar", "body_html": "<p>Book: {{ sender.first_name }}</p>"}

    response = client_for(rep).post("/api/v1/snippets/", data, format="json")

    assert response.status_code == 201
    assert {"id", "name", "shortcut", "body_html"} <= set(response.json())


def test_a_snippet_shortcut_is_unique_per_owner(rep):
    Snippet.objects.create(owner=rep, name="One", shortcut="intro")

    response = client_for(rep).post("/api/v1/snippets/", {"name": "Two", "shortcut": "intro"}, format="json")

    assert_refused(response, "shortcut")
    assert Snippet.objects.count() == 1


def test_another_rep_may_use_the_same_shortcut(rep):
    Snippet.objects.create(owner=UserFactory(), name="Theirs", shortcut="intro")

    response = client_for(rep).post("/api/v1/snippets/", {"name": "Mine", "shortcut": "intro"}, format="json")

    assert response.status_code == 201


def test_renaming_a_shortcut_onto_another_of_ones_own_is_refused(rep):
    Snippet.objects.create(owner=rep, name="One", shortcut="one")
    two = Snippet.objects.create(owner=rep, name="Two", shortcut="two")

    response = client_for(rep).patch(f"/api/v1/snippets/{two.pk}/", {"shortcut": "one"}, format="json")

    assert_refused(response, "shortcut")
    two.refresh_from_db()
    assert two.shortcut == "two"


def test_keeping_ones_own_shortcut_on_edit_is_fine(rep):
    snippet = Snippet.objects.create(owner=rep, name="One", shortcut="one")

    response = client_for(rep).put(
        f"/api/v1/snippets/{snippet.pk}/", {"name": "Renamed", "shortcut": "one"}, format="json"
    )

    assert response.status_code == 200


@pytest.mark.parametrize("shortcut", ["", "has space", "bad/char", "x" * 65, 5, None, "#intro"])
def test_a_shortcut_must_be_a_slug(rep, shortcut):
    response = client_for(rep).post("/api/v1/snippets/", {"name": "S", "shortcut": shortcut}, format="json")

    assert_refused(response, "shortcut")


def test_a_shortcut_is_stored_lower_case(rep):
    body = client_for(rep).post("/api/v1/snippets/", {"name": "S", "shortcut": "Intro"}, format="json").json()

    assert body["shortcut"] == "intro"


def test_snippet_bodies_are_sanitised_and_token_checked(rep):
    client = client_for(rep)
    bad = client.post("/api/v1/snippets/", {"name": "S", "shortcut": "s", "body_html": "{{ ''.__class__ }}"})
    assert_refused(bad, "body_html")
    ContactFactory(properties={"region": "Nordics"})

    good = client.post(
        "/api/v1/snippets/",
        {"name": "S", "shortcut": "s", "body_html": '<p onmouseover="x()">{{ contact.region }}</p>'},
        format="json",
    )

    assert good.json()["body_html"] == "<p>{{ contact.region }}</p>"


def test_a_rep_cannot_see_another_reps_snippets(rep):
    theirs = Snippet.objects.create(owner=UserFactory(), name="Theirs", shortcut="t")

    assert client_for(rep).get("/api/v1/snippets/").json()["count"] == 0
    assert client_for(rep).delete(f"/api/v1/snippets/{theirs.pk}/").status_code == 404


@pytest.mark.parametrize("body", [[], "x", 3])
def test_library_bodies_that_are_not_objects_are_refused(rep, body):
    for url in ("/api/v1/templates/", "/api/v1/snippets/"):
        response = client_for(rep).post(url, json.dumps(body), content_type="application/json")
        assert response.status_code == 400


# --- Documents -----------------------------------------------------------------------------------------


def upload(client: APIClient, content: bytes = b"%PDF-1.4 deck", filename: str = "deck.pdf", **extra: Any) -> Any:
    return client.post(
        "/api/v1/documents/", {"file": SimpleUploadedFile(filename, content), **extra}, format="multipart"
    )


def test_a_rep_uploads_a_document_and_gets_its_public_link(rep):
    response = upload(client_for(rep), name="Pricing deck")

    assert response.status_code == 201, response.content
    body = response.json()
    document = Document.objects.get()
    assert body["id"] == document.pk
    assert body["name"] == "Pricing deck"
    assert body["url"] == f"https://nudge.example.com/d/{document.token}/"


def test_a_document_is_named_after_its_file_by_default(rep):
    assert upload(client_for(rep), filename="Q3 plan.pdf").json()["name"] == "Q3 plan.pdf"


def test_a_document_over_25_mb_is_refused(rep):
    response = upload(client_for(rep), content=b"x" * (25 * 1024 * 1024 + 1))

    assert_refused(response, "file")
    assert not Document.objects.exists()


def test_a_document_of_exactly_25_mb_is_accepted(rep):
    assert upload(client_for(rep), content=b"x" * (25 * 1024 * 1024)).status_code == 201


def test_an_upload_without_a_file_is_refused(rep):
    assert_refused(client_for(rep).post("/api/v1/documents/", {"name": "x"}, format="multipart"), "file")
    assert_refused(client_for(rep).post("/api/v1/documents/", {"file": "text"}, format="json"), "file")


def test_an_empty_file_is_refused(rep):
    assert_refused(upload(client_for(rep), content=b""), "file")


def test_the_public_link_serves_the_file_to_anyone(rep):
    body = upload(client_for(rep), content=b"%PDF-1.4 deck").json()

    response = Client().get(f"/d/{Document.objects.get().token}/")

    assert body["url"].endswith(f"/d/{Document.objects.get().token}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 deck"
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline")


def test_html_documents_download_instead_of_rendering_on_our_origin(rep):
    upload(client_for(rep), content=b"<script>steal(document.cookie)</script>", filename="page.html")

    response = Client().get(f"/d/{Document.objects.get().token}/")

    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
    assert "sandbox" in response["Content-Security-Policy"]


def test_an_unknown_document_link_is_not_found():
    assert Client().get(f"/d/{uuid.uuid4()}/").status_code == 404
    assert Client().get("/d/not-a-token/").status_code == 404


def test_a_document_can_be_renamed_and_deleted(rep):
    created = upload(client_for(rep)).json()
    token = Document.objects.get().token
    client = client_for(rep)

    assert (
        client.patch(f"/api/v1/documents/{created['id']}/", {"name": "Renamed"}, format="json").json()["name"]
        == "Renamed"
    )
    assert client.delete(f"/api/v1/documents/{created['id']}/").status_code == 204
    assert Client().get(f"/d/{token}/").status_code == 404


def test_a_rep_sees_only_their_own_documents(rep, admin_user):
    upload(client_for(UserFactory()))

    assert client_for(rep).get("/api/v1/documents/").json()["count"] == 0
    assert client_for(admin_user).get("/api/v1/documents/").json()["count"] == 1
