"""Writes over CRM records: contacts, companies, deals, tickets, custom objects, lists, the blocklist.

The rules live here once, for the API, pages, imports and workflows alike:
contact emails are stored lower-case and unique, time zones are IANA names,
free-form properties are flat and addressable by the list filter language,
custom-object records match their schema's property types, and only static
lists take members by hand. (The CSV import is in `contacts_app.importing`.)

Email standing (STANDING_FLAGS) is the contact's own doing: the
unsubscribe link, a bounce and a complaint raise the flags
(`sequences_app.services.stops.contact_flags_set`). Anyone may raise one by
hand (the person said "stop" on the phone); nobody clears one through an
edit (403 EMAIL_STANDING_READ_ONLY) — only an admin's audited
`contact_repermit` ("re-permission: the contact asked again") does.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from decimal import Decimal
from itertools import chain
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from accounts_app.models import User
from accounts_app.services import time_zone_is_valid
from config.errors import Conflict, NotAllowed, ValidationFailed
from contacts_app.filters import FilterError, filters_to_q, filters_validate
from contacts_app.models import (
    BlockedEntry,
    Company,
    Contact,
    ContactList,
    CustomObject,
    Deal,
    ListMembership,
    ObjectSchema,
    Repermission,
    Ticket,
)
from contacts_app.selectors import contacts_with_email
from sequences_app.services.stops import enrollments_stop_contact_deleted
from workflows_app import events as workflow_events

# Same shape the filter language accepts after `properties.`, so every stored
# property can be used in an active list.
PROPERTY_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
MAX_PROPERTIES = 200
MAX_PROPERTY_TEXT = 10_000
MAX_LIST_FILTERS = 50
# `record.type` of an enrollment names these built-ins beside custom schemas.
RESERVED_SCHEMA_NAMES = frozenset({"contact", "contacts", "company", "companies", "deal", "deals", "ticket", "tickets"})
_DOMAIN = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_SCALAR = str | int | float | bool

# Email standing: any of these keeps the contact out of sequences.
STANDING_FLAGS = ("email_bounced", "unsubscribed", "unsubscribed_sales", "marked_spam")
STANDING_READ_ONLY = "EMAIL_STANDING_READ_ONLY"
MAX_REPERMISSION_REASON = 500
CONTACT_FIELDS = (
    "email", "first_name", "last_name", "job_title", "phone", "company", "owner", "lifecycle_stage",
    "time_zone", "email_bounced", "bounce_reason", "unsubscribed", "unsubscribed_sales", "marked_spam",
)


# --- Small normalisers shared with the importer -------------------------------------------------


def email_normalize(email: str | None) -> str:
    return (email or "").strip().lower()


def domain_normalize(value: str | None) -> str:
    """`https://www.Acme.example/about` -> `acme.example`: what a rep pastes becomes a bare domain."""
    domain = (value or "").strip().lower()
    domain = re.sub(r"^[a-z][a-z0-9+.-]*://", "", domain).split("/", 1)[0].split("?", 1)[0]
    return domain.removeprefix("www.").rstrip(".")


def domain_is_valid(domain: str) -> bool:
    return bool(_DOMAIN.match(domain))


def properties_validate(value: Any, *, field: str = "properties") -> dict[str, Any]:
    """A flat object of scalar values (or null, which removes the key on update)."""
    if not isinstance(value, dict):
        raise ValidationFailed("Properties must be an object.", fields={field: ["Must be a JSON object."]})
    if len(value) > MAX_PROPERTIES:
        raise ValidationFailed("Too many properties.", fields={field: [f"At most {MAX_PROPERTIES} properties."]})
    errors: dict[str, list[str]] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not PROPERTY_NAME.match(key):
            errors[f"{field}.{key}"] = [
                "A property name starts with a letter or _ and has only letters, digits and _ (at most 100)."
            ]
        elif item is not None and not isinstance(item, _SCALAR):
            errors[f"{field}.{key}"] = ["A property value is text, a number, true/false or null."]
        elif isinstance(item, str) and len(item) > MAX_PROPERTY_TEXT:
            errors[f"{field}.{key}"] = [f"At most {MAX_PROPERTY_TEXT} characters."]
    if errors:
        raise ValidationFailed("Some properties are not valid.", fields=errors)
    return value


def properties_merge(current: dict[str, Any] | None, changes: dict[str, Any]) -> dict[str, Any]:
    """Update semantics of `properties`: given keys change, null removes a key, others stay."""
    merged = dict(current or {})
    for key, item in changes.items():
        if item is None:
            merged.pop(key, None)
        else:
            merged[key] = item
    return merged


# --- Contacts -----------------------------------------------------------------------------------


@transaction.atomic
def contact_create(*, email: str = "", properties: dict[str, Any] | None = None, **fields: Any) -> Contact:
    contact = Contact(email=email_normalize(email))
    _contact_apply(contact, fields)
    contact.properties = properties_merge({}, properties_validate(properties or {}))
    _contact_check(contact)
    contact.save()
    workflow_events.contact_created(contact)
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, data: dict[str, Any]) -> Contact:
    """Change the given fields; `properties` merges (null removes a key)."""
    data = dict(data)
    standing_refuse_clearing(contact, data)
    if "email" in data:
        contact.email = email_normalize(data.pop("email"))
    if "properties" in data:
        contact.properties = properties_merge(contact.properties, properties_validate(data.pop("properties")))
    _contact_apply(contact, data)
    _contact_check(contact)
    workflow_events.contact_changing(contact)  # before saving: what the stored row matched
    contact.save()
    return contact


def standing_refuse_clearing(contact: Contact, data: dict[str, Any]) -> None:
    """Refuse an edit that would clear an email-standing flag the contact has (raising one is fine)."""
    cleared = [flag for flag in STANDING_FLAGS if flag in data and not data[flag] and getattr(contact, flag)]
    if cleared:
        raise NotAllowed(
            STANDING_READ_ONLY,
            "Email standing is set by what the contact did; only an admin's re-permission (the contact asked "
            "again) clears it.",
            fields={flag: ["Only an admin's re-permission clears this."] for flag in cleared},
        )


@transaction.atomic
def contact_repermit(
    *, contact: Contact, user: User, reason: Any, flags: Iterable[str] | None = None, now: dt.datetime | None = None
) -> Repermission:
    """"Re-permission: the contact asked again" — an admin clears email-standing flags, with the reason.

    1. Only admins (403 PERMISSION_DENIED); a reason is required.
    2. `flags` are the ones to clear (default: every one the contact has);
       naming a flag the contact doesn't have is a VALIDATION_ERROR.
    3. Clearing `email_bounced` clears the bounce reason too.
    4. A `Repermission` row records who, when, why and what was cleared;
       workflows hear of the change like any contact edit.
    """
    if not (user.is_active and user.is_staff):
        raise NotAllowed("PERMISSION_DENIED", "Only an admin may re-permission a contact.")
    errors: dict[str, list[str]] = {}
    text = reason.strip() if isinstance(reason, str) else ""
    if not text or "\x00" in text:
        errors["reason"] = ["Say why: how and when the contact asked to be emailed again."]
    elif len(text) > MAX_REPERMISSION_REASON:
        errors["reason"] = [f"At most {MAX_REPERMISSION_REASON} characters."]
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    held = [flag for flag in STANDING_FLAGS if getattr(contact, flag)]
    wanted = list(held if flags is None else dict.fromkeys(flags))
    unknown = [flag for flag in wanted if flag not in STANDING_FLAGS]
    if unknown:
        errors["flags"] = [f"Choose among {', '.join(STANDING_FLAGS)}."]
    elif not wanted or any(flag not in held for flag in wanted):
        errors["flags"] = ["The contact has none of these flags set." if not held or not wanted
                           else f"The contact has only {', '.join(held)} set."]
    if errors:
        raise ValidationFailed("The contact was not re-permissioned.", fields=errors)
    now = now or timezone.now()
    record = Repermission.objects.create(
        contact=contact, contact_email=contact.email, by=user, by_name=str(user)[:300], at=now, cleared=wanted,
        bounce_reason=contact.bounce_reason if "email_bounced" in wanted else "", reason=text,
    )
    workflow_events.contact_changing(contact)  # before saving: what the stored row matched
    for flag in wanted:
        setattr(contact, flag, False)
    if "email_bounced" in wanted:
        contact.bounce_reason = ""
        contact.bounce_code = ""
    contact.save()
    return record


@transaction.atomic
def contact_delete(*, contact: Contact) -> None:
    """Delete a contact. Its live enrollments end CONTACT_DELETED first; all keep their history (contact NULL)."""
    enrollments_stop_contact_deleted(contact=contact)
    contact.delete()


def _contact_apply(contact: Contact, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        if name not in CONTACT_FIELDS or name == "email":
            raise TypeError(f"contact has no writable field {name!r}")
        setattr(contact, name, value.strip() if isinstance(value, str) else value)


def _contact_check(contact: Contact) -> None:
    errors: dict[str, list[str]] = {}
    if contact.email:
        try:
            validate_email(contact.email)
        except DjangoValidationError:
            errors["email"] = ["Enter a valid email address."]
        else:
            clash = contacts_with_email(contact.email).exclude(pk=contact.pk).values_list("pk", flat=True)
            if clash_pk := clash.first():
                errors["email"] = [f"Contact {clash_pk} already has this email address."]
    if contact.time_zone and not time_zone_is_valid(contact.time_zone):
        errors["time_zone"] = [f"{contact.time_zone!r} is not an IANA time zone such as 'Europe/Helsinki'."]
    if contact.lifecycle_stage and contact.lifecycle_stage not in Contact.LifecycleStage.values:
        errors["lifecycle_stage"] = [f"Choose one of {', '.join(Contact.LifecycleStage.values)}."]
    if errors:
        raise ValidationFailed("The contact was not saved.", fields=errors)


# --- Companies, deals, tickets ------------------------------------------------------------------


@transaction.atomic
def company_create(
    *, name: str, domain: str = "", properties: dict[str, Any] | None = None, owner: User | None = None,
    contacts: Iterable[Contact] | None = None,
) -> Company:
    company = Company(
        name=name.strip(), owner=owner, properties=properties_merge({}, properties_validate(properties or {}))
    )
    company.domain = _domain_checked(domain)
    company.save()
    if contacts is not None:
        _company_contacts_set(company, contacts)
    return company


@transaction.atomic
def company_update(*, company: Company, data: dict[str, Any]) -> Company:
    """Change the given fields; `contacts` is the complete set of the company's contacts."""
    if "name" in data:
        company.name = data["name"].strip()
    if "domain" in data:
        company.domain = _domain_checked(data["domain"])
    if "owner" in data:
        company.owner = data["owner"]
    if "properties" in data:
        company.properties = properties_merge(company.properties, properties_validate(data["properties"]))
    stored = Company.objects.filter(pk=company.pk).values("name", "domain").first()
    if stored is not None and (stored["name"], stored["domain"]) != (company.name, company.domain):
        # Filters on company.name / company.domain may now match (or stop matching) its contacts.
        workflow_events.contacts_company_changing(company.contacts.values_list("pk", flat=True))
    company.save()
    if "contacts" in data:
        _company_contacts_set(company, data["contacts"])
    return company


