"""Reads behind the CRM pages: each page's rows with what it shows, in a fixed number of queries."""
from __future__ import annotations

from django.db.models import F, Prefetch, Q, QuerySet

from accounts_app.models import User
from contacts_app.models import (
    Company,
    Contact,
    ContactList,
    CustomObject,
    Deal,
    ObjectSchema,
    Repermission,
    Ticket,
)
from contacts_app.selectors import contacts_filtered
from sequences_app.models import EmailEvent, Enrollment, EnrollmentStep, Meeting, Task
from sequences_app.selectors import enrollment_details_visible_to


def contacts_index(
    *, search: str = "", stage: str = "", owner: int | None = None, company: int | None = None
) -> QuerySet[Contact]:
    """The contacts index's filtered set (also what "Select all" enrolls)."""
    contacts = contacts_filtered(search=search, owner=owner, company=company)
    if stage:
        contacts = contacts.filter(lifecycle_stage=stage)
    return contacts.select_related("company", "owner")


def live_enrollments_by_contact(contact_ids: list[int], viewer: User) -> dict[int, Enrollment]:
    """Each contact's running enrollment (at most one per contact), for a page of rows in one query.

    Each has `details_visible`: whether the viewer may see which sequence (see
    `enrollment_details_visible_to`); the page shows only "in a sequence" otherwise.
    """
    rows = (
        Enrollment.objects.filter(contact_id__in=contact_ids, status__in=Enrollment.LIVE_STATUSES)
        .select_related("sequence")
        .only("id", "contact_id", "status", "sender_id", "sequence__id", "sequence__name")
    )
    found = {}
    for row in rows:
        row.details_visible = enrollment_details_visible_to(viewer, row.sender_id)
        found[row.contact_id] = row
    return found


def owners() -> QuerySet[User]:
    return User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")


def contact_record(pk: int) -> Contact | None:
    return Contact.objects.select_related("company", "owner").filter(pk=pk).first()


def contact_associations(contact: Contact) -> dict[str, list[object]]:
    return {
        "deals": list(contact.deals.all()[:20]),
        "tickets": list(contact.tickets.all()[:20]),
        "objects": list(contact.custom_objects.select_related("schema")[:20]),
        "lists": list(ContactList.objects.filter(memberships__contact=contact)[:20]),
    }


def contact_activity(contact: Contact, viewer: User) -> dict[str, list[object]]:
    """Events (each with `sequence_shown`: whether the viewer may see its sequence), meetings and tasks."""
    events = list(
        EmailEvent.objects.filter(contact=contact).select_related("sequence")
        .annotate(enrollment_sender_id=F("enrollment__sender_id"))[:25]
    )
    for event in events:
        event.sequence_shown = event.enrollment_id is None or enrollment_details_visible_to(
            viewer, event.enrollment_sender_id
        )
    return {
        "events": events,
        "meetings": list(Meeting.objects.filter(contact=contact).select_related("user")[:10]),
        "tasks": list(Task.objects.filter(contact=contact).select_related("owner").order_by("-created_at")[:20]),
    }


def contact_repermissions(contact: Contact) -> list[Repermission]:
    return list(Repermission.objects.filter(contact=contact)[:20])


def contact_enrollments(contact: Contact, viewer: User) -> list[Enrollment]:
    """The contact's enrollment history, newest first, each with its steps (two queries) and
    `details_visible` (the viewer sees only "in a sequence" for the others)."""
    enrollments = list(
        Enrollment.objects.filter(contact=contact)
        .select_related("sequence", "sender")
        .prefetch_related(Prefetch("steps", queryset=EnrollmentStep.objects.order_by("order")))
        .order_by("-enrolled_at", "-id")[:20]
    )
    for enrollment in enrollments:
        enrollment.details_visible = enrollment_details_visible_to(viewer, enrollment.sender_id)
    return enrollments


def companies_index(search: str = "") -> QuerySet[Company]:
    companies = Company.objects.all()
    if search:
        companies = companies.filter(Q(name__icontains=search) | Q(domain__icontains=search))
    return companies.select_related("owner")


def deals_index(search: str = "") -> QuerySet[Deal]:
    deals = Deal.objects.all()
    if search:
        deals = deals.filter(name__icontains=search)
    return deals.select_related("company", "owner")


def tickets_index(search: str = "") -> QuerySet[Ticket]:
    tickets = Ticket.objects.all()
    if search:
        tickets = tickets.filter(subject__icontains=search)
    return tickets.select_related("owner")


def objects_index(schema: ObjectSchema) -> QuerySet[CustomObject]:
    return CustomObject.objects.filter(schema=schema).select_related("schema")


def record_contacts(record: Company | Deal | Ticket | CustomObject) -> QuerySet[Contact]:
    """The contacts associated with a record (the ones it can enroll)."""
    contacts = Contact.objects.filter(company=record) if isinstance(record, Company) else record.contacts.all()
    return contacts.select_related("company").order_by("last_name", "first_name", "id")
