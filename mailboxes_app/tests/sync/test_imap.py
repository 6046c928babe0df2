"""Inbox sync's IMAP side against a real server: round trips, folders, positions, crashes, backoff, claims."""
from __future__ import annotations

from datetime import datetime, timedelta
from unittest import mock

import pytest
import time_machine
from django.utils import timezone

from accounts_app.models import Notification
from config.celery import app
from mailboxes_app import tasks
from mailboxes_app.models import InboundMessage, Mailbox, MailboxFolderState, OutboundMessage, Security
from mailboxes_app.sync import imap
from mailboxes_app.sync.imap import folders_to_sync, mailbox_sync, mailboxes_claim_due
from mailboxes_app.tests.sync.helpers import (
    HELSINKI,
    REPLY_AT,
    START,
    SYNC_AT,
    connect_mailbox,
    count_imap_commands,
    enroll_and_send,
    imap_append,
    imap_client,
    imap_create_folder,
    imap_delete_folder,
)
from sequences_app.models import EmailEvent
from sequences_app.services import stops
from tests.factories import ContactFactory, MailboxFactory, UserFactory

pytestmark = pytest.mark.django_db
SYNC_TIME = datetime.fromisoformat(SYNC_AT)


def sync(world, **kwargs):
    return mailbox_sync(mailbox_id=world.mailbox.pk, **kwargs)


# --- Round trips ------------------------------------------------------------------------------------


def test_a_second_sync_with_no_new_mail_costs_one_round_trip_per_folder(world, inbox):
    imap_create_folder(inbox, "Junk")
    imap_append(inbox, world.eml("unrelated_personal.eml"), when=REPLY_AT)
    with time_machine.travel(SYNC_AT, tick=False):
        with count_imap_commands() as first:
            assert sync(world).new == 1
        with count_imap_commands() as second:
            report = sync(world)

    # CAPABILITY is imaplib's on connecting, and IMAPClient's before its first SEARCH (pymap does not
    # send capabilities with LOGIN's answer; Dovecot does). UID SEARCH and UID FETCH (header fields)
    # read the one new message in INBOX; Junk was empty.
    assert first == [
        "CAPABILITY", "LOGIN", "LIST", "EXAMINE", "CAPABILITY", "UID SEARCH", "UID FETCH", "EXAMINE", "LOGOUT"
    ]
    # No new mail: EXAMINE answers UIDNEXT for each folder, and that is all.
    assert second == ["CAPABILITY", "LOGIN", "EXAMINE", "EXAMINE", "LOGOUT"]
    assert [folder.folder for folder in report.folders] == ["INBOX", "Junk"]


def test_mail_that_needs_reading_whole_costs_one_more_fetch_per_batch(world, inbox):
    imap_append(inbox, world.eml("bounce_gmail_permanent.eml"), when=REPLY_AT)
    imap_append(inbox, world.eml("unrelated_newsletter.eml"), when=REPLY_AT)
    with time_machine.travel(SYNC_AT, tick=False), count_imap_commands() as commands:
        report = sync(world)
    # Header fields of both in one FETCH; only the bounce is fetched whole, in a second.
    assert commands == [
        "CAPABILITY", "LOGIN", "LIST", "EXAMINE", "CAPABILITY", "UID SEARCH", "UID FETCH", "UID FETCH", "LOGOUT"
    ]
    assert report.folders[0].bodies_fetched == 1


