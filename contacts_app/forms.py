"""Forms of the CRM pages: they read what was typed and hand it to `contacts_app.services`.

The forms hold only types and labels (a number is a number, an owner is a
user). Every rule — a valid and unique email, a known time zone, a real
domain — is the service's: a `ValidationFailed` it raises is put back on
the form, field by field, with `service_errors_to_form`. Email standing
flags are not offered: they are the contact's doing (unsubscribing, a
bounce), and only an admin's re-permission clears one.
"""
from __future__ import annotations

from typing import Any

from django import forms
from django.db.models.functions import Lower

from accounts_app.models import User
from config.errors import ServiceError
from config.params import id_or_none
from contacts_app.models import Company, Contact


def _owner_field() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("first_name", "last_name", "username"),
        required=False, empty_label="No owner", label="Owner",
    )


class CompanyNameField(forms.CharField):
    """A company typed by name (case-insensitive) or id; empty means none."""

    def clean(self, value: Any) -> Company | None:  # type: ignore[override]
        text = (super().clean(value) or "").strip()
        if not text:
            return None
        found = (Company.objects.filter(pk=id_or_none(text)) if text.isascii() and text.isdigit()
                 else Company.objects.annotate(lower=Lower("name")).filter(lower=text.lower()).order_by("pk"))
        company = found.first()
        if company is None:
            raise forms.ValidationError(f"No company is called “{text}”. Create the company first, then pick it here.")
        return company


