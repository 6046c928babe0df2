"""Reads over CRM records."""
from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower

from config.paging import COUNT_CAP
from contacts_app.filters import filters_to_q, filters_validate
from contacts_app.models import Company, Contact, ContactList, ListMembership


def list_members(*, contact_list: ContactList) -> QuerySet[Contact]:
    """The contacts on a list now: static membership, or the active list's filter evaluated on read."""
    if contact_list.kind == ContactList.Kind.STATIC:
        return Contact.objects.filter(list_memberships__contact_list=contact_list)
    return Contact.objects.filter(filters_to_q(filters_validate(contact_list.filters)))


def custom_property_exists(object_name: str, property_name: str) -> bool:
    """A custom property is known once some record of that kind holds it."""
    model = {"contact": Contact, "company": Company}.get(object_name)
    return model is not None and model.objects.filter(properties__has_key=property_name).exists()


def contacts_with_email(email: str) -> QuerySet[Contact]:
    """The contact (at most one) with this address, any case — through the unique `LOWER(email)` index.

    A plain `email = …` can't use that index (a sequential scan: ~17 ms per
    check at 100,000 contacts); `LOWER(email) = …` on non-blank emails can.
    """
    return Contact.objects.alias(email_lower=Lower("email")).filter(email_lower=email.strip().lower()).exclude(email="")


def contacts_filtered(
    *, email: str | None = None, search: str | None = None, company: int | None = None, owner: int | None = None
) -> QuerySet[Contact]:
    """The contacts index: `email` exact (any case), `search` over names and email, by company or owner.

    Every word of `search` must appear in the first name, last name or
    email, so "ann smi" finds Ann Smith.
    """
    contacts = Contact.objects.all()
    if email:
        contacts = contacts.filter(pk__in=contacts_with_email(email).values("pk"))
    for word in (search or "").split()[:10]:
        contacts = contacts.filter(
            Q(first_name__icontains=word) | Q(last_name__icontains=word) | Q(email__icontains=word)
        )
    if company is not None:
        contacts = contacts.filter(company_id=company)
    if owner is not None:
        contacts = contacts.filter(owner_id=owner)
    return contacts


class ListSize(int):
    """A list's size, exact up to COUNT_CAP; `capped` when there are more (shown as "10,000+")."""

    capped: bool

    def __new__(cls, value: int, capped: bool = False) -> ListSize:
        size = super().__new__(cls, value)
        size.capped = capped
        return size

    def __str__(self) -> str:
        return f"{int(self):,}+" if self.capped else f"{int(self):,}"


def list_sizes(lists: Iterable[ContactList]) -> dict[int, ListSize]:
    """How many contacts are on each list, exact up to COUNT_CAP, in one query whatever the number of lists.

    Each list is one scalar subquery that reads at most COUNT_CAP + 1 rows
    (its memberships, or the contacts its filter matches, through their
    indexes), so a list of a million costs what a list of 10,001 does.
    """
    lists = list(lists)
    if not lists:
        return {}
    parts, params = [], []
    for contact_list in lists:
        if contact_list.kind == ContactList.Kind.STATIC:
            rows = ListMembership.objects.filter(contact_list_id=contact_list.pk)
        else:
            rows = Contact.objects.filter(_list_q(contact_list))
        try:
            query, query_params = rows.order_by().values("pk")[: COUNT_CAP + 1].query.sql_with_params()
        except EmptyResultSet:  # A filter that matches nothing (e.g. a yes/no field "is not set").
            parts.append("0")
            continue
        # Only Django's own compiled SQL is formatted in; the values stay parameters.
        parts.append(f"(SELECT COUNT(*) FROM ({query}) AS list_{len(parts)})")  # noqa: S608
        params.extend(query_params)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        counted = cursor.fetchone()
    return {
        contact_list.pk: ListSize(min(n, COUNT_CAP), n > COUNT_CAP)
        for contact_list, n in zip(lists, counted, strict=True)
    }


def _list_q(contact_list: ContactList) -> Q:
    query = filters_to_q(filters_validate(contact_list.filters))
    # An always-true filter (a yes/no field "is set") is an empty Q, which
    # COUNT(filter=) would drop; spell it out so every list counts the same way.
    return query if query else Q(pk__isnull=False)


def company_name_suggestions(limit: int = 200) -> list[str]:
    """Company names a record form suggests (a datalist); a company not among them is typed in full."""
    return list(Company.objects.order_by("name", "id").values_list("name", flat=True)[:limit])
