"""Fixtures for inbox-sync tests: a rep whose mailbox sends through a real SMTP server on loopback
and reads a real IMAP server (pymap), and a contact who got the first email of a sequence from the
scheduler itself, so the Message-ID answers point to is the one really sent."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from accounts_app.models import PortalSettings, User
from mailboxes_app.models import Mailbox
from mailboxes_app.tests.sync.helpers import (
    EMAIL_1,
    EMAIL_2,
    World,
    connect_mailbox,
    enroll_and_send,
    imap_reset,
    make_sequence,
)
from sequences_app.tests.scheduler_helpers import Mailserver, mailserver_fixture
from tests.factories import CompanyFactory, ContactFactory
from tests.fixtures_mail import ImapServer


@pytest.fixture
def mailserver() -> Iterator[Mailserver]:
    yield from mailserver_fixture()


@pytest.fixture
def inbox(imap_server: ImapServer) -> ImapServer:
    """The session's IMAP server with an empty INBOX and no extra folders."""
    imap_reset(imap_server)
    return imap_server


@pytest.fixture
def portal(db, monkeypatch: pytest.MonkeyPatch) -> PortalSettings:
    portal, _ = PortalSettings.objects.update_or_create(
        pk=1, defaults={"time_zone": "Europe/Helsinki", "holiday_country": "FI", "out_of_office_default_days": 7}
    )
    return portal


@pytest.fixture
def world(rep: User, portal: PortalSettings, mailserver: Mailserver, inbox: ImapServer) -> World:
    mailbox = connect_mailbox(Mailbox.objects.get(owner=rep), mailserver, inbox)
    sequence = make_sequence(rep, EMAIL_1, EMAIL_2)
    company = CompanyFactory(name="Acme Oy", domain="acme.example")
    contact = ContactFactory(
        email="maria@acme.example", first_name="Maria", last_name="Virtanen", company=company,
        time_zone="Europe/Helsinki",
    )
    [enrollment] = enroll_and_send(sequence, rep, [contact])
    return World(
        rep=rep, mailbox=mailbox, contact=contact, enrollment=enrollment,
        message=enrollment.messages.get(step_order=1), sequence=sequence, inbox=inbox,
    )