@transaction.atomic
def company_delete(*, company: Company) -> None:
    """Delete a company; its contacts stay, without a company."""
    workflow_events.contacts_company_changing(company.contacts.values_list("pk", flat=True))
    company.delete()


def _company_contacts_set(company: Company, contacts: Iterable[Contact]) -> None:
    # A contact belongs to one company: naming it here moves it from any other.
    ids = [contact.pk for contact in contacts]
    now = timezone.now()
    leaving = Contact.objects.filter(company=company).exclude(pk__in=ids)
    joining = Contact.objects.filter(pk__in=ids).exclude(company=company)
    workflow_events.contacts_company_changing(
        chain(leaving.values_list("pk", flat=True), joining.values_list("pk", flat=True))
    )
    leaving.update(company=None, updated_at=now)
    Contact.objects.filter(pk__in=ids).exclude(company=company).update(company=company, updated_at=now)


def _domain_checked(domain: str | None) -> str:
    normalized = domain_normalize(domain)
    if normalized and not domain_is_valid(normalized):
        raise ValidationFailed("Not a domain.", fields={"domain": [f"{domain!r} is not a domain like acme.example."]})
    return normalized


@transaction.atomic
def deal_create(
    *, name: str, amount: Decimal | None = None, stage: str = "", company: Company | None = None,
    owner: User | None = None, properties: dict[str, Any] | None = None, contacts: Iterable[Contact] = (),
) -> Deal:
    deal = Deal.objects.create(
        name=name.strip(), amount=amount, stage=stage.strip(), company=company, owner=owner,
        properties=properties_merge({}, properties_validate(properties or {})),
    )
    deal.contacts.set(list(contacts))
    return deal


