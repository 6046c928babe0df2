"""CSV import in the pages: upload -> map -> preview -> run -> progress -> result, through the API's importer."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from contacts_app import import_jobs, importing
from contacts_app.models import Contact, ContactImport
from tests.factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db

HUBSPOT_EXPORT = Path(__file__).resolve().parents[1] / "data" / "hubspot_contacts_export.csv"


def _upload(client, text: str, name: str = "people.csv"):
    return client.post("/contacts/import/", {"file": SimpleUploadedFile(name, text.encode(), "text/csv")})


def _job() -> ContactImport:
    return ContactImport.objects.get()


def _mapping(job: ContactImport, **overrides: str) -> dict[str, str]:
    targets = dict(enumerate(job.mapping))
    for index, target in overrides.items():
        targets[int(index.removeprefix("c"))] = target
    return {f"column-{index}": target for index, target in targets.items()}


def test_a_hubspot_export_s_headers_are_mapped_without_help(rep_client):
    response = _upload(rep_client, HUBSPOT_EXPORT.read_text(), "hubspot.csv")
    job = _job()
    assert response["Location"] == f"/contacts/import/{job.pk}/"
    by_header = dict(zip(job.header, job.mapping, strict=True))
    assert by_header["Email"] == "email"
    assert by_header["First Name"] == "first_name"
    assert by_header["Record ID"] == "record_id"
    page = rep_client.get(response["Location"]).content.decode()
    assert "Map the columns of hubspot.csv" in page
    assert '<label for="column-0"' in page


def test_upload_map_preview_run_and_result_end_to_end(rep_client, rep):
    ContactFactory(email="bo@acme.example", first_name="Bo")
    _upload(rep_client, "Email,First name,Stage,Lead source\r\nann@acme.example,Ann,lead,fair\r\n"
                        "bo@acme.example,Bob,customer,\r\nnot-an-address,Cy,lead,\r\nd@acme.example,Di,sleepy,\r\n")
    job = _job()
    assert job.mapping == ["email", "first_name", "property", "property"]
    page = rep_client.get(f"/contacts/import/{job.pk}/").content.decode()
    # The preview marks each row the import would skip, with the importer's reason.
    assert "&#x27;not-an-address&#x27; is not a valid email address." in page
    # Mapping "Stage" to the lifecycle stage: the preview (htmx) now finds the bad stage too.
    preview = rep_client.post(f"/contacts/import/{job.pk}/preview/", _mapping(job, c2="lifecycle_stage"))
    assert "&#x27;sleepy&#x27; is not a lifecycle stage." in preview.content.decode()
    assert not Contact.objects.filter(email="ann@acme.example").exists()  # a preview writes nothing

    response = rep_client.post(f"/contacts/import/{job.pk}/run/", _mapping(job, c2="lifecycle_stage"))
    assert response["Location"] == f"/contacts/import/{job.pk}/"
    job.refresh_from_db()
    assert (job.status, job.created, job.updated, len(job.errors)) == ("done", 1, 1, 2)
    assert job.text == ""  # the file is dropped once imported
    ann = Contact.objects.get(email="ann@acme.example")
    assert (ann.lifecycle_stage, ann.properties) == ("lead", {"lead_source": "fair"})
    assert Contact.objects.get(email="bo@acme.example").first_name == "Bob"

    result = rep_client.get(f"/contacts/import/{job.pk}/").content.decode()
    assert 'data-testid="import-created">1<' in result
    assert 'data-testid="import-errors">2<' in result
    download = rep_client.get(f"/contacts/import/{job.pk}/problems.csv")
    assert download["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.content.decode())))
    assert rows[0] == ["Row", "Kind", "Problem"]
    assert [row[:2] for row in rows[1:]] == [["4", "error"], ["5", "error"]]


def test_a_mapping_without_an_email_column_or_with_a_field_twice_is_refused_and_nothing_runs(rep_client):
    _upload(rep_client, "Email,Mail\r\nann@acme.example,ann@acme.example\r\n")
    job = _job()
    response = rep_client.post(f"/contacts/import/{job.pk}/run/", _mapping(job, c0="skip", c1="skip"))
    assert response.status_code == 400
    assert "Map one column to Email" in response.content.decode()
    response = rep_client.post(f"/contacts/import/{job.pk}/run/", _mapping(job, c0="email", c1="email"))
    assert "more than one is mapped to Email" in response.content.decode()
    job.refresh_from_db()
    assert job.status == "mapping"
    assert not Contact.objects.exists()


def test_running_twice_imports_once(rep_client):
    _upload(rep_client, "Email\r\nann@acme.example\r\n")
    job = _job()
    rep_client.post(f"/contacts/import/{job.pk}/run/", _mapping(job))
    rep_client.post(f"/contacts/import/{job.pk}/run/", _mapping(job))
    job.refresh_from_db()
    assert (job.created, job.updated) == (1, 0)


def test_a_file_that_is_not_a_contacts_csv_is_refused_with_a_sentence(rep_client):
    response = rep_client.post("/contacts/import/", {"file": SimpleUploadedFile("x.csv", b"\x00\x01binary")})
    assert response.status_code == 400
    assert "This looks like a binary file, not CSV text." in response.content.decode()
    assert rep_client.post("/contacts/import/", {}).status_code == 400
    assert not ContactImport.objects.exists()


def test_a_large_file_runs_as_a_background_task_with_progress(rep_client, run_tasks, monkeypatch):
    monkeypatch.setattr(import_jobs, "INLINE_ROWS", 2)
    monkeypatch.setattr(importing, "BATCH_SIZE", 2)
    _upload(rep_client, "Email\r\n" + "".join(f"p{n}@acme.example\r\n" for n in range(5)))
    job = _job()
    with run_tasks():
        rep_client.post(f"/contacts/import/{job.pk}/run/", _mapping(job))
        job.refresh_from_db()
        # Queued for the worker: nothing is imported while the request answers.
        assert job.status == "queued"
        assert not Contact.objects.exists()
        waiting = rep_client.get(f"/contacts/import/{job.pk}/")
        assert 'hx-trigger="every 1s"' in waiting.content.decode()
        assert "HX-Refresh" not in rep_client.get(f"/contacts/import/{job.pk}/progress/")
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.created) == ("done", 5, 5)
    done = rep_client.get(f"/contacts/import/{job.pk}/progress/")
    assert done["HX-Refresh"] == "true"
    assert "hx-trigger" not in done.content.decode()


def test_progress_is_saved_with_each_batch(rep, monkeypatch):
    monkeypatch.setattr(importing, "BATCH_SIZE", 2)
    job = import_jobs.contact_import_start(
        file=io.BytesIO(b"Email\r\na@x.example\r\nb@x.example\r\nc@x.example\r\n"), size=None,
        file_name="x.csv", user=rep)
    ContactImport.objects.filter(pk=job.pk).update(status="queued")
    seen: list[tuple[int, int]] = []
    real_batch = importing._import_batch

    def batch_watching_progress(*args):
        # What a polling page reads when each batch starts: the earlier batches' rows and contacts.
        stored = ContactImport.objects.get(pk=job.pk)
        seen.append((stored.processed_rows, Contact.objects.count()))
        return real_batch(*args)

    monkeypatch.setattr(importing, "_import_batch", batch_watching_progress)
    import_jobs.contact_import_execute(job.pk)
    assert seen == [(0, 0), (2, 2)]
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.created) == ("done", 3, 3)


def test_another_rep_cannot_see_or_run_my_import_but_an_admin_can_see_it(client, rep_client, admin_user):
    _upload(rep_client, "Email\r\nann@acme.example\r\n")
    job = _job()
    client.force_login(UserFactory())
    assert client.get(f"/contacts/import/{job.pk}/").status_code == 404
    assert client.post(f"/contacts/import/{job.pk}/run/", _mapping(job)).status_code == 404
    assert client.get(f"/contacts/import/{job.pk}/problems.csv").status_code == 404
    client.force_login(admin_user)
    assert client.get(f"/contacts/import/{job.pk}/").status_code == 200
    assert not Contact.objects.exists()
