"""Contact import from CSV: our own column names or a HubSpot contacts export.

Contacts are upserted by email (rows without one by HubSpot's "Record ID",
else created). A bad row is reported and skipped; the rest of the file is
imported. Non-empty cells overwrite, empty cells leave a stored value alone,
and email-standing columns ("Unsubscribed from all email") can only set a
flag, never clear one — an import must not re-subscribe anybody (a "false"
for a contact who has the flag keeps it, with a warning naming
EMAIL_STANDING_READ_ONLY: only an admin's re-permission clears it).

Cost: the file is read in batches of BATCH_SIZE rows; each batch runs a
fixed handful of queries (look up existing contacts and companies, bulk
insert, bulk update), so 10,000 rows take tens of queries, not tens of
thousands. The whole import is one transaction: the answer describes
exactly what was stored.
"""
from __future__ import annotations

import contextlib
import csv
import io
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import IO, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from accounts_app.models import User
from accounts_app.services import iana_time_zones
from config.errors import ValidationFailed
from config.params import id_or_none
from contacts_app.models import Company, Contact
from contacts_app.services import (
    MAX_PROPERTY_TEXT,
    PROPERTY_NAME,
    STANDING_FLAGS,
    STANDING_READ_ONLY,
    domain_is_valid,
    domain_normalize,
)
from workflows_app import events as workflow_events

IMPORT_MAX_BYTES = 20 * 1024 * 1024
IMPORT_MAX_ROWS = 20_000
BATCH_SIZE = 1000
# Property that keeps HubSpot's id, so a re-import of rows without email updates instead of duplicating.
RECORD_ID_PROPERTY = "hubspot_record_id"

# Normalised header -> what the column fills. Our API's names first, then HubSpot's export headers.
COLUMNS = {
    "email": "email", "email_address": "email", "e_mail": "email",
    "first_name": "first_name", "firstname": "first_name",
    "last_name": "last_name", "lastname": "last_name",
    "job_title": "job_title", "jobtitle": "job_title",
    "phone": "phone", "phone_number": "phone",
    "company": "company", "company_name": "company", "associated_company": "company",
    "company_id": "company_id",
    "company_domain": "company_domain", "company_domain_name": "company_domain",
    "owner": "owner", "owner_id": "owner", "owner_email": "owner", "contact_owner": "owner", "hubspot_owner": "owner",
    "lifecycle_stage": "lifecycle_stage", "lifecyclestage": "lifecycle_stage",
    "time_zone": "time_zone", "timezone": "time_zone", "hs_timezone": "time_zone",
    "record_id": "record_id", "hs_object_id": "record_id",
    "bounce_reason": "bounce_reason",
    "email_bounced": "email_bounced",
    "unsubscribed": "unsubscribed", "unsubscribed_from_all_email": "unsubscribed",
    "opted_out_of_all_email": "unsubscribed",
    "unsubscribed_sales": "unsubscribed_sales", "unsubscribed_from_sales_email": "unsubscribed_sales",
    "marked_spam": "marked_spam",
}
TEXT_LIMITS = {"first_name": 150, "last_name": 150, "job_title": 200, "phone": 50, "bounce_reason": 500}
FLAGS = STANDING_FLAGS
_TRUE = {"true", "yes", "y", "1", "x"}
_FALSE = {"false", "no", "n", "0"}


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    # Rows imported with something left out (an owner nobody matches, an unknown time zone).
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "errors": self.errors, "warnings": self.warnings}


@dataclass
class _Row:
    number: int
    email: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)
    company_name: str = ""
    company_domain: str = ""
    company_id: int | None = None
    owner: str = ""
    record_id: str = ""
    # Standing flags the row says "false" for: never cleared, a warning when the contact has them.
    clears: list[str] = field(default_factory=list)


def contacts_import(*, file: IO[bytes], size: int | None = None) -> ImportResult:
    """Import a CSV file of contacts (see the module docstring for the rules)."""
    return contacts_import_text(text=file_text(file, size))


