"""Reads over CRM records."""
from __future__ import annotations

from django.db.models import QuerySet

from contacts_app.filters import filters_to_q, filters_validate
from contacts_app.models import Company, Contact, ContactList


def list_members(*, contact_list: ContactList) -> QuerySet[Contact]:
    """The contacts on a list now: static membership, or the active list's filter evaluated on read."""
    if contact_list.kind == ContactList.Kind.STATIC:
        return Contact.objects.filter(list_memberships__contact_list=contact_list)
    return Contact.objects.filter(filters_to_q(filters_validate(contact_list.filters)))


def custom_property_exists(object_name: str, property_name: str) -> bool:
    """A custom property is known once some record of that kind holds it."""
    model = {"contact": Contact, "company": Company}.get(object_name)
    return model is not None and model.objects.filter(properties__has_key=property_name).exists()