# --- Folders ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("listing", "expected"),
    [
        # SPECIAL-USE (RFC 6154) wins over names.
        ([((b"\\HasNoChildren",), b"/", "INBOX"), ((b"\\Junk", b"\\HasNoChildren"), b"/", "Roskaposti"),
          ((b"\\HasNoChildren",), b"/", "Spam")], ["INBOX", "Roskaposti"]),
        # Gmail: the spam folder under [Gmail], a \Noselect parent.
        ([((b"\\HasNoChildren",), b"/", "INBOX"), ((b"\\Noselect", b"\\HasChildren"), b"/", "[Gmail]"),
          ((b"\\HasNoChildren", b"\\Junk"), b"/", "[Gmail]/Spam"), ((b"\\All",), b"/", "[Gmail]/All Mail")],
         ["INBOX", "[Gmail]/Spam"]),
        # The same without SPECIAL-USE: found by name.
        ([((), b"/", "INBOX"), ((), b"/", "[Gmail]/Spam"), ((), b"/", "[Gmail]/Sent Mail")],
         ["INBOX", "[Gmail]/Spam"]),
        # Outlook / Exchange, and a dot-delimited Courier/Dovecot tree.
        ([((), b"/", "Inbox"), ((), b"/", "Junk Email"), ((), b"/", "Deleted Items")], ["INBOX", "Junk Email"]),
        ([((), b".", "INBOX"), ((), b".", "INBOX.Junk"), ((), b".", "INBOX.Drafts")], ["INBOX", "INBOX.Junk"]),
        # Yahoo and localised names.
        ([((), b"/", "INBOX"), ((), b"/", "Bulk Mail")], ["INBOX", "Bulk Mail"]),
        ([((), b"/", "INBOX"), ((), b"/", "Skräppost")], ["INBOX", "Skräppost"]),
        # No spam folder: INBOX alone.
        ([((), b"/", "INBOX"), ((), b"/", "Sent"), ((), b"/", "Trash"), ((), b"/", "Spam ideas/2026")], ["INBOX"]),
    ],
)
def test_it_reads_the_inbox_and_the_providers_spam_folder(listing, expected):
    assert folders_to_sync(listing) == expected


def test_pymap_has_no_special_use_so_the_spam_folder_is_found_by_name(world, inbox):
    """pymap (the test server) answers LIST without SPECIAL-USE attributes; the name rule finds "Junk"."""
    imap_create_folder(inbox, "Junk")
    imap_create_folder(inbox, "Projects")
    client = imap_client(inbox)
    try:
        listing = client.list_folders()
    finally:
        client.logout()
    assert all(b"\\Junk" not in flags for flags, _, _ in listing)
    assert folders_to_sync(listing) == ["INBOX", "Junk"]


def test_the_folder_list_is_read_once_a_day_and_again_when_a_folder_goes_away(world, inbox):
    imap_create_folder(inbox, "Junk")
    with time_machine.travel(SYNC_AT, tick=False):
        sync(world)
    assert set(MailboxFolderState.objects.values_list("folder", flat=True)) == {"INBOX", "Junk"}

    imap_delete_folder(inbox, "Junk")
    with time_machine.travel(SYNC_TIME + timedelta(minutes=1), tick=False), count_imap_commands() as commands:
        assert sync(world).outcome == "ok"  # INBOX is still read
    assert commands == ["CAPABILITY", "LOGIN", "EXAMINE", "EXAMINE", "LOGOUT"]  # Junk failed to open

    with time_machine.travel(SYNC_TIME + timedelta(minutes=2), tick=False), count_imap_commands() as commands:
        sync(world)
    assert commands == ["CAPABILITY", "LOGIN", "LIST", "EXAMINE", "LOGOUT"]
    assert list(MailboxFolderState.objects.values_list("folder", flat=True)) == ["INBOX"]

    imap_create_folder(inbox, "Spam")
    with time_machine.travel(SYNC_TIME + timedelta(hours=25), tick=False), count_imap_commands() as commands:
        sync(world)
    assert commands == ["CAPABILITY", "LOGIN", "LIST", "EXAMINE", "EXAMINE", "LOGOUT"]


# --- Positions and crashes --------------------------------------------------------------------------


def test_a_renumbered_folder_is_read_again_without_applying_anything_twice(world, inbox):
    imap_append(inbox, world.eml("bounce_postfix_delayed.eml"), when=REPLY_AT, folder="Junk")
    with time_machine.travel(SYNC_AT, tick=False):
        sync(world)
    first_validity = MailboxFolderState.objects.get(folder="Junk").uidvalidity
    # The server renumbers the folder (UIDVALIDITY changes): same message, new UID.
    imap_delete_folder(inbox, "Junk")
    imap_append(inbox, world.eml("bounce_postfix_delayed.eml"), when=REPLY_AT, folder="Junk")

    with time_machine.travel(SYNC_TIME + timedelta(hours=25), tick=False):
        report = sync(world)

    assert report.folders[1].reset
    assert MailboxFolderState.objects.get(folder="Junk").uidvalidity != first_validity
    assert InboundMessage.objects.filter(kind="bounce").count() == 2
    assert InboundMessage.objects.filter(detail__duplicate=True).count() == 1
    assert EmailEvent.objects.filter(kind="temporary_bounce").count() == 1