def contacts_import_text(
    *, text: str, mapping: list[str] | None = None, on_batch: Callable[[int, ImportResult], None] | None = None,
    atomic: bool = True,
) -> ImportResult:
    """Import CSV text; `mapping` names what each column fills (default: `columns_guess` of the header).

    With `atomic=False` (the pages' background import) each batch is a
    transaction of its own and `on_batch(rows_done, result)` runs inside it,
    so progress saved there always describes exactly what is stored. The
    row limit is checked before anything is written.
    """
    rows = _records(text)
    first = next(rows, None)
    if first is None:
        raise ValidationFailed("The file is empty.", fields={"file": ["The file is empty."]})
    if mapping is None:
        mapping = columns_guess(first[1])
        if "email" not in mapping:
            raise ValidationFailed(
                "The file has no email column.",
                fields={"file": ["The first row must name the columns, one of them Email."]},
            )
    columns = columns_from_mapping(first[1], mapping)
    if not atomic and rows_count(text) > IMPORT_MAX_ROWS:
        raise ValidationFailed("Too many rows.", fields={"file": [too_many_rows()]})
    result = ImportResult()
    directory = _UserDirectory()
    batch: list[tuple[int, list[str]]] = []
    done = 0

    def flush() -> None:
        nonlocal done, batch
        with transaction.atomic():
            _import_batch(batch, columns, directory, result)
            done += len(batch)
            if on_batch is not None:
                on_batch(done, result)
        batch = []

    with transaction.atomic() if atomic else contextlib.nullcontext():
        for number, record in rows:
            if number - 1 > IMPORT_MAX_ROWS:
                raise ValidationFailed("Too many rows.", fields={"file": [too_many_rows()]})
            batch.append((number, record))
            if len(batch) >= BATCH_SIZE:
                flush()
        if batch:
            flush()
    result.errors.sort(key=lambda problem: problem["row"])
    result.warnings.sort(key=lambda problem: problem["row"])
    return result


def too_many_rows() -> str:
    return f"Import at most {IMPORT_MAX_ROWS} rows at a time."


def file_text(file: IO[bytes], size: int | None = None) -> str:
    """The uploaded file as text (UTF-8 or Excel's cp1252), refusing what is too large or binary."""
    return _decode(file, size)


def file_header(text: str) -> list[str]:
    """The first non-blank row: the column names."""
    first = next(_records(text), None)
    if first is None:
        raise ValidationFailed("The file is empty.", fields={"file": ["The file is empty."]})
    return first[1]


def rows_count(text: str) -> int:
    """Data rows (not blank, not the header)."""
    return max(sum(1 for _ in _records(text)) - 1, 0)


def import_preview(text: str, mapping: list[str], limit: int = 10) -> list[dict[str, Any]]:
    """The first rows as the import would read them: cells, and the reason a row would be skipped.

    Only what the row itself tells (an invalid address, an unknown stage);
    what needs the database (a company id nobody has) shows in the result.
    """
    rows = _records(text)
    header = next(rows, None)
    if header is None:
        return []
    columns = _columns_mapped(header[1], mapping)
    preview = []
    for number, record in itertools.islice(rows, limit):
        _row, error, warnings = _parse(number, record, columns)
        preview.append({"row": number, "cells": record, "error": error, "warnings": warnings})
    return preview


# --- Reading the file ---------------------------------------------------------------------------


def _decode(file: IO[bytes], size: int | None) -> str:
    if size is not None and size > IMPORT_MAX_BYTES:
        raise ValidationFailed("The file is too large.", fields={"file": [_too_large()]})
    raw = file.read(IMPORT_MAX_BYTES + 1)
    if len(raw) > IMPORT_MAX_BYTES:
        raise ValidationFailed("The file is too large.", fields={"file": [_too_large()]})
    if b"\x00" in raw[:4096]:
        raise ValidationFailed("Not a CSV file.", fields={"file": ["This looks like a binary file, not CSV text."]})
    for encoding in ("utf-8-sig", "cp1252"):
        # UTF-8 (with or without Excel's BOM) first; Excel on Windows saves cp1252.
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationFailed("Unknown text encoding.", fields={"file": ["Save the file as UTF-8 CSV."]})


