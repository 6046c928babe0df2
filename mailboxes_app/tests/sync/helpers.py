"""Helpers for inbox-sync tests: the real IMAP server's folders, the .eml fixtures, counting IMAP
commands, and a rep with a sent sequence email to answer.

The IMAP server (pymap, `tests.fixtures_mail.imap_server`) lives for the
whole session and remembers what was appended, so every test starts from
`imap_reset`: INBOX emptied, extra folders deleted. pymap has no
SPECIAL-USE (RFC 6154), so folder attributes such as `\\Junk` are tested
on LIST answers written by hand; with pymap the spam folder is found by
its name.
"""
from __future__ import annotations

import imaplib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import time_machine
from imapclient import IMAPClient

from accounts_app.models import User
from contacts_app.models import Contact
from mailboxes_app.models import InboundMessage, Mailbox, MailboxFolderState, OutboundMessage, Security
from sequences_app.models import EmailEvent, Enrollment, Sequence, SequenceStep, StepType
from sequences_app.services.enrollments import enrollment_create
from sequences_app.tests.scheduler_helpers import Mailserver, run_scheduler
from tests.factories import SequenceFactory
from tests.fixtures_mail import ImapServer

FIXTURES = Path(__file__).parent.parent / "fixtures"
KEEP_FOLDERS = frozenset({"INBOX", "Sent", "Trash"})
HELSINKI = ZoneInfo("Europe/Helsinki")
START = "2026-11-23T09:00:00+02:00"  # a Monday: the first email goes out
REPLY_AT = datetime(2026, 11, 23, 11, 0, tzinfo=HELSINKI)  # the answer arrives
SYNC_AT = "2026-11-23T12:00:00+02:00"  # and is read
EMAIL_1 = {"type": StepType.AUTOMATED_EMAIL, "subject": "Hello {{ contact.first_name }}",
           "body_html": "<p>Hi {{ contact.first_name }}, <a href='https://acme.example/demo'>see the demo</a></p>"}
EMAIL_2 = {"type": StepType.AUTOMATED_EMAIL, "delay_days": 2, "subject": "", "body_html": "<p>Any thoughts?</p>"}


# --- The IMAP server --------------------------------------------------------------------------------


def imap_client(server: ImapServer) -> IMAPClient:
    client = IMAPClient(server.host, port=server.port, ssl=False, timeout=20)
    client.login(server.username, server.password)
    return client


def imap_reset(server: ImapServer) -> None:
    """Empty INBOX and delete every folder a test made."""
    client = imap_client(server)
    try:
        client.select_folder("INBOX")
        uids = client.search(["ALL"])
        if uids:
            client.delete_messages(uids)
            client.expunge()
        client.close_folder()
        for _flags, _delimiter, name in sorted(client.list_folders(), key=lambda row: -len(row[2])):
            if name not in KEEP_FOLDERS:
                # A parent such as "[Gmail]" may vanish with its last child.
                with suppress(imaplib.IMAP4.error):
                    client.delete_folder(name)
    finally:
        client.logout()


def imap_append(server: ImapServer, raw: bytes, *, when: datetime, folder: str = "INBOX") -> None:
    client = imap_client(server)
    try:
        if folder != "INBOX" and not client.folder_exists(folder):
            client.create_folder(folder)
        client.append(folder, raw, msg_time=when)
    finally:
        client.logout()


def imap_create_folder(server: ImapServer, name: str) -> None:
    client = imap_client(server)
    try:
        client.create_folder(name)
    finally:
        client.logout()


def imap_delete_folder(server: ImapServer, name: str) -> None:
    client = imap_client(server)
    try:
        client.delete_folder(name)
    finally:
        client.logout()


@contextmanager
def count_imap_commands() -> Iterator[list[str]]:
    """Every IMAP command sent inside the block, by name ("UID FETCH"); each is one round trip.

    imaplib sends most commands; IMAPClient sends some (SEARCH, ...) itself through `_raw_command`.
    """
    commands: list[str] = []
    imaplib_command = imaplib.IMAP4._command
    raw_command = IMAPClient._raw_command

    def counted(self: imaplib.IMAP4, name: str, *args: object) -> object:
        commands.append(f"UID {args[0]}".upper() if name == "UID" and args else name)
        return imaplib_command(self, name, *args)

    def counted_raw(self: IMAPClient, command: bytes, args: object, uid: bool = True) -> object:
        name = command.decode() if isinstance(command, bytes) else str(command)
        try:
            return raw_command(self, command, args, uid=uid)
        finally:  # after any command it needed first (IMAPClient may ask for CAPABILITY), as on the wire
            commands.append(f"UID {name}" if uid and self.use_uid else name)

    with mock.patch.object(imaplib.IMAP4, "_command", counted), \
            mock.patch.object(IMAPClient, "_raw_command", counted_raw):
        yield commands