def test_a_crash_mid_batch_commits_no_position_and_the_next_sync_applies_each_message_once(
    world, inbox, mailserver, monkeypatch
):
    second = ContactFactory(email="olli@beta.example", first_name="Olli", time_zone="Europe/Helsinki")
    [other] = enroll_and_send(world.sequence, world.rep, [second])
    imap_append(inbox, world.eml("reply_gmail_threaded.eml"), when=REPLY_AT)
    message_2 = other.messages.get(step_order=1)
    imap_append(inbox, world.eml("reply_outlook_threaded.eml", message=message_2, contact=second), when=REPLY_AT)

    real = stops.reply_record
    calls = []

    def crash_on_second(**kwargs):
        calls.append(kwargs["message"].pk)
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return real(**kwargs)

    monkeypatch.setattr("mailboxes_app.sync.handle.stops.reply_record", crash_on_second)
    with time_machine.travel(SYNC_AT, tick=False):
        report = sync(world)

    assert report.outcome == "failed"
    assert MailboxFolderState.objects.get(folder="INBOX").last_uid == 0
    world.mailbox.refresh_from_db()
    assert (world.mailbox.sync_failures, world.mailbox.next_sync_at) == (1, SYNC_TIME + timedelta(minutes=2))
    assert world.mailbox.sync_error == "Inbox sync stopped on an internal error (RuntimeError); it will try again."
    assert InboundMessage.objects.count() == 1  # the first message was handled and committed

    monkeypatch.setattr("mailboxes_app.sync.handle.stops.reply_record", real)
    with time_machine.travel(SYNC_TIME + timedelta(minutes=2), tick=False):
        report = sync(world)

    assert (report.outcome, report.new, report.applied) == ("ok", 2, 1)
    assert EmailEvent.objects.filter(kind="reply").count() == 2
    assert sorted(EmailEvent.objects.filter(kind="reply").values_list("enrollment", flat=True)) == sorted(
        [world.enrollment.pk, other.pk]
    )
    world.mailbox.refresh_from_db()
    assert (world.mailbox.sync_failures, world.mailbox.sync_error) == (0, "")


def test_the_position_is_committed_after_each_batch(world, inbox, monkeypatch):
    monkeypatch.setattr(imap, "BATCH", 2)
    for _ in range(5):
        imap_append(inbox, world.eml("unrelated_personal.eml"), when=REPLY_AT)
    client = imap_client(inbox)
    client.select_folder("INBOX", readonly=True)
    uids = client.search(["ALL"])
    client.logout()
    handled = []
    real = imap.batch_handle

    def crash_in_third_batch(**kwargs):
        handled.append(len(kwargs["fetched"]))
        if len(handled) == 3:
            raise OSError("connection reset")
        return real(**kwargs)

    monkeypatch.setattr(imap, "batch_handle", crash_in_third_batch)
    with time_machine.travel(SYNC_AT, tick=False):
        assert sync(world).outcome == "failed"

    assert MailboxFolderState.objects.get(folder="INBOX").last_uid == uids[3]
    assert InboundMessage.objects.count() == 4


def test_a_run_reads_at_most_its_share_and_the_rest_is_due_at_once(world, inbox):
    for _ in range(3):
        imap_append(inbox, world.eml("unrelated_personal.eml"), when=REPLY_AT)
    with time_machine.travel(SYNC_AT, tick=False):
        first = sync(world, max_messages=2)
        world.mailbox.refresh_from_db()
        assert (first.new, first.more, world.mailbox.next_sync_at) == (2, True, SYNC_TIME)
        second = sync(world, max_messages=2)
    world.mailbox.refresh_from_db()
    assert (second.new, second.more, world.mailbox.next_sync_at) == (1, False, SYNC_TIME + timedelta(seconds=60))


def test_a_run_that_reads_exactly_its_share_leaves_nothing_for_the_next(world, inbox):
    imap_create_folder(inbox, "Junk")
    for _ in range(2):
        imap_append(inbox, world.eml("unrelated_personal.eml"), when=REPLY_AT)
    with time_machine.travel(SYNC_AT, tick=False):
        first = sync(world, max_messages=2)  # INBOX's 2: Junk waits for the next run
        second = sync(world, max_messages=2)
    assert (first.new, first.more, [f.folder for f in first.folders]) == (2, True, ["INBOX"])
    assert (second.new, second.more, [f.folder for f in second.folders]) == (0, False, ["INBOX", "Junk"])


