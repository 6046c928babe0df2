"""Celery tasks of the CRM: thin wrappers that take ids and call services."""
from __future__ import annotations

from celery import shared_task

from contacts_app.import_jobs import contact_import_execute


@shared_task(name="nudge.contact_import", ignore_result=True, time_limit=1800, soft_time_limit=1700)
def contact_import(job_id: int) -> None:
    contact_import_execute(job_id)