@transaction.atomic
def deal_update(*, deal: Deal, data: dict[str, Any]) -> Deal:
    _record_update(deal, data, ("name", "amount", "stage", "company", "owner"))
    return deal


def deal_delete(*, deal: Deal) -> None:
    deal.delete()


@transaction.atomic
def ticket_create(
    *, subject: str, status: str = "new", owner: User | None = None, properties: dict[str, Any] | None = None,
    contacts: Iterable[Contact] = (),
) -> Ticket:
    ticket = Ticket.objects.create(
        subject=subject.strip(), status=status.strip() or "new", owner=owner,
        properties=properties_merge({}, properties_validate(properties or {})),
    )
    ticket.contacts.set(list(contacts))
    return ticket


@transaction.atomic
def ticket_update(*, ticket: Ticket, data: dict[str, Any]) -> Ticket:
    _record_update(ticket, data, ("subject", "status", "owner"))
    return ticket


def ticket_delete(*, ticket: Ticket) -> None:
    ticket.delete()


def _record_update(record: Deal | Ticket, data: dict[str, Any], fields: tuple[str, ...]) -> None:
    for name in fields:
        if name in data:
            value = data[name]
            setattr(record, name, value.strip() if isinstance(value, str) else value)
    if "properties" in data:
        record.properties = properties_merge(record.properties, properties_validate(data["properties"]))
    record.save()
    if "contacts" in data:
        record.contacts.set(list(data["contacts"]))


