"""Fixtures for the workflow tests: an Enterprise user, a contact owner who can send, a sequence."""
from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts_app.models import PortalSettings
from sequences_app.models import Sequence, SequenceStep, StepType
from tests.factories import MailboxFactory, SeatFactory, SequenceFactory, UserFactory


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    """Events are processed by `drain()` in the test's thread, never by a worker through the broker."""
    monkeypatch.setattr("workflows_app.events._enqueue", lambda event_id: None)


@pytest.fixture
def boss(db):
    """An Enterprise admin who builds workflows (an admin's workflows may act for other users)."""
    user = UserFactory(first_name="Erin", last_name="Boss", is_staff=True)
    SeatFactory(user=user, tier="enterprise")
    return user


@pytest.fixture
def builder(db):
    """An Enterprise rep, not an admin, with a connected mailbox: their workflows act only for them."""
    user = UserFactory(first_name="Bea", last_name="Builder")
    SeatFactory(user=user, tier="enterprise")
    MailboxFactory(owner=user)
    return user


@pytest.fixture
def builder_api(builder):
    client = APIClient()
    client.force_authenticate(builder)
    return client


@pytest.fixture
def owner(db):
    """A contact owner with a Professional seat and a connected mailbox: can be a workflow's sender."""
    user = UserFactory(first_name="Olga", last_name="Owner")
    SeatFactory(user=user)
    MailboxFactory(owner=user)
    return user


@pytest.fixture
def portal_tz(db):
    portal = PortalSettings.load()
    portal.time_zone = "Europe/Helsinki"
    portal.save()
    return portal


@pytest.fixture
def sequence(owner) -> Sequence:
    """Two task steps shared with everyone: runs without an SMTP server."""
    sequence = SequenceFactory(owner=owner, name="Intro", visibility="everyone")
    SequenceStep.objects.create(sequence=sequence, order=1, type=StepType.CALL, title="Call {{ contact.email }}",
                                continue_without_completion=True)
    SequenceStep.objects.create(sequence=sequence, order=2, type=StepType.TODO, delay_days=1, title="Follow up",
                                continue_without_completion=True)
    return sequence


@pytest.fixture
def boss_api(boss):
    client = APIClient()
    client.force_authenticate(boss)
    return client