# --- Messages -----------------------------------------------------------------------------------------


def eml(name: str, **values: str) -> bytes:
    """A fixture with its {{placeholders}} filled, lines ending in CRLF as IMAP wants them."""
    text = (FIXTURES / name).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    assert "{{" not in text, f"{name}: a placeholder was left unfilled"
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def rfc2822(moment: datetime) -> str:
    return format_datetime(moment)


# --- A rep, a sequence, a sent email ------------------------------------------------------------------


@dataclass
class World:
    rep: User
    mailbox: Mailbox
    contact: Contact
    enrollment: Enrollment
    message: OutboundMessage
    sequence: Sequence
    inbox: ImapServer

    def eml(self, name: str, *, at: datetime = REPLY_AT, message: OutboundMessage | None = None,
            contact: Contact | None = None) -> bytes:
        """A fixture answering `message` (the first email by default) from `contact`."""
        message = message or self.message
        contact = contact or self.contact
        return eml(
            name,
            message_id=message.message_id,
            contact_email=contact.email,
            contact_name=f"{contact.first_name} {contact.last_name}",
            rep_email=self.mailbox.email,
            rep_name=self.rep.get_full_name() or self.rep.username,
            subject=message.subject,
            date=rfc2822(at),
            sent_date=rfc2822(message.sent_at.astimezone(HELSINKI)),
        )

    def refresh(self) -> None:
        self.enrollment.refresh_from_db()
        self.contact.refresh_from_db()

    def snapshot(self) -> tuple[Any, ...]:
        """Everything a sync may change; equal before and after a sync that found nothing new."""
        return (
            list(Enrollment.objects.order_by("pk").values_list(
                "pk", "status", "reason", "resume_at", "next_action_at", "version")),
            list(Contact.objects.order_by("pk").values_list("pk", "email_bounced", "bounce_reason", "marked_spam")),
            list(EmailEvent.objects.order_by("pk").values_list("pk", "kind")),
            list(InboundMessage.objects.order_by("pk").values_list("pk", "kind", "detail")),
            list(MailboxFolderState.objects.order_by("pk").values_list("folder", "uidvalidity", "last_uid")),
        )


def connect_mailbox(mailbox: Mailbox, mailserver: Mailserver, inbox: ImapServer) -> Mailbox:
    mailbox.smtp_host, mailbox.smtp_port = mailserver.host, mailserver.port
    mailbox.imap_host, mailbox.imap_port, mailbox.imap_security = inbox.host, inbox.port, Security.NONE
    mailbox.imap_username, mailbox.imap_password = inbox.username, inbox.password
    mailbox.status = Mailbox.Status.CONNECTED
    mailbox.save()
    return mailbox


def make_sequence(owner: User, *steps: dict[str, Any], **settings: Any) -> Sequence:
    sequence = SequenceFactory(owner=owner, visibility="everyone", **settings)
    for order, step in enumerate(steps, start=1):
        SequenceStep.objects.create(sequence=sequence, order=order, **step)
    return sequence


def enroll_and_send(sequence: Sequence, rep: User, contacts: list[Contact], *, at: str = START) -> list[Enrollment]:
    """Enroll and let the scheduler send the first email (its Message-ID recorded).

    A bulk's first emails leave 20 s apart (the bulk throttle): the clock moves on for each.
    """
    with time_machine.travel(at, tick=False) as traveller:
        result = enrollment_create(
            sequence=sequence, caller=rep, contact_ids=[c.pk for c in contacts], time_zone="Europe/Helsinki"
        )
        assert not result.rejected, result.rejected
        run_scheduler()
        for _ in contacts[1:]:
            traveller.shift(timedelta(seconds=20))
            run_scheduler()
    enrollments = [Enrollment.objects.get(pk=item.id) for item in result.enrolled]
    for enrollment in enrollments:
        assert enrollment.messages.get(step_order=1).state == OutboundMessage.State.SENT
    return enrollments
