"""CSV imports started in the pages: upload, map the columns, preview, run (in the background when large).

The import itself is `contacts_app.importing` — the API's importer with
the same rules; this module keeps the page's steps in a `ContactImport`
row:

1. `contact_import_start` reads the upload (size, encoding, header, row
   count: the importer's own checks) and guesses the mapping from the
   header (HubSpot's export names are known).
2. `contact_import_preview` reads the first rows with a mapping, no writes.
3. `contact_import_run` checks the mapping and claims the row
   (MAPPING -> QUEUED, a conditional UPDATE: a double click runs it once).
   Up to INLINE_ROWS rows are imported in the request; more go to the
   `nudge.contact_import` task after the commit.
4. `contact_import_execute` (the task's body) claims QUEUED -> RUNNING,
   imports batch by batch, saving progress in each batch's transaction,
   and ends DONE (or FAILED with the reason); the file's text is dropped.

Only the user who started an import (and admins) sees it.
"""
from __future__ import annotations

import csv
import io
from typing import IO, Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts_app.models import User
from config.errors import ServiceError, ValidationFailed
from contacts_app import importing
from contacts_app.models import ContactImport

# Rows imported while the page waits; more run as a background task with a progress bar.
INLINE_ROWS = 1000
PREVIEW_ROWS = 10


def contact_imports_visible_to(user: User) -> QuerySet[ContactImport]:
    imports = ContactImport.objects.all()
    return imports if user.is_staff else imports.filter(created_by=user)


def contact_import_start(*, file: IO[bytes], size: int | None, file_name: str, user: User) -> ContactImport:
    text = importing.file_text(file, size)
    header = importing.file_header(text)
    total = importing.rows_count(text)
    if total > importing.IMPORT_MAX_ROWS:
        raise ValidationFailed("Too many rows.", fields={"file": [importing.too_many_rows()]})
    return ContactImport.objects.create(
        created_by=user, file_name=file_name[:255], text=text, header=header,
        mapping=importing.columns_guess(header), total_rows=total,
    )


def contact_import_preview(*, job: ContactImport, mapping: list[str]) -> list[dict[str, Any]]:
    return importing.import_preview(job.text, mapping, PREVIEW_ROWS)


def contact_import_run(*, job: ContactImport, mapping: list[str]) -> ContactImport:
    importing.columns_from_mapping(job.header, mapping)
    claimed = ContactImport.objects.filter(pk=job.pk, status=ContactImport.Status.MAPPING).update(
        status=ContactImport.Status.QUEUED, mapping=mapping
    )
    if claimed:
        if job.total_rows <= INLINE_ROWS:
            contact_import_execute(job.pk)
        else:
            from contacts_app.tasks import contact_import

            transaction.on_commit(lambda: contact_import.delay(job.pk))
    job.refresh_from_db()
    return job


def contact_import_execute(job_id: int) -> None:
    """Run a queued import (a worker calls this; a redelivered task finds it claimed and does nothing)."""
    if not ContactImport.objects.filter(pk=job_id, status=ContactImport.Status.QUEUED).update(
        status=ContactImport.Status.RUNNING
    ):
        return
    job = ContactImport.objects.get(pk=job_id)

    def progress(done: int, result: importing.ImportResult) -> None:
        ContactImport.objects.filter(pk=job_id).update(
            processed_rows=done, created=result.created, updated=result.updated,
            errors=result.errors, warnings=result.warnings,
        )

    try:
        result = importing.contacts_import_text(text=job.text, mapping=job.mapping, on_batch=progress, atomic=False)
    except ServiceError as exc:
        problems = [message for messages in (exc.extra.get("fields") or {}).values() for message in messages]
        ContactImport.objects.filter(pk=job_id).update(
            status=ContactImport.Status.FAILED, failure=" ".join([exc.message, *problems])[:500],
            finished_at=timezone.now(), text="",
        )
        return
    except Exception:
        ContactImport.objects.filter(pk=job_id).update(
            status=ContactImport.Status.FAILED, failure="The import stopped unexpectedly; rows before it are saved.",
            finished_at=timezone.now(),
        )
        raise
    ContactImport.objects.filter(pk=job_id).update(
        status=ContactImport.Status.DONE, processed_rows=job.total_rows, created=result.created,
        updated=result.updated, errors=result.errors, warnings=result.warnings, finished_at=timezone.now(), text="",
    )


def contact_import_problems_csv(job: ContactImport) -> str:
    """The rows that were skipped (errors) or imported with something left out (warnings), as CSV."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Row", "Kind", "Problem"])
    problems = [("error", p) for p in job.errors] + [("warning", p) for p in job.warnings]
    for kind, problem in sorted(problems, key=lambda item: (item[1]["row"], item[0])):
        writer.writerow([problem["row"], kind, problem["message"]])
    return out.getvalue()