@transaction.atomic
def record_contacts_add(*, record: Company | Deal | Ticket | CustomObject, contacts: Iterable[Contact]) -> None:
    """Associate contacts with a record, keeping the ones it has (a company takes them from any other)."""
    contacts = list(contacts)
    if isinstance(record, Company):
        ids = [contact.pk for contact in contacts]
        joining = Contact.objects.filter(pk__in=ids).exclude(company=record)
        workflow_events.contacts_company_changing(joining.values_list("pk", flat=True))
        joining.update(company=record, updated_at=timezone.now())
    else:
        record.contacts.add(*contacts)


@transaction.atomic
def record_contacts_remove(*, record: Company | Deal | Ticket | CustomObject, contacts: Iterable[Contact]) -> None:
    """End contacts' association with a record; the contacts themselves stay."""
    contacts = list(contacts)
    if isinstance(record, Company):
        leaving = Contact.objects.filter(pk__in=[contact.pk for contact in contacts], company=record)
        workflow_events.contacts_company_changing(leaving.values_list("pk", flat=True))
        leaving.update(company=None, updated_at=timezone.now())
    else:
        record.contacts.remove(*contacts)


# --- Custom objects -----------------------------------------------------------------------------


def object_schema_properties_validate(value: Any) -> list[dict[str, Any]]:
    """`[{"name", "type", "label"?, "options"?}]`: unique names, known types, options for choices."""
    if not isinstance(value, list):
        raise ValidationFailed("Properties must be a list.", fields={"properties": ["Must be a list."]})
    if len(value) > MAX_PROPERTIES:
        raise ValidationFailed("Too many properties.", fields={"properties": [f"At most {MAX_PROPERTIES}."]})
    errors: dict[str, list[str]] = {}
    cleaned: list[dict[str, Any]] = []
    seen: set[str] = set()
    types = ObjectSchema.PropertyType.values
    for index, item in enumerate(value):
        path = f"properties.{index}"
        if not isinstance(item, dict):
            errors[path] = ["Each property is an object with a name and a type."]
            continue
        name, kind = item.get("name"), item.get("type")
        if not isinstance(name, str) or not PROPERTY_NAME.match(name):
            errors[f"{path}.name"] = ["Starts with a letter or _ and has only letters, digits and _ (at most 100)."]
        elif name in seen:
            errors[f"{path}.name"] = [f"{name!r} is defined twice."]
        if kind not in types:
            errors[f"{path}.type"] = [f"Choose one of {', '.join(types)}."]
        unknown = set(item) - {"name", "type", "label", "options"}
        if unknown:
            errors[path] = [f"Unknown keys: {', '.join(sorted(unknown))}."]
        prop: dict[str, Any] = {"name": name, "type": kind}
        label = item.get("label")
        if label is not None:
            if not isinstance(label, str) or len(label) > 200:
                errors[f"{path}.label"] = ["A label is text of at most 200 characters."]
            prop["label"] = label
        options = item.get("options")
        if kind == ObjectSchema.PropertyType.ENUMERATION:
            if not isinstance(options, list) or not options or len(options) > 500 or not all(
                isinstance(o, str) and o for o in options
            ):
                errors[f"{path}.options"] = ["A choice property needs 1 to 500 non-empty text options."]
            prop["options"] = options
        elif options is not None:
            errors[f"{path}.options"] = ["Only a choice (enumeration) property has options."]
        if isinstance(name, str):
            seen.add(name)
        cleaned.append(prop)
    if errors:
        raise ValidationFailed("The schema's properties are not valid.", fields=errors)
    return cleaned


