"""`POST /api/v1/contacts/import/`: CSV upsert by email, our columns or HubSpot's, bad rows reported."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from contacts_app import importing
from contacts_app.models import Company, Contact
from tests.factories import CompanyFactory, ContactFactory, UserFactory

pytestmark = pytest.mark.django_db

HUBSPOT_EXPORT = Path(__file__).resolve().parents[2] / "tests" / "data" / "hubspot_contacts_export.csv"


def _upload(api, content: bytes | str, name: str = "contacts.csv"):
    data = content.encode() if isinstance(content, str) else content
    return api.post("/api/v1/contacts/import/", {"file": SimpleUploadedFile(name, data, "text/csv")},
                    format="multipart")


def _csv(*lines: str) -> str:
    return "\r\n".join(lines) + "\r\n"


@pytest.fixture
def hubspot_people():
    """The users and records the HubSpot export refers to."""
    alice = UserFactory(username="alice", first_name="Alice", last_name="Anders")
    CompanyFactory(name="GLOBEX", domain="globex.example")
    ContactFactory(email="hank@globex.example", first_name="Henry", job_title="", properties={"note": "met in 2025"})
    return alice


def test_a_hubspot_export_is_imported_with_bad_rows_reported(api, hubspot_people):
    alice = hubspot_people

    answer = _upload(api, HUBSPOT_EXPORT.read_bytes(), "hubspot-crm-exports-all-contacts.csv")

    assert answer.status_code == 200
    body = answer.json()
    assert (body["created"], body["updated"]) == (3, 2)  # Maria, no-email, Sam new; Hank, Maria again updated
    assert body["errors"] == [
        {"row": 4, "message": "'not-an-email' is not a valid email address."},
        {"row": 5, "message": "'Prospect-ish' is not a lifecycle stage."},
    ]
    assert [w["row"] for w in body["warnings"]] == [3, 9]
    assert "Jane Nobody" in body["warnings"][0]["message"]
    assert "Atlantis/Lost City" in body["warnings"][1]["message"]

    maria = Contact.objects.get(email="maria@acme.example")
    assert (maria.first_name, maria.last_name, maria.job_title) == ("Maria", "M.", "Chief Technology Officer")
    assert (maria.phone, maria.lifecycle_stage, maria.time_zone) == ("+358 40 1234567", "lead", "Europe/Helsinki")
    assert maria.owner == alice
    assert maria.company.name == "Acme Oy"
    assert maria.properties == {
        "hubspot_record_id": "106", "create_date": "2026-01-10 10:00", "city": "Helsinki", "country_region": "Finland",
        "lead_status": "New",
    }
    assert maria.unsubscribed is False

    hank = Contact.objects.get(email="hank@globex.example")
    assert (hank.first_name, hank.job_title, hank.lifecycle_stage) == ("Hank", "CEO", "marketingqualifiedlead")
    assert hank.company.name == "GLOBEX"  # matched whatever the case, not duplicated
    assert hank.time_zone == "America/New_York"
    assert hank.owner is None
    assert hank.unsubscribed is True
    assert hank.properties["note"] == "met in 2025"  # kept: an import merges properties

    no_email = Contact.objects.get(properties__hubspot_record_id="105")
    assert (no_email.email, no_email.time_zone, no_email.owner) == ("", "America/Chicago", alice)
    assert Contact.objects.get(email="sam@solo.example").time_zone == ""
    assert not Contact.objects.filter(email__in=["not-an-email", "peter@initech.example"]).exists()
    assert Company.objects.filter(name__iexact="globex").count() == 1


def test_importing_the_same_export_again_updates_and_creates_nothing(api, hubspot_people):
    _upload(api, HUBSPOT_EXPORT.read_bytes())
    count = Contact.objects.count()
    companies = Company.objects.count()

    body = _upload(api, HUBSPOT_EXPORT.read_bytes()).json()

    assert (body["created"], body["updated"]) == (0, 5)
    assert Contact.objects.count() == count
    assert Company.objects.count() == companies


def test_our_own_column_names_are_understood(api, rep):
    company = CompanyFactory()

    body = _upload(api, _csv(
        "email,first_name,last_name,job_title,phone,company,owner,lifecycle_stage,time_zone,properties.industry",
        f"ann@example.com,Ann,Archer,CEO,123,{company.pk},{rep.email},customer,Europe/Paris,Software",
    )).json()

    assert body == {"created": 1, "updated": 0, "errors": [], "warnings": []}
    ann = Contact.objects.get(email="ann@example.com")
    assert (ann.company, ann.owner, ann.lifecycle_stage, ann.time_zone) == (company, rep, "customer", "Europe/Paris")
    assert ann.properties == {"industry": "Software"}


def test_empty_cells_leave_stored_values_alone_and_flags_are_never_cleared(api):
    ContactFactory(email="ann@example.com", first_name="Ann", job_title="CEO", unsubscribed=True)

    _upload(api, _csv("Email,First Name,Job Title,Unsubscribed from all email", "ann@example.com,,CTO,false"))

    ann = Contact.objects.get(email="ann@example.com")
    assert (ann.first_name, ann.job_title, ann.unsubscribed) == ("Ann", "CTO", True)


def test_an_unknown_company_id_is_a_row_error(api):
    body = _upload(api, _csv("email,company_id", "ann@example.com,424242", "bob@example.com,")).json()
    assert body["errors"] == [{"row": 2, "message": "No company has id 424242."}]
    assert body["created"] == 1


def test_semicolons_and_windows_1252_text_are_read(api):
    content = _csv("Email;First Name;Last Name", "jyri@example.fi;Jyri;Säkkinen").encode("cp1252")
    body = _upload(api, content).json()
    assert body["created"] == 1
    assert Contact.objects.get(email="jyri@example.fi").last_name == "Säkkinen"


def test_quoted_cells_with_commas_and_newlines_are_one_value(api):
    body = _upload(api, 'Email,Notes\r\nann@example.com,"line one, still\r\nline two"\r\nbob@example.com,x\r\n').json()
    assert body["created"] == 2
    assert Contact.objects.get(email="ann@example.com").properties["notes"] == "line one, still\r\nline two"


@pytest.mark.parametrize(("content", "message"), [
    (b"", "The submitted file is empty."),
    (b"\r\n  \r\n", "The file is empty."),
    (b"First Name,Last Name\r\nAnn,Archer\r\n", "The first row must name the columns, one of them Email."),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "This looks like a binary file, not CSV text."),
])
def test_a_file_that_is_not_a_contacts_csv_is_refused(api, content, message):
    answer = _upload(api, content)
    assert answer.status_code == 400
    assert answer.json()["fields"] == {"file": [message]}


def test_a_file_over_the_size_limit_is_refused(api, monkeypatch):
    monkeypatch.setattr(importing, "IMPORT_MAX_BYTES", 100)
    answer = _upload(api, _csv("email", *[f"c{n}@example.com" for n in range(20)]))
    assert answer.status_code == 400
    assert "larger than" in answer.json()["fields"]["file"][0]
    assert not Contact.objects.exists()


def test_a_file_over_the_row_limit_is_refused_and_nothing_is_written(api, monkeypatch):
    monkeypatch.setattr(importing, "IMPORT_MAX_ROWS", 5)
    monkeypatch.setattr(importing, "BATCH_SIZE", 2)
    answer = _upload(api, _csv("email", *[f"c{n}@example.com" for n in range(8)]))
    assert answer.status_code == 400
    assert not Contact.objects.exists()


def test_the_file_field_is_required(api):
    answer = api.post("/api/v1/contacts/import/", {}, format="multipart")
    assert answer.status_code == 400
    assert "file" in answer.json()["fields"]


def test_json_is_not_an_import(api):
    answer = api.post("/api/v1/contacts/import/", {"file": "email\nann@example.com"}, format="json")
    assert answer.status_code == 415


def _rows(count: int, start: int = 0) -> str:
    lines = ["Email,First Name,Last Name,Company Name,Contact owner,Lifecycle Stage,City"]
    lines += [f"person{n}@example.com,First{n},Last{n},Company {n % 40},alice,Lead,City {n % 7}"
              for n in range(start, start + count)]
    return _csv(*lines)


def test_a_thousand_row_import_runs_a_bounded_number_of_queries(api, django_assert_max_num_queries):
    UserFactory(username="alice")
    ContactFactory.create_batch(5)
    _upload(api, _rows(500))  # half of the next file exists already: both paths run

    # 7 on PostgreSQL, 19 on SQLite (whose bulk statements take fewer rows each): never one per row.
    with django_assert_max_num_queries(25):
        body = _upload(api, _rows(1000)).json()

    assert (body["created"], body["updated"], body["errors"]) == (500, 500, [])
    assert Contact.objects.filter(owner__username="alice", company__name="Company 39").count() == 25


def test_ten_thousand_rows_import_in_one_go(api):
    body = _upload(api, _rows(10_000)).json()
    assert (body["created"], body["errors"]) == (10_000, [])
    assert Company.objects.count() == 40


def test_reading_a_file_object_directly():
    result = importing.contacts_import(file=io.BytesIO(b"email\nzed@example.com\n"))
    assert result.as_dict() == {"created": 1, "updated": 0, "errors": [], "warnings": []}


@pytest.mark.parametrize(("text", "zone"), [
    ("Europe/Helsinki", "Europe/Helsinki"),
    ("europe/helsinki", "Europe/Helsinki"),
    ("america_slash_new_york", "America/New_York"),
    ("(GMT-05:00) America/New York", "America/New_York"),
    ("(GMT+05:30) Asia/Kolkata", "Asia/Kolkata"),
    ("Eastern Time", None),
])
def test_time_zones_are_read_from_what_exports_hold(text, zone):
    assert importing.time_zone_guess(text) == zone
