"""CRM pages: the contacts index, records (contact, company, deal, ticket, custom object) and lists.

Reads come from selectors; the only writes here are through services
(meeting_record, the CRM records' create/update/associate). Every enrollment entry point on these pages leads to the
one enrollment review screen (sequences_app.pages.enroll).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts_app.models import PortalSettings
from config.errors import ServiceError
from config.paging import paginate
from config.params import id_or_none
from contacts_app import forms, import_jobs, importing, services
from contacts_app import page_selectors as pages
from contacts_app.models import (
    Company,
    Contact,
    ContactImport,
    ContactList,
    CustomObject,
    Deal,
    ObjectSchema,
    Ticket,
)
from contacts_app.selectors import company_name_suggestions, contacts_with_email, list_members, list_sizes
from sequences_app.page_messages import service_error_text
from sequences_app.selectors import sequences_visible_to
from sequences_app.services.meetings import meeting_record

STANDING_LABELS = {
    "email_bounced": "Bounced", "unsubscribed": "Unsubscribed from all email",
    "unsubscribed_sales": "Unsubscribed from sales email", "marked_spam": "Marked an email as spam",
}
# Contacts lists are newest first: "Next" links carry where a page ended (config.paging).
NEWEST = ("created_at", "id")


def _sequence_choices(user: Any) -> list[Any]:
    return list(sequences_visible_to(user).only("id", "name").order_by("name"))


@login_required
def contacts(request: HttpRequest) -> HttpResponse:
    params = request.GET
    filters = {
        "search": params.get("q", "").strip(),
        "stage": params.get("stage", ""),
        "owner": id_or_none(params.get("owner")),
    }
    page = paginate(pages.contacts_index(**filters).order_by("-created_at", "-id"), params, keyset=NEWEST,
                    filtered=any(filters.values()))
    context = {
        "page": page,
        "filters": filters,
        "stages": Contact.LifecycleStage.choices,
        "owners": pages.owners(),
        "live": pages.live_enrollments_by_contact([c.pk for c in page.items], request.user),
        "sequences": _sequence_choices(request.user),
        # What "Select all" enrolls: the review screen reads the same filters back.
        "carry": [
            ("source", "contacts"),
            ("q", filters["search"]),
            ("stage", filters["stage"]),
            ("owner", filters["owner"] or ""),
        ],
    }
    return render(request, "contacts/contacts.html", context)


@login_required
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact = pages.contact_record(pk)
    if contact is None:
        raise Http404("No such contact.")
    context = {
        "contact": contact,
        "sequences": _sequence_choices(request.user),
        "enrollments": pages.contact_enrollments(contact, request.user),
        "portal_tz": PortalSettings.load().time_zone,
        "standing_flags": [(flag, label) for flag, label in STANDING_LABELS.items() if getattr(contact, flag)],
        "repermissions": pages.contact_repermissions(contact),
        **pages.contact_associations(contact),
        **pages.contact_activity(contact, request.user),
    }
    return render(request, "contacts/contact_detail.html", context)


@login_required
@require_POST
def contact_meeting(request: HttpRequest, pk: int) -> HttpResponse:
    """"Log meeting": the same service as `POST /meetings/` (it unenrolls per the sequence's settings)."""
    contact = get_object_or_404(Contact, pk=pk)
    raw = request.POST.get("starts_at", "")
    try:
        local = datetime.fromisoformat(raw)
    except ValueError:
        messages.error(request, "Enter the meeting's date and time.")
        return redirect("contacts:contact", pk=pk)
    if local.tzinfo is None:
        local = local.replace(tzinfo=ZoneInfo(PortalSettings.load().time_zone))
    try:
        meeting_record(contact=contact, user=request.user, caller=request.user, starts_at=local,
                       title=request.POST.get("title", "")[:255])
    except ServiceError as exc:
        messages.error(request, service_error_text(exc))
    else:
        messages.success(request, f"Meeting with {contact} logged.")
    return redirect("contacts:contact", pk=pk)


@login_required
@require_POST
def contact_repermission(request: HttpRequest, pk: int) -> HttpResponse:
    """"Re-permission: the contact asked again" (admins): the same service as the API's."""
    contact = get_object_or_404(Contact, pk=pk)
    try:
        services.contact_repermit(contact=contact, user=request.user, reason=request.POST.get("reason", ""),
                         flags=request.POST.getlist("flags") or None)
    except ServiceError as exc:
        problems = [message for field in (exc.extra.get("fields") or {}).values() for message in field]
        messages.error(request, " ".join([service_error_text(exc), *problems]))
    else:
        messages.success(request, f"{contact} may be emailed again; the re-permission is recorded.")
    return redirect("contacts:contact", pk=pk)


# --- Companies, deals, tickets, custom objects ------------------------------------------------


def _index(request: HttpRequest, queryset: Any, template: str, **extra: Any) -> HttpResponse:
    page = paginate(queryset, request.GET)
    return render(request, template, {"page": page, "q": request.GET.get("q", ""), **extra})


@login_required
def companies(request: HttpRequest) -> HttpResponse:
    return _index(request, pages.companies_index(request.GET.get("q", "").strip()), "contacts/companies.html")


@login_required
def deals(request: HttpRequest) -> HttpResponse:
    return _index(request, pages.deals_index(request.GET.get("q", "").strip()), "contacts/deals.html")


@login_required
def tickets(request: HttpRequest) -> HttpResponse:
    return _index(request, pages.tickets_index(request.GET.get("q", "").strip()), "contacts/tickets.html")


@login_required
def objects(request: HttpRequest, schema: str) -> HttpResponse:
    object_schema = get_object_or_404(ObjectSchema, name=schema)
    return _index(request, pages.objects_index(object_schema), "contacts/objects.html", schema=object_schema)


def _record_page(request: HttpRequest, record: Any, record_type: str, label: str, back: str) -> HttpResponse:
    contacts = list(pages.record_contacts(record)[:100])
    context = {
        "record": record,
        "record_type": record_type,
        "record_label": label,
        "back_url": back,
        "associated": contacts,
        "live": pages.live_enrollments_by_contact([c.pk for c in contacts], request.user),
        "sequences": _sequence_choices(request.user),
        "properties": sorted((record.properties or {}).items()),
        "editable": record_type in KINDS,
    }
    return render(request, "contacts/record_detail.html", context)


@login_required
def company_detail(request: HttpRequest, pk: int) -> HttpResponse:
    company = get_object_or_404(Company.objects.select_related("owner"), pk=pk)
    return _record_page(request, company, "company", "company", "contacts:companies")


@login_required
def deal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    deal = get_object_or_404(Deal.objects.select_related("company", "owner"), pk=pk)
    return _record_page(request, deal, "deal", "deal", "contacts:deals")


@login_required
def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = get_object_or_404(Ticket.objects.select_related("owner"), pk=pk)
    return _record_page(request, ticket, "ticket", "ticket", "contacts:tickets")


@login_required
def object_detail(request: HttpRequest, schema: str, pk: int) -> HttpResponse:
    record = get_object_or_404(CustomObject.objects.select_related("schema"), pk=pk, schema__name=schema)
    return _record_page(request, record, record.schema.name, record.schema.label.lower(), "contacts:objects")


# --- Lists ----------------------------------------------------------------------------------------


@login_required
def lists(request: HttpRequest) -> HttpResponse:
    all_lists = list(ContactList.objects.select_related("created_by").order_by("name", "id")[:200])
    return render(request, "contacts/lists.html", {"lists": all_lists, "sizes": list_sizes(all_lists)})


@login_required
def list_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact_list = get_object_or_404(ContactList, pk=pk)
    members = list_members(contact_list=contact_list).select_related("company", "owner").order_by("-created_at", "-id")
    page = paginate(members, request.GET, keyset=NEWEST, filtered=True)
    context = {
        "contact_list": contact_list,
        "page": page,
        "size": page.total,
        "live": pages.live_enrollments_by_contact([c.pk for c in page.items], request.user),
        "sequences": _sequence_choices(request.user),
        "carry": [("source", "list"), ("list", contact_list.pk)],
    }
    return render(request, "contacts/list_detail.html", context)


# --- Creating and editing records ------------------------------------------------------------
# The forms read what was typed; the services (the API's own) decide and save.


@dataclass(frozen=True)
class _Kind:
    form: type[forms.Form]
    model: type[Any]
    label: str
    plural: str
    index: str
    detail: str
    create: Callable[[dict[str, Any]], Any]
    update: Callable[[Any, dict[str, Any]], Any]


KINDS: dict[str, _Kind] = {
    "contact": _Kind(forms.ContactForm, Contact, "contact", "Contacts", "contacts:contacts", "contacts:contact",
                     lambda data: services.contact_create(**data),
                     lambda record, data: services.contact_update(contact=record, data=data)),
    "company": _Kind(forms.CompanyForm, Company, "company", "Companies", "contacts:companies", "contacts:company",
                     lambda data: services.company_create(**data),
                     lambda record, data: services.company_update(company=record, data=data)),
    "deal": _Kind(forms.DealForm, Deal, "deal", "Deals", "contacts:deals", "contacts:deal",
                  lambda data: services.deal_create(**data),
                  lambda record, data: services.deal_update(deal=record, data=data)),
    "ticket": _Kind(forms.TicketForm, Ticket, "ticket", "Tickets", "contacts:tickets", "contacts:ticket",
                    lambda data: services.ticket_create(**data),
                    lambda record, data: services.ticket_update(ticket=record, data=data)),
}


def _record_form(request: HttpRequest, kind_name: str, pk: int | None = None) -> HttpResponse:
    kind = KINDS[kind_name]
    record = get_object_or_404(kind.model, pk=pk) if pk is not None else None
    if request.method == "POST":
        form = kind.form(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            if kind_name == "ticket" and not data.get("status"):
                data["status"] = "new"
            try:
                saved = kind.create(data) if record is None else kind.update(record, data)
            except ServiceError as exc:
                forms.service_errors_to_form(form, exc)
            else:
                messages.success(request, f"{kind.label.capitalize()} “{saved}” {'saved' if record else 'created'}.")
                return redirect(kind.detail, pk=saved.pk)
    else:
        form = kind.form(initial=kind.form.initial_for(record) if record is not None else None)
    context = {
        "form": form, "record": record, "kind": kind, "kind_name": kind_name,
        "back_url": reverse(kind.detail, args=[record.pk]) if record is not None else reverse(kind.index),
        "company_names": company_name_suggestions() if "company" in form.fields else [],
    }
    return render(request, "contacts/record_form.html", context, status=400 if form.errors else 200)


@login_required
def record_new(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in KINDS:
        raise Http404("No such record type.")
    return _record_form(request, kind)


@login_required
def record_edit(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    if kind not in KINDS:
        raise Http404("No such record type.")
    return _record_form(request, kind, pk)


_ASSOCIABLE = {"company": Company, "deal": Deal, "ticket": Ticket}


@login_required
@require_POST
def record_associate(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """Associate a contact (named by email) with a company, deal or ticket."""
    if kind not in _ASSOCIABLE:
        raise Http404("No such record type.")
    record = get_object_or_404(_ASSOCIABLE[kind], pk=pk)
    form = forms.AssociateForm(request.POST)
    contact = None
    if form.is_valid():
        contact = contacts_with_email(form.cleaned_data["email"]).first()
        if contact is None:
            messages.error(request, f"No contact has the email address {form.cleaned_data['email']}. "
                                    "Create the contact first.")
    else:
        messages.error(request, "Enter the contact's email address.")
    if contact is not None:
        try:
            services.record_contacts_add(record=record, contacts=[contact])
        except ServiceError as exc:
            messages.error(request, service_error_text(exc))
        else:
            messages.success(request, f"{contact} is now associated with this {kind}.")
    return redirect(KINDS[kind].detail, pk=pk)


@login_required
@require_POST
def record_dissociate(request: HttpRequest, kind: str, pk: int, contact_pk: int) -> HttpResponse:
    if kind not in _ASSOCIABLE:
        raise Http404("No such record type.")
    record = get_object_or_404(_ASSOCIABLE[kind], pk=pk)
    contact = get_object_or_404(Contact, pk=contact_pk)
    services.record_contacts_remove(record=record, contacts=[contact])
    messages.success(request, f"{contact} is no longer associated with this {kind}.")
    return redirect(KINDS[kind].detail, pk=pk)


# --- CSV import -----------------------------------------------------------------------------------
# Upload -> map columns (guessed from the header) with a live preview -> run -> progress -> result.


def _import_job(request: HttpRequest, pk: int) -> ContactImport:
    return get_object_or_404(import_jobs.contact_imports_visible_to(request.user), pk=pk)


def _mapping_from(request: HttpRequest, job: ContactImport) -> list[str]:
    return [request.POST.get(f"column-{index}", importing.SKIP) for index in range(len(job.header))]


def _mapping_context(job: ContactImport, mapping: list[str]) -> dict[str, Any]:
    return {
        "job": job,
        "columns": [
            {"index": index, "name": name, "target": target, "property": importing.property_key(name)}
            for index, (name, target) in enumerate(zip(job.header, mapping, strict=False))
        ],
        "targets": list(importing.FIELD_TARGETS.items()),
        "preview": import_jobs.contact_import_preview(job=job, mapping=mapping),
        "inline_rows": import_jobs.INLINE_ROWS,
    }


@login_required
def contact_import(request: HttpRequest) -> HttpResponse:
    """Step 1: choose a file (our column names or a HubSpot contacts export)."""
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            error = "Choose a CSV file to import."
        else:
            try:
                job = import_jobs.contact_import_start(file=upload, size=upload.size, file_name=upload.name,
                                                       user=request.user)
            except ServiceError as exc:
                error = " ".join(m for field in (exc.extra.get("fields") or {}).values() for m in field) or exc.message
            else:
                return redirect("contacts:import-job", pk=job.pk)
    recent = list(import_jobs.contact_imports_visible_to(request.user).defer("text")[:10])
    return render(request, "contacts/import_upload.html", {"error": error, "recent": recent,
                                                           "max_rows": importing.IMPORT_MAX_ROWS},
                  status=400 if error else 200)


@login_required
def contact_import_job(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 2 (mapping and preview) while the import waits; then its progress and its result."""
    job = _import_job(request, pk)
    if job.status == ContactImport.Status.MAPPING:
        return render(request, "contacts/import_map.html", _mapping_context(job, job.mapping))
    return render(request, "contacts/import_result.html", {"job": job, "errors_shown": job.errors[:100]})


@login_required
@require_POST
def contact_import_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: the preview again after a column's mapping changed."""
    job = _import_job(request, pk)
    if job.status != ContactImport.Status.MAPPING:
        return HttpResponse(status=409)
    return render(request, "contacts/includes/import_preview.html", _mapping_context(job, _mapping_from(request, job)))


@login_required
@require_POST
def contact_import_run(request: HttpRequest, pk: int) -> HttpResponse:
    job = _import_job(request, pk)
    mapping = _mapping_from(request, job)
    if job.status == ContactImport.Status.MAPPING:
        try:
            import_jobs.contact_import_run(job=job, mapping=mapping)
        except ServiceError as exc:
            context = _mapping_context(job, mapping)
            context["mapping_errors"] = (exc.extra.get("fields") or {}).get("mapping") or [exc.message]
            return render(request, "contacts/import_map.html", context, status=400)
    return redirect("contacts:import-job", pk=pk)


@login_required
def contact_import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx polls this while the import runs; when it has ended the page reloads into the result."""
    job = _import_job(request, pk)
    response = render(request, "contacts/includes/import_progress.html", {"job": job})
    if job.status in (ContactImport.Status.DONE, ContactImport.Status.FAILED):
        response["HX-Refresh"] = "true"
    return response


@login_required
def contact_import_problems(request: HttpRequest, pk: int) -> HttpResponse:
    job = _import_job(request, pk)
    response = HttpResponse(import_jobs.contact_import_problems_csv(job), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-problems.csv"'
    return response


# --- Custom object types (admins) and their records ------------------------------------------------


@login_required
def object_types(request: HttpRequest) -> HttpResponse:
    schemas = list(ObjectSchema.objects.order_by("label"))
    return render(request, "contacts/object_types.html", {"schemas": schemas})


@login_required
def object_type_form(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    schema = get_object_or_404(ObjectSchema, pk=pk) if pk is not None else None
    try:
        services.object_schema_require_admin(request.user)
    except ServiceError as exc:
        messages.error(request, service_error_text(exc))
        return redirect("contacts:object-types")
    if request.method == "POST":
        form = forms.ObjectSchemaForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if schema is None:
                    schema = services.object_schema_create(name=data["name"], label=data["label"],
                                                           properties=data["properties"])
                else:
                    services.object_schema_update(schema=schema, data=data)
            except ServiceError as exc:
                forms.service_errors_to_form(form, exc)
            else:
                messages.success(request, f"Object type “{schema.label}” saved.")
                return redirect("contacts:objects", schema=schema.name)
    else:
        form = forms.ObjectSchemaForm(initial=forms.ObjectSchemaForm.initial_for(schema) if schema else None)
    context = {"form": form, "schema": schema}
    return render(request, "contacts/object_type_form.html", context, status=400 if form.errors else 200)


@login_required
def object_form(request: HttpRequest, schema: str, pk: int | None = None) -> HttpResponse:
    object_schema = get_object_or_404(ObjectSchema, name=schema)
    record = get_object_or_404(CustomObject, pk=pk, schema=object_schema) if pk is not None else None
    if request.method == "POST":
        form = forms.custom_object_form(object_schema, request.POST)
        if form.is_valid():
            values = forms.custom_object_values(object_schema, form.cleaned_data)
            try:
                if record is None:
                    record = services.custom_object_create(schema=object_schema, properties=values)
                else:
                    services.custom_object_update(record=record, data={"properties": values})
            except ServiceError as exc:
                forms.service_errors_to_form(form, exc)
            else:
                messages.success(request, f"{record} saved.")
                return redirect("contacts:object", schema=schema, pk=record.pk)
    else:
        form = forms.custom_object_form(object_schema, initial=dict(record.properties) if record else None)
    back = (reverse("contacts:object", args=[schema, record.pk]) if record
            else reverse("contacts:objects", args=[schema]))
    return render(request, "contacts/object_form.html",
                  {"form": form, "schema": object_schema, "record": record, "back_url": back},
                  status=400 if form.errors else 200)