def object_schema_require_admin(user: User) -> None:
    """Only admins define custom-object types (the API's IsAdminOrReadOnly says the same)."""
    if not (user.is_active and user.is_staff):
        raise NotAllowed("PERMISSION_DENIED", "Only an admin may define or change custom object types.")


@transaction.atomic
def object_schema_create(*, name: str, label: str, properties: Any = None) -> ObjectSchema:
    name = name.strip().lower()
    _schema_name_check(name)
    return ObjectSchema.objects.create(
        name=name, label=label.strip(),
        properties=object_schema_properties_validate([] if properties is None else properties),
    )


@transaction.atomic
def object_schema_update(*, schema: ObjectSchema, data: dict[str, Any]) -> ObjectSchema:
    """Rename or retype properties: stored records keep their values; new writes obey the new types."""
    if "name" in data:
        name = data["name"].strip().lower()
        _schema_name_check(name, exclude_pk=schema.pk)
        schema.name = name
    if "label" in data:
        schema.label = data["label"].strip()
    if "properties" in data:
        schema.properties = object_schema_properties_validate(data["properties"])
    schema.save()
    return schema


def object_schema_delete(*, schema: ObjectSchema) -> None:
    """Delete a schema with all its records."""
    schema.delete()


def _schema_name_check(name: str, exclude_pk: int | None = None) -> None:
    if name in RESERVED_SCHEMA_NAMES:
        raise ValidationFailed("Reserved name.", fields={"name": [f"{name!r} names a built-in record type."]})
    clash = ObjectSchema.objects.filter(name=name)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ValidationFailed("Name taken.", fields={"name": ["An object schema with this name exists."]})