class ContactForm(forms.Form):
    email = forms.CharField(label="Email", max_length=254, required=False,
                            widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    first_name = forms.CharField(label="First name", max_length=150, required=False)
    last_name = forms.CharField(label="Last name", max_length=150, required=False)
    job_title = forms.CharField(label="Job title", max_length=200, required=False)
    phone = forms.CharField(label="Phone", max_length=50, required=False)
    company = CompanyNameField(label="Company", required=False,
                               help_text="Type the company's name; the list suggests existing ones.")
    lifecycle_stage = forms.ChoiceField(label="Lifecycle stage", required=False,
                                        choices=[("", "None"), *Contact.LifecycleStage.choices])
    time_zone = forms.CharField(label="Time zone", max_length=64, required=False,
                                help_text="An IANA name such as Europe/Helsinki; empty means the portal's.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"] = _owner_field()

    @staticmethod
    def initial_for(contact: Contact) -> dict[str, Any]:
        return {
            "email": contact.email, "first_name": contact.first_name, "last_name": contact.last_name,
            "job_title": contact.job_title, "phone": contact.phone,
            "company": contact.company.name if contact.company else "", "owner": contact.owner_id,
            "lifecycle_stage": contact.lifecycle_stage, "time_zone": contact.time_zone,
        }


class CompanyForm(forms.Form):
    name = forms.CharField(label="Name", max_length=255)
    domain = forms.CharField(label="Domain", max_length=255, required=False,
                             help_text="Like acme.example; a pasted web address is fine.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"] = _owner_field()

    @staticmethod
    def initial_for(company: Company) -> dict[str, Any]:
        return {"name": company.name, "domain": company.domain, "owner": company.owner_id}


class DealForm(forms.Form):
    name = forms.CharField(label="Name", max_length=255)
    amount = forms.DecimalField(label="Amount", max_digits=14, decimal_places=2, required=False, min_value=0)
    stage = forms.CharField(label="Stage", max_length=64, required=False)
    company = CompanyNameField(label="Company", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"] = _owner_field()

    @staticmethod
    def initial_for(deal: Any) -> dict[str, Any]:
        return {"name": deal.name, "amount": deal.amount, "stage": deal.stage,
                "company": deal.company.name if deal.company else "", "owner": deal.owner_id}


class TicketForm(forms.Form):
    subject = forms.CharField(label="Subject", max_length=255)
    status = forms.CharField(label="Status", max_length=64, required=False, initial="new")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"] = _owner_field()

    @staticmethod
    def initial_for(ticket: Any) -> dict[str, Any]:
        return {"subject": ticket.subject, "status": ticket.status, "owner": ticket.owner_id}


class AssociateForm(forms.Form):
    """Associate a contact with a record: the contact is named by email address."""

    email = forms.EmailField(label="Contact's email address")


def service_errors_to_form(form: forms.Form, error: ServiceError) -> None:
    """Put a service's refusal on the form: each field's sentences beside the field, the rest on top."""
    fields = error.extra.get("fields") or {}
    placed = False
    for name, problems in fields.items():
        # A custom object's "properties.plan" is the form's "plan"; a schema's "properties.0.type" its "properties".
        tail = name.removeprefix("properties.")
        target = name if name in form.fields else tail if tail in form.fields else (
            "properties" if name.startswith("properties") and "properties" in form.fields else None)
        for problem in problems:
            form.add_error(target, problem)
            placed = True
    if not placed:
        form.add_error(None, error.message)


class ObjectSchemaForm(forms.Form):
    """A custom object type; its properties are typed one per line: `plan enumeration starter, team`."""

    label = forms.CharField(label="Label", max_length=120, help_text="What the sidebar shows, e.g. Subscriptions.")
    name = forms.SlugField(label="Name", max_length=64,
                           help_text="Lower-case letters, digits and _; used in addresses and the API.")
    properties = forms.CharField(
        label="Properties", required=False, widget=forms.Textarea(attrs={"rows": 6}),
        help_text=("One per line: a name, a type (string, number, boolean, date, datetime or enumeration) and, "
                   "for enumeration, its options separated by commas — e.g. “plan enumeration starter, team”."),
    )

    def clean_properties(self) -> list[dict[str, Any]]:
        parsed: list[dict[str, Any]] = []
        for line in self.cleaned_data["properties"].splitlines():
            parts = line.strip().split(None, 2)
            if not parts:
                continue
            if len(parts) < 2:
                raise forms.ValidationError(f"“{line.strip()}” needs a name and a type.")
            prop: dict[str, Any] = {"name": parts[0], "type": parts[1].lower()}
            if len(parts) == 3:
                prop["options"] = [option.strip() for option in parts[2].split(",") if option.strip()]
            parsed.append(prop)
        return parsed

    @staticmethod
    def initial_for(schema: Any) -> dict[str, Any]:
        lines = [" ".join([p["name"], p["type"], ", ".join(p.get("options") or [])]).strip()
                 for p in schema.properties]
        return {"label": schema.label, "name": schema.name, "properties": "\n".join(lines)}


def custom_object_form(schema: Any, *args: Any, **kwargs: Any) -> forms.Form:
    """A form with one field per schema property, of the property's type."""
    form = forms.Form(*args, **kwargs)
    for prop in schema.properties:
        label = prop.get("label") or prop["name"].replace("_", " ").capitalize()
        kind = prop["type"]
        if kind == "number":
            field: forms.Field = forms.FloatField(label=label, required=False)
        elif kind == "boolean":
            field = forms.BooleanField(label=label, required=False)
        elif kind == "date":
            field = forms.DateField(label=label, required=False, widget=forms.DateInput(attrs={"type": "date"}))
        elif kind == "enumeration":
            field = forms.ChoiceField(label=label, required=False,
                                      choices=[("", "—"), *[(o, o) for o in prop.get("options") or []]])
        elif kind == "datetime":
            field = forms.CharField(label=label, required=False, help_text="With its offset: 2026-12-01T09:30+02:00.")
        else:
            field = forms.CharField(label=label, required=False, widget=forms.Textarea(attrs={"rows": 2}))
        form.fields[prop["name"]] = field
    return form


def custom_object_values(schema: Any, cleaned: dict[str, Any]) -> dict[str, Any]:
    """The form's values as the service takes them (JSON types); an empty field clears the property."""
    values: dict[str, Any] = {}
    for prop in schema.properties:
        value = cleaned.get(prop["name"])
        if prop["type"] == "boolean":
            values[prop["name"]] = bool(value)
        elif value in (None, ""):
            values[prop["name"]] = None
        elif prop["type"] == "number":
            values[prop["name"]] = int(value) if float(value).is_integer() else value
        elif prop["type"] == "date":
            values[prop["name"]] = value.isoformat()
        else:
            values[prop["name"]] = value
    return values
