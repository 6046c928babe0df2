"""A small portal for page tests: a rep with a sequence, contacts, a deal, a list and a task."""
from __future__ import annotations

import pytest

from contacts_app.models import ContactList, ListMembership
from sequences_app.models import StepType
from tests.factories import (
    CompanyFactory,
    ContactFactory,
    DealFactory,
    SequenceFactory,
    SequenceStepFactory,
    TaskFactory,
)


@pytest.fixture
def portal(rep):
    company = CompanyFactory(name="Acme Oy")
    contacts = [ContactFactory(company=company, owner=rep, lifecycle_stage="lead") for _ in range(3)]
    sequence = SequenceFactory(owner=rep, name="Intro")
    SequenceStepFactory(sequence=sequence, order=1)
    SequenceStepFactory(
        sequence=sequence, order=2, type=StepType.CALL, delay_days=2, title="Call {{ contact.first_name }}",
        subject="", body_html="",
    )
    deal = DealFactory(name="Big deal", company=company)
    deal.contacts.add(contacts[0])
    static_list = ContactList.objects.create(name="Hot", kind="static", created_by=rep)
    for contact in contacts:
        ListMembership.objects.create(contact_list=static_list, contact=contact)
    task = TaskFactory(owner=rep, contact=contacts[0], title="Call Ann")
    return {"company": company, "contacts": contacts, "sequence": sequence, "deal": deal, "list": static_list,
            "task": task}


@pytest.fixture
def rep_client(client, rep):
    client.force_login(rep)
    return client