def custom_object_properties_validate(schema: ObjectSchema, value: Any) -> dict[str, Any]:
    """Check each property against the schema's type; null is allowed (it clears the value)."""
    if not isinstance(value, dict):
        raise ValidationFailed("Properties must be an object.", fields={"properties": ["Must be a JSON object."]})
    definitions = {prop["name"]: prop for prop in schema.properties}
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for key, item in value.items():
        definition = definitions.get(key)
        if definition is None:
            errors[f"properties.{key}"] = [f"{schema.label} has no property {key!r}."]
            continue
        if item is None:
            cleaned[key] = None
            continue
        problem, normalized = _typed_value(definition, item)
        if problem:
            errors[f"properties.{key}"] = [problem]
        else:
            cleaned[key] = normalized
    if errors:
        raise ValidationFailed("Some properties don't match the schema.", fields=errors)
    return cleaned


def _typed_value(definition: dict[str, Any], item: Any) -> tuple[str | None, Any]:
    kind = definition["type"]
    types = ObjectSchema.PropertyType
    if kind == types.STRING:
        if not isinstance(item, str) or len(item) > MAX_PROPERTY_TEXT:
            return f"Must be text of at most {MAX_PROPERTY_TEXT} characters.", None
        return None, item
    if kind == types.NUMBER:
        if isinstance(item, bool) or not isinstance(item, int | float) or item != item:  # NaN != NaN
            return "Must be a number.", None
        return None, item
    if kind == types.BOOLEAN:
        return (None, item) if isinstance(item, bool) else ("Must be true or false.", None)
    if kind == types.DATE:
        if isinstance(item, str) and len(item) == 10:
            try:
                return None, dt.date.fromisoformat(item).isoformat()
            except ValueError:
                pass
        return "Must be a date like 2026-12-01.", None
    if kind == types.DATETIME:
        try:
            parsed = dt.datetime.fromisoformat(item) if isinstance(item, str) else None
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            return "Must be a date and time with an offset, like 2026-12-01T09:30:00+02:00.", None
        return None, parsed.isoformat()
    options = definition.get("options") or []
    if not isinstance(item, str) or item not in options:
        return f"Choose one of {', '.join(options)}.", None
    return None, item


@transaction.atomic
def custom_object_create(
    *, schema: ObjectSchema, properties: dict[str, Any] | None = None, contacts: Iterable[Contact] = ()
) -> CustomObject:
    cleaned = custom_object_properties_validate(schema, properties or {})
    record = CustomObject.objects.create(schema=schema, properties=properties_merge({}, cleaned))
    record.contacts.set(list(contacts))
    return record


@transaction.atomic
def custom_object_update(*, record: CustomObject, data: dict[str, Any]) -> CustomObject:
    if "properties" in data:
        cleaned = custom_object_properties_validate(record.schema, data["properties"])
        record.properties = properties_merge(record.properties, cleaned)
        record.save()
    if "contacts" in data:
        record.contacts.set(list(data["contacts"]))
    return record


def custom_object_delete(*, record: CustomObject) -> None:
    record.delete()


# --- Blocklist ----------------------------------------------------------------------------------


def blocked_value_normalize(value: str) -> str:
    """An address or a domain, lower-case; `@acme.example` is the domain `acme.example`.

    Raises ValidationFailed for anything else.
    """
    cleaned = (value or "").strip().lower()
    if cleaned.startswith("@"):
        cleaned = cleaned[1:]
    if "@" in cleaned:
        try:
            validate_email(cleaned)
        except DjangoValidationError as exc:
            raise ValidationFailed(
                "Not an email address.", fields={"value": ["Enter an email address or a domain like acme.example."]}
            ) from exc
        return cleaned
    if not domain_is_valid(cleaned):
        raise ValidationFailed(
            "Not an address or a domain.", fields={"value": ["Enter an email address or a domain like acme.example."]}
        )
    return cleaned


@transaction.atomic
def blocked_entry_create(*, value: str, created_by: User | None = None) -> BlockedEntry:
    cleaned = blocked_value_normalize(value)
    _refuse_duplicate_block(cleaned)
    return BlockedEntry.objects.create(value=cleaned, created_by=created_by)


@transaction.atomic
def blocked_entry_update(*, entry: BlockedEntry, data: dict[str, Any]) -> BlockedEntry:
    if "value" in data:
        cleaned = blocked_value_normalize(data["value"])
        _refuse_duplicate_block(cleaned, exclude_pk=entry.pk)
        entry.value = cleaned
        entry.save(update_fields=["value"])
    return entry