def _too_large() -> str:
    return f"The file is larger than {IMPORT_MAX_BYTES // (1024 * 1024)} MB; split it."


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(row number as a spreadsheet shows it, cells); blank lines are skipped."""
    first_line = text.split("\n", 1)[0]
    # Excel in many European locales writes ';'; some tools write tabs.
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    number = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ValidationFailed(
                "The CSV is malformed.", fields={"file": [f"Row {number + 1} can't be read: {exc}."]}
            ) from exc
        number += 1
        if any(cell.strip() for cell in record):
            yield number, record


def _slug(header: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", header.strip().lower()).strip("_")
    if slug and slug[0].isdigit():
        slug = f"_{slug}"
    return slug[:100]


# What a column can fill, for the pages' mapping step: a field, a custom property, or nothing.
FIELD_TARGETS = {
    "email": "Email", "first_name": "First name", "last_name": "Last name", "job_title": "Job title",
    "phone": "Phone", "company": "Company (name or id)", "company_id": "Company id",
    "company_domain": "Company domain", "owner": "Owner (id, email, username or name)",
    "lifecycle_stage": "Lifecycle stage", "time_zone": "Time zone", "record_id": "HubSpot record id",
    "bounce_reason": "Bounce reason", "email_bounced": "Bounced (can only be set)",
    "unsubscribed": "Unsubscribed from all email (can only be set)",
    "unsubscribed_sales": "Unsubscribed from sales email (can only be set)",
    "marked_spam": "Marked as spam (can only be set)",
}
PROPERTY = "property"
SKIP = "skip"


def columns_guess(header: list[str]) -> list[str]:
    """What each column fills, from its name: a field (`email`), `property` (a custom property) or `skip`."""
    guesses: list[str] = []
    taken: set[str] = set()
    for raw in header:
        name = raw.strip()
        if name.lower().startswith("properties."):
            guess = PROPERTY
        elif (target := COLUMNS.get(_slug(name))) is not None:
            guess = SKIP if target in taken else target  # a repeated column: the first one wins
            taken.add(target)
        else:
            guess = PROPERTY if _slug(name) else SKIP
        guesses.append(guess)
    return guesses


def property_key(header: str) -> str:
    """The property a column fills: `properties.industry` -> `industry`, `Lead Source` -> `lead_source`."""
    name = header.strip()
    if name.lower().startswith("properties."):
        key = name[len("properties."):]
        return key if PROPERTY_NAME.match(key) else _slug(key)
    return _slug(name)


def columns_from_mapping(header: list[str], mapping: list[str]) -> list[tuple[str, str]]:
    """Check a mapping against the header: one target per column, a field at most once, an email column."""
    errors: list[str] = []
    if len(mapping) != len(header):
        errors.append(f"Map each of the file's {len(header)} columns (skip the ones not wanted).")
    fields = [target for target in mapping if target not in (PROPERTY, SKIP)]
    unknown = sorted({target for target in fields if target not in FIELD_TARGETS})
    if unknown:
        errors.append(f"Unknown fields: {', '.join(unknown)}.")
    twice = sorted({FIELD_TARGETS.get(target, target) for target in fields if fields.count(target) > 1})
    if twice:
        errors.append(f"Each field takes one column; more than one is mapped to {', '.join(twice)}.")
    keys = [property_key(header[i]) for i, target in enumerate(mapping[: len(header)]) if target == PROPERTY]
    if any(not key for key in keys) or len(set(keys)) != len(keys):
        errors.append("Two columns would fill the same property (or a column has no usable name); skip one.")
    if "email" not in fields:
        errors.append("Map one column to Email: contacts are matched by their email address.")
    if errors:
        raise ValidationFailed("The columns are not mapped.", fields={"mapping": errors})
    return _columns_mapped(header, mapping)


def _columns_mapped(header: list[str], mapping: list[str]) -> list[tuple[str, str]]:
    columns: list[tuple[str, str]] = []
    for raw, target in zip(header, mapping, strict=False):
        if target == PROPERTY and property_key(raw):
            columns.append(("property", property_key(raw)))
        elif target in FIELD_TARGETS:
            columns.append(("field", target))
        else:
            columns.append(("skip", ""))
    return columns


# --- One row ------------------------------------------------------------------------------------


def _parse(number: int, record: list[str], columns: list[tuple[str, str]]) -> tuple[_Row, str | None, list[str]]:
    """The row's values, the reason it can't be imported (or None), and warnings."""
    row = _Row(number=number)
    warnings: list[str] = []
    for (kind, key), cell in zip(columns, record, strict=False):
        value = cell.strip()
        if not value or kind == "skip":
            continue
        if kind == "property":
            if len(value) > MAX_PROPERTY_TEXT:
                return row, f"{key} is longer than {MAX_PROPERTY_TEXT} characters.", warnings
            row.properties[key] = value
        elif key == "email":
            row.email = value.lower()
            try:
                validate_email(row.email)
            except DjangoValidationError:
                return row, f"{value!r} is not a valid email address.", warnings
        elif key in TEXT_LIMITS:
            if len(value) > TEXT_LIMITS[key]:
                return row, f"{key} is longer than {TEXT_LIMITS[key]} characters.", warnings
            row.values[key] = value
        elif key in FLAGS:
            if value.lower() in _TRUE:
                row.values[key] = True
            elif value.lower() in _FALSE:
                row.clears.append(key)
        elif key == "lifecycle_stage":
            stage = _lifecycle_stage(value)
            if stage is None:
                return row, f"{value!r} is not a lifecycle stage.", warnings
            row.values[key] = stage
        elif key == "time_zone":
            zone = time_zone_guess(value)
            if zone is None:
                warnings.append(f"time zone {value!r} is not known; left empty.")
            else:
                row.values[key] = zone
        elif key == "company":
            if id_or_none(value) is not None:
                row.company_id = id_or_none(value)
            else:
                row.company_name = value[:255]
        elif key == "company_id":
            if id_or_none(value) is None:
                return row, f"company_id {value!r} is not a number.", warnings
            row.company_id = id_or_none(value)
        elif key == "company_domain":
            row.company_domain = domain_normalize(value)
        elif key == "owner":
            row.owner = value
        elif key == "record_id":
            row.record_id = value
            row.properties[RECORD_ID_PROPERTY] = value
    if len(row.properties) > 200:
        return row, "More than 200 properties.", warnings
    return row, None, warnings


def _lifecycle_stage(value: str) -> str | None:
    wanted = re.sub(r"[^a-z]", "", value.lower())
    for stage in Contact.LifecycleStage:
        if wanted in (stage.value, re.sub(r"[^a-z]", "", stage.label.lower())):
            return stage.value
    return None


@cache
def _time_zones_by_lower_name() -> dict[str, str]:
    return {name.lower(): name for name in iana_time_zones()}


def time_zone_guess(text: str) -> str | None:
    """An IANA zone from what exports hold: `Europe/Helsinki`, `europe_slash_helsinki`,
    `(GMT+02:00) Europe/Helsinki`, `America/New York` — or None."""
    known = _time_zones_by_lower_name()
    candidate = text.strip().lower().replace("_slash_", "/")
    match = re.search(r"([a-z]+(?:/[a-z0-9_+\- ]+)+)\s*$", candidate)
    for option in (candidate, match.group(1) if match else ""):
        option = option.strip().replace(" ", "_")
        if option in known:
            return known[option]
    return None


# --- One batch ----------------------------------------------------------------------------------


class _UserDirectory:
    """Owners named by id, email, username or full name ("Contact owner" holds a name); loaded once."""

    def __init__(self) -> None:
        self._index: dict[str, int] | None = None

    def find(self, text: str) -> int | None:
        if self._index is None:
            self._index = {}
            for pk, username, email, first, last in User.objects.values_list(
                "pk", "username", "email", "first_name", "last_name"
            ).order_by("-pk"):
                # Lowest pk wins when two users share a name: iterate newest first, overwrite.
                for key in (str(pk), username.lower(), email.lower(), f"{first} {last}".strip().lower()):
                    if key:
                        self._index[key] = pk
        return self._index.get(text.strip().lower())


def _import_batch(
    batch: list[tuple[int, list[str]]], columns: list[tuple[str, str]], users: _UserDirectory, result: ImportResult
) -> None:
    rows: list[_Row] = []
    for number, record in batch:
        row, error, warnings = _parse(number, record, columns)
        if error:
            result.errors.append({"row": number, "message": error})
        else:
            result.warnings.extend({"row": number, "message": message} for message in warnings)
            rows.append(row)
    companies = _companies(rows, result)
    by_email = {c.email: c for c in Contact.objects.filter(email__in={r.email for r in rows if r.email})}
    record_ids = {r.record_id for r in rows if r.record_id and not r.email}
    by_record_id = (
        {str(c.properties.get(RECORD_ID_PROPERTY)): c
         for c in Contact.objects.filter(**{f"properties__{RECORD_ID_PROPERTY}__in": record_ids})}
        if record_ids else {}
    )
    new: list[Contact] = []
    changed: dict[int, Contact] = {}
    fields_changed: set[str] = set()
    now = timezone.now()
    for row in rows:
        contact = by_email.get(row.email) if row.email else by_record_id.get(row.record_id)
        is_new = contact is None
        if contact is None:
            contact = Contact(email=row.email, properties={})
            new.append(contact)
            if row.email:
                by_email[row.email] = contact
            elif row.record_id:
                by_record_id[row.record_id] = contact
        else:
            result.updated += 1
            for flag in row.clears:
                if getattr(contact, flag) and not row.values.get(flag):
                    message = (f"{flag} kept: email standing is cleared only by an admin's re-permission "
                               f"({STANDING_READ_ONLY}).")
                    result.warnings.append({"row": row.number, "message": message})
        touched = dict(row.values)
        company = companies.for_row(row)
        if company is not None:
            touched["company_id"] = company
        if row.owner:
            owner_id = users.find(row.owner)
            if owner_id is None:
                message = f"No user matches the owner {row.owner!r}; imported without an owner."
                result.warnings.append({"row": row.number, "message": message})
            else:
                touched["owner_id"] = owner_id
        for name, value in touched.items():
            setattr(contact, name, value)
        if row.properties:
            contact.properties = {**(contact.properties or {}), **row.properties}
            touched["properties"] = True
        if not is_new and contact.pk is not None:
            changed[contact.pk] = contact
            fields_changed.update(touched)
        if is_new:
            result.created += 1
    Contact.objects.bulk_create(new, batch_size=500)
    # Before the update: workflows learn what the changed contacts matched until now.
    workflow_events.contacts_imported(created=new, changed=changed.values())
    if changed:
        for contact in changed.values():
            contact.updated_at = now
        Contact.objects.bulk_update(list(changed.values()), [*sorted(fields_changed), "updated_at"], batch_size=500)


@dataclass
class _Companies:
    by_name: dict[str, int]

    def for_row(self, row: _Row) -> int | None:
        if row.company_id is not None:
            return row.company_id
        if row.company_name:
            return self.by_name[row.company_name.lower()]
        return None


def _companies(rows: list[_Row], result: ImportResult) -> _Companies:
    """Resolve company ids and names for the batch; names not found become new companies.

    Rows naming a company id that doesn't exist are reported and dropped from `rows`.
    Names match case-insensitively; the candidates are fetched by SQL LOWER()
    and by exact name, then compared with Python's lower(), because SQLite's
    LOWER() folds only ASCII letters.
    """
    ids = {row.company_id for row in rows if row.company_id is not None}
    known_ids = set(Company.objects.filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
    failed: set[int] = set()
    for row in rows:
        if row.company_id is not None and row.company_id not in known_ids:
            result.errors.append({"row": row.number, "message": f"No company has id {row.company_id}."})
            failed.add(row.number)
    names: dict[str, _Row] = {}
    for row in rows:
        if row.company_name and row.number not in failed:
            names.setdefault(row.company_name.lower(), row)
    by_name: dict[str, int] = {}
    if names:
        found = (
            Company.objects.annotate(lower_name=Lower("name"))
            .filter(Q(lower_name__in=list(names)) | Q(name__in=[row.company_name for row in names.values()]))
            .order_by("-pk")
            .values_list("name", "pk")
        )
        # The oldest company of a name wins (newest first, overwritten).
        by_name = {name.lower(): pk for name, pk in found if name.lower() in names}
        missing = [
            Company(name=row.company_name, domain=row.company_domain if domain_is_valid(row.company_domain) else "")
            for key, row in names.items()
            if key not in by_name
        ]
        for company in Company.objects.bulk_create(missing, batch_size=500):
            by_name[company.name.lower()] = company.pk
    rows[:] = [row for row in rows if row.number not in failed]
    return _Companies(by_name=by_name)