def test_the_first_read_skips_mail_older_than_the_first_sequence_email(world, inbox):
    a_week_before = datetime(2026, 11, 16, 10, 0, tzinfo=HELSINKI)
    for _ in range(3):
        imap_append(inbox, world.eml("unrelated_personal.eml", at=a_week_before), when=a_week_before)
    imap_append(inbox, world.eml("reply_gmail_threaded.eml"), when=REPLY_AT)
    with time_machine.travel(SYNC_AT, tick=False):
        report = sync(world)
    assert (report.new, report.applied) == (1, 1)
    assert InboundMessage.objects.get().kind == "reply"


def test_a_first_read_looks_back_at_most_thirty_days(world, inbox):
    long_ago = datetime(2026, 9, 1, 10, 0, tzinfo=HELSINKI)
    OutboundMessage.objects.filter(pk=world.message.pk).update(sent_at=long_ago)
    imap_append(inbox, world.eml("reply_plain_from_contact.eml", at=long_ago), when=long_ago)
    imap_append(inbox, world.eml("unrelated_personal.eml"), when=REPLY_AT)
    with time_machine.travel(SYNC_AT, tick=False):
        report = sync(world)
    assert report.new == 1
    assert InboundMessage.objects.get().kind == "other"


def test_a_mailbox_that_never_sent_anything_starts_reading_from_now(db, portal, mailserver, inbox):
    user = UserFactory()
    mailbox = connect_mailbox(MailboxFactory(owner=user), mailserver, inbox)
    imap_append(inbox, b"From: a@example.com\r\nSubject: old\r\n\r\nhello\r\n", when=REPLY_AT)
    with count_imap_commands() as commands:
        report = mailbox_sync(mailbox_id=mailbox.pk)
    assert (report.outcome, report.new) == ("ok", 0)
    assert commands == ["CAPABILITY", "LOGIN", "LIST", "EXAMINE", "LOGOUT"]
    assert MailboxFolderState.objects.get(folder="INBOX").last_uid > 0


def test_mail_from_the_contact_before_the_first_email_is_not_a_reply(world, inbox):
    before = datetime.fromisoformat(START) - timedelta(hours=1)
    imap_append(inbox, world.eml("reply_plain_from_contact.eml", at=before), when=before)
    with time_machine.travel(SYNC_AT, tick=False):
        sync(world)
    assert InboundMessage.objects.get().kind == "other"
    world.refresh()
    assert world.enrollment.status == "active"


def test_a_copy_of_our_own_email_in_the_inbox_is_not_a_reply(world, inbox):
    own = (
        f"From: {world.mailbox.email}\r\nTo: {world.contact.email}\r\nSubject: Re: {world.message.subject}\r\n"
        f"Message-ID: <copy-of-follow-up@nudge.example>\r\nIn-Reply-To: {world.message.message_id}\r\n"
        f"References: {world.message.message_id}\r\n\r\nAny thoughts?\r\n"
    ).encode()
    imap_append(inbox, own, when=REPLY_AT)
    with time_machine.travel(SYNC_AT, tick=False):
        sync(world)
    assert InboundMessage.objects.get().kind == "other"
    world.refresh()
    assert world.enrollment.status == "active"


def test_a_large_auto_reply_is_read_only_as_far_as_needed(world, inbox, monkeypatch):
    monkeypatch.setattr(imap, "MAX_BODY_BYTES", 4000)
    raw = world.eml("ooo_en_outlook_date.eml")
    padded = raw.replace(b"--_000_c8f4a3b2e1d04f5a9b8c7d6e5f4a3b21VI1PR08MB5321eurprd08prod_--",
                         b"--_000_c8f4a3b2e1d04f5a9b8c7d6e5f4a3b21VI1PR08MB5321eurprd08prod_\r\n"
                         b"Content-Type: application/octet-stream\r\n\r\n" + b"A" * 50_000 + b"\r\n"
                         b"--_000_c8f4a3b2e1d04f5a9b8c7d6e5f4a3b21VI1PR08MB5321eurprd08prod_--")
    imap_append(inbox, padded, when=REPLY_AT)
    with time_machine.travel(SYNC_AT, tick=False):
        sync(world)
    world.refresh()
    assert world.enrollment.status == "paused"
    assert world.enrollment.resume_at == datetime(2026, 12, 7, 9, 0, tzinfo=HELSINKI)