def blocked_entry_delete(*, entry: BlockedEntry) -> None:
    entry.delete()


def _refuse_duplicate_block(value: str, exclude_pk: int | None = None) -> None:
    clash = BlockedEntry.objects.filter(value=value)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ValidationFailed("Already blocked.", fields={"value": [f"{value} is already on the blocklist."]})


# --- Lists --------------------------------------------------------------------------------------


def list_filters_clean(kind: str, filters: Any) -> list[dict[str, Any]]:
    """Active lists need 1 to MAX_LIST_FILTERS valid filters; static lists have none."""
    if kind == ContactList.Kind.STATIC:
        if filters:
            raise ValidationFailed(
                "A static list has no filters.", fields={"filters": ["Static lists are edited by hand; use []."]}
            )
        return []
    if isinstance(filters, list) and not 1 <= len(filters) <= MAX_LIST_FILTERS:
        raise ValidationFailed(
            "An active list needs filters.", fields={"filters": [f"Give 1 to {MAX_LIST_FILTERS} filters."]}
        )
    try:
        cleaned = filters_validate(filters)
        # Building the query catches what only the field's type can tell
        # ("contains" on a yes/no field, an owner id that is not a number).
        filters_to_q(cleaned)
    except FilterError as exc:
        raise ValidationFailed(str(exc), fields={"filters": [str(exc)]}) from exc
    return cleaned


@transaction.atomic
def contact_list_create(*, name: str, kind: str, filters: Any = None, created_by: User | None = None) -> ContactList:
    if kind not in ContactList.Kind.values:
        raise ValidationFailed("Unknown kind.", fields={"kind": ["Choose static or active."]})
    return ContactList.objects.create(
        name=name.strip(), kind=kind, filters=list_filters_clean(kind, filters or []), created_by=created_by
    )


@transaction.atomic
def contact_list_update(*, contact_list: ContactList, data: dict[str, Any]) -> ContactList:
    """Rename, or change an active list's filters; a list's kind is fixed once created."""
    if "kind" in data and data["kind"] != contact_list.kind:
        raise ValidationFailed(
            "A list's kind can't change.", fields={"kind": ["Create a new list of the other kind instead."]}
        )
    if "name" in data:
        contact_list.name = data["name"].strip()
    if "filters" in data:
        contact_list.filters = list_filters_clean(contact_list.kind, data["filters"])
    contact_list.save()
    return contact_list


def contact_list_delete(*, contact_list: ContactList) -> None:
    contact_list.delete()


def list_members_add(*, contact_list: ContactList, contacts: Iterable[Contact]) -> int:
    """Put contacts on a static list; returns how many were not on it before."""
    _refuse_unless_static(contact_list)
    ids = {contact.pk for contact in contacts}
    on_list = ListMembership.objects.filter(contact_list=contact_list, contact_id__in=ids)
    already = set(on_list.values_list("contact_id", flat=True))
    new = [ListMembership(contact_list=contact_list, contact_id=pk) for pk in sorted(ids - already)]
    # ignore_conflicts: a concurrent add of the same contact is not an error.
    ListMembership.objects.bulk_create(new, batch_size=500, ignore_conflicts=True)
    workflow_events.list_members_added(contact_list, [membership.contact_id for membership in new])
    return len(new)


def list_members_remove(*, contact_list: ContactList, contacts: Iterable[Contact]) -> int:
    """Take contacts off a static list; returns how many were on it."""
    _refuse_unless_static(contact_list)
    ids = [contact.pk for contact in contacts]
    removed, _ = ListMembership.objects.filter(contact_list=contact_list, contact_id__in=ids).delete()
    return removed


def _refuse_unless_static(contact_list: ContactList) -> None:
    if contact_list.kind != ContactList.Kind.STATIC:
        raise Conflict(
            "LIST_NOT_STATIC",
            "An active list's members come from its filters; edit the filters instead of adding or removing contacts.",
        )
