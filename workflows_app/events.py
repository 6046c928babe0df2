"""Where the rest of Nudge tells workflows that something happened (the emitting side).

Contacts created, changed, imported, moved between companies (or their
company renamed) or added to a static list, and enrollments that ended,
each call one function here from inside the
transaction that made the change. The function writes a `WorkflowEvent`
row in that same transaction (so an event exists exactly when its change
was committed, and a rolled-back change leaves none) and asks a worker to
process it with `transaction.on_commit`; `workflows_app.triggers` does the
rest. Nothing is written when no enabled workflow could care.

A contact change needs to know what the contact matched *before* it:
`contact_changing` is called just before the change is saved. It reads the
stored row to see which fields change, keeps the watched filters
(property_matches workflows, active lists of list_joined workflows) that
read one of them — an edit nothing looks at writes no event at all — and
asks the database, in one query, which of those the stored row matches. The
worker later compares with what the contact matches then, so an edit that
leaves a matching contact matching fires nothing.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from contacts_app.filters import BOOLEAN_FIELDS, ID_FIELDS, TEXT_FIELDS
from contacts_app.models import Contact, ContactList
from workflows_app.matching import contacts_matching
from workflows_app.models import TriggerType, Workflow, WorkflowEvent

# Contacts per event: an import batch, a big list add or a mass unenroll become several events.
EVENT_BATCH = 1000
CONTACT_TRIGGERS = (TriggerType.CONTACT_CREATED, TriggerType.PROPERTY_MATCHES, TriggerType.LIST_JOINED)
# The contact columns the filter language reads (`company.name` and `company.domain` through company_id).
_COLUMNS = (*(name for name in TEXT_FIELDS if "." not in name), *BOOLEAN_FIELDS, *ID_FIELDS.values())


def contact_created(contact: Contact) -> None:
    """A contact was created (call after saving it)."""
    contacts_imported(created=[contact], changed=(), source="created")


def contact_changing(contact: Contact) -> None:
    """A stored contact is about to change (call before saving it): record what it matched before."""
    workflows = enabled_workflows(CONTACT_TRIGGERS)
    watched = watched_filters(workflows)
    if not watched:
        return
    watched = _looking_at(watched, fields_changed([contact]))
    if not watched:
        return  # no watched filter looks at what changed: nobody can start matching
    before = contacts_matching([contact.pk], watched).get(contact.pk, set())
    _emit(
        WorkflowEvent.Kind.CONTACTS,
        {"created": [], "changed": {str(contact.pk): sorted(before)}, "watched": sorted(watched), "source": "changed"},
    )


def contacts_imported(*, created: Iterable[Contact], changed: Iterable[Contact], source: str = "import") -> None:
    """A batch of contacts was inserted (`created`) and is about to be updated (`changed`).

    Call after inserting and before updating, so `changed` are still stored
    as they were: one event for the whole batch, and for the changed
    contacts one query reading their stored rows and one for what those
    matched.
    """
    changed = list(changed)
    created_ids = [contact.pk for contact in created]
    changed_ids = [contact.pk for contact in changed]
    if not created_ids and not changed_ids:
        return
    workflows = enabled_workflows(CONTACT_TRIGGERS)
    if not workflows:
        return
    watched = watched_filters(workflows)
    if not any(_cares_about_new_contacts(workflow) for workflow in workflows):
        created_ids = []
    if watched and changed_ids:
        watched = _looking_at(watched, fields_changed(list(changed)))
    if not watched:
        changed_ids = []
    before = contacts_matching(changed_ids, watched) if changed_ids else {}
    for start in range(0, max(len(created_ids), len(changed_ids)), EVENT_BATCH):
        created_part = created_ids[start : start + EVENT_BATCH]
        changed_part = {str(pk): sorted(before.get(pk, ())) for pk in changed_ids[start : start + EVENT_BATCH]}
        if created_part or changed_part:
            payload = {"created": created_part, "changed": changed_part, "watched": sorted(watched), "source": source}
            _emit(WorkflowEvent.Kind.CONTACTS, payload)


def contacts_company_changing(contact_ids: Iterable[int]) -> None:
    """These stored contacts' company is about to change: they move to another company (or none), or their
    company is renamed or gets a new domain. Call before saving: filters on `company.*` are evaluated
    as they stand now, and the worker compares after."""
    watched = _looking_at(watched_filters(enabled_workflows(CONTACT_TRIGGERS)), {"company"})
    if not watched:
        return
    ids = list(contact_ids)  # read only now: nothing to read when no workflow looks at companies
    if not ids:
        return
    before = contacts_matching(ids, watched)
    for start in range(0, len(ids), EVENT_BATCH):
        changed = {str(pk): sorted(before.get(pk, ())) for pk in ids[start : start + EVENT_BATCH]}
        _emit(
            WorkflowEvent.Kind.CONTACTS,
            {"created": [], "changed": changed, "watched": sorted(watched), "source": "company"},
        )


def list_members_added(contact_list: ContactList, contact_ids: Sequence[int]) -> None:
    """Contacts were put on a static list (only those that were not on it before)."""
    if not contact_ids:
        return
    wanted = Workflow.objects.filter(enabled=True, trigger_type=TriggerType.LIST_JOINED, trigger_list=contact_list)
    if not wanted.exists():
        return
    ids = list(contact_ids)
    for start in range(0, len(ids), EVENT_BATCH):
        _emit(WorkflowEvent.Kind.LIST_JOINED, {"list": contact_list.pk, "contacts": ids[start : start + EVENT_BATCH]})


def enrollments_ended(enrollment_ids: Iterable[int]) -> None:
    """Enrollments finished or were unenrolled (any reason): the sequence_ended trigger."""
    ids = list(enrollment_ids)
    if not ids or not Workflow.objects.filter(enabled=True, trigger_type=TriggerType.SEQUENCE_ENDED).exists():
        return
    for start in range(0, len(ids), EVENT_BATCH):
        _emit(WorkflowEvent.Kind.ENROLLMENTS_ENDED, {"enrollments": ids[start : start + EVENT_BATCH]})


# --- Shared with the processing side ---------------------------------------------------------


def enabled_workflows(types: Iterable[str]) -> list[Workflow]:
    workflows = Workflow.objects.filter(enabled=True, trigger_type__in=list(types))
    return list(workflows.select_related("trigger_list").order_by("pk"))


def watched_filters(workflows: Iterable[Workflow]) -> dict[str, list[dict[str, Any]]]:
    """Filters whose before/after a contact change decides: `w<id>` per property_matches
    workflow, `l<id>` per active list a list_joined workflow waits on."""
    watched: dict[str, list[dict[str, Any]]] = {}
    for workflow in workflows:
        if workflow.trigger_type == TriggerType.PROPERTY_MATCHES:
            watched[workflow_key(workflow)] = workflow.trigger_filters
        elif _waits_on_active_list(workflow):
            watched[list_key(workflow.trigger_list)] = workflow.trigger_list.filters
    return watched


def fields_changed(contacts: Sequence[Contact]) -> set[str]:
    """What the unsaved `contacts` change, in the filter language's names (`lifecycle_stage`, `owner`,
    `company`, `properties.city`): one query reads the stored rows to compare."""
    by_pk = {contact.pk: contact for contact in contacts}
    changed: set[str] = set()
    for row in Contact.objects.filter(pk__in=list(by_pk)).values("pk", *_COLUMNS, "properties"):
        contact = by_pk[row["pk"]]
        for column in _COLUMNS:
            if getattr(contact, column) != row[column]:
                changed.add(column.removesuffix("_id"))
        stored, now = row["properties"] or {}, contact.properties or {}
        changed.update(f"properties.{key}" for key in stored.keys() | now.keys() if stored.get(key) != now.get(key))
    return changed


def filter_fields(filters: list[dict[str, Any]]) -> set[str]:
    """The contact fields a filter set reads (`company.name` reads `company`)."""
    return {item["field"].split(".")[0] if item["field"].startswith("company.") else item["field"] for item in filters}


def _looking_at(watched: dict[str, list[dict[str, Any]]], changed: set[str]) -> dict[str, list[dict[str, Any]]]:
    return {key: filters for key, filters in watched.items() if filter_fields(filters) & changed}


def workflow_key(workflow: Workflow) -> str:
    return f"w{workflow.pk}"


def list_key(contact_list: ContactList) -> str:
    return f"l{contact_list.pk}"


def _waits_on_active_list(workflow: Workflow) -> bool:
    return (
        workflow.trigger_type == TriggerType.LIST_JOINED
        and workflow.trigger_list is not None
        and workflow.trigger_list.kind == ContactList.Kind.ACTIVE
    )


def _cares_about_new_contacts(workflow: Workflow) -> bool:
    return workflow.trigger_type in (TriggerType.CONTACT_CREATED, TriggerType.PROPERTY_MATCHES) or (
        _waits_on_active_list(workflow)
    )


def _emit(kind: str, payload: dict[str, Any]) -> None:
    now = timezone.now()
    event = WorkflowEvent.objects.create(
        kind=kind,
        payload=payload,
        created_at=now,
        # If the worker asked for below never gets it, the tick hands it out again after this.
        next_attempt_at=now + timedelta(seconds=settings.SCHEDULER_CLAIM_LEASE_SECONDS),
    )
    # robust: a broker that is down must not fail the request that changed the contact;
    # the tick picks the event up later.
    transaction.on_commit(lambda: _enqueue(event.pk), robust=True)


def _enqueue(event_id: int) -> None:
    from workflows_app.tasks import process_event

    process_event.delay(event_id)