def test_sync_works_over_starttls(world, inbox, trust_test_ca):
    Mailbox.objects.filter(pk=world.mailbox.pk).update(imap_security=Security.STARTTLS)
    imap_append(inbox, world.eml("reply_gmail_threaded.eml"), when=REPLY_AT)
    with time_machine.travel(SYNC_AT, tick=False):
        assert sync(world).applied == 1


# --- Failures ---------------------------------------------------------------------------------------


def test_a_refused_login_disconnects_the_mailbox_and_tells_its_owner(world):
    Mailbox.objects.filter(pk=world.mailbox.pk).update(imap_password="wrong-password")
    with time_machine.travel(SYNC_AT, tick=False):
        report = sync(world)
    world.mailbox.refresh_from_db()
    assert report.outcome == "disconnected"
    assert world.mailbox.status == "disconnected"
    assert world.mailbox.status_detail.startswith("IMAP: The IMAP server refused the username or password")
    assert "wrong-password" not in world.mailbox.status_detail
    notice = Notification.objects.get(user=world.rep)
    assert (notice.kind, notice.url) == ("inbox_disconnected", "/mailboxes/")
    with time_machine.travel(SYNC_TIME + timedelta(hours=1), tick=False):
        assert world.mailbox.pk not in mailboxes_claim_due()


def test_an_unreachable_server_is_retried_later_and_later(world):
    from tests.fixtures_mail import free_port

    Mailbox.objects.filter(pk=world.mailbox.pk).update(imap_port=free_port())
    now = SYNC_TIME
    waits = []
    for _ in range(7):
        with time_machine.travel(now, tick=False):
            assert sync(world).outcome == "failed"
        world.mailbox.refresh_from_db()
        waits.append(world.mailbox.next_sync_at - now)
        now = world.mailbox.next_sync_at
    assert [int(wait.total_seconds() // 60) for wait in waits] == [2, 4, 8, 16, 32, 60, 60]
    assert world.mailbox.status == "connected"  # a network failure is not a refused login
    assert "refused the connection" in world.mailbox.sync_error

    Mailbox.objects.filter(pk=world.mailbox.pk).update(imap_port=world.inbox.port)
    with time_machine.travel(now, tick=False):
        assert sync(world).outcome == "ok"
    world.mailbox.refresh_from_db()
    assert (world.mailbox.sync_failures, world.mailbox.next_sync_at, world.mailbox.last_synced_at) == (
        0, now + timedelta(seconds=60), now
    )


# --- Claims and tasks -------------------------------------------------------------------------------


def test_due_connected_mailboxes_with_imap_are_claimed_once(db):
    now = timezone.now()
    due = MailboxFactory(imap_host="imap.example", next_sync_at=now - timedelta(seconds=1))
    never = MailboxFactory(imap_host="imap.example", next_sync_at=None)
    later = MailboxFactory(imap_host="imap.example", next_sync_at=now + timedelta(seconds=30))  # not yet
    MailboxFactory(imap_host="")  # no IMAP: nothing to read
    MailboxFactory(imap_host="imap.example", status=Mailbox.Status.DISCONNECTED)

    assert sorted(mailboxes_claim_due(now=now)) == sorted([due.pk, never.pk])
    assert mailboxes_claim_due(now=now) == []  # claimed: pushed a lease ahead
    due.refresh_from_db()
    assert due.next_sync_at == now + imap.CLAIM_LEASE
    assert sorted(mailboxes_claim_due(now=now + imap.CLAIM_LEASE)) == sorted([due.pk, never.pk, later.pk])


def test_the_tick_task_sends_each_claimed_mailbox_to_a_worker(db):
    first, second = MailboxFactory(imap_host="imap.example"), MailboxFactory(imap_host="imap.example")
    with mock.patch.object(tasks.inbox_sync_mailbox, "delay") as delay:
        tasks.inbox_sync_tick()
    assert sorted(call.args[0] for call in delay.call_args_list) == sorted([first.pk, second.pk])


def test_beat_runs_the_inbox_sync_tick():
    entry = app.conf.beat_schedule["inbox-sync"]
    assert entry["task"] == "nudge.inbox_sync_tick" == tasks.inbox_sync_tick.name
    assert entry["schedule"] <= imap.SYNC_EVERY
    assert tasks.inbox_sync_mailbox.name == "nudge.inbox_sync_mailbox"
    # A worker never outlives its claim, so no second worker reads the same mailbox meanwhile.
    assert tasks.inbox_sync_mailbox.time_limit < imap.CLAIM_LEASE.total_seconds()
