"""Inbox sync over IMAP: which mailboxes are due, which folders, which messages are new.

Beat runs `mailboxes_claim_due` (through `nudge.inbox_sync_tick`); each
claimed mailbox is synced by `mailbox_sync` in a worker:
1. Claim: connected mailboxes with an IMAP server whose `next_sync_at` has
   come get it pushed a lease ahead (FOR UPDATE SKIP LOCKED on PostgreSQL),
   so one mailbox is synced by one worker at a time; a lost task only
   delays it by the lease.
2. Connect and log in (`transport.imap_connect`; XOAUTH2 for Google and
   Microsoft mailboxes). A refused login or a revoked OAuth grant marks the
   mailbox disconnected and tells its owner (sending waits for a reconnect,
   as when SMTP refuses); any other failure (an OAuth token endpoint that
   is down too) retries later, the wait doubling per failure (2, 4, 8 …
   minutes, at most an hour).
3. Folders: INBOX, plus the spam folder — the one LIST marks `\\Junk`
   (RFC 6154 SPECIAL-USE), else one named like a provider's ("Junk",
   "Junk E-mail", "Spam", "[Gmail]/Spam", "Bulk Mail", "Roskaposti", …),
   where bounces and complaints may land. LIST runs on the first sync and
   then once a day (or when a folder can't be opened), not every minute.
4. Per folder, EXAMINE (read-only) answers UIDVALIDITY and UIDNEXT: when
   UIDNEXT says nothing arrived since the stored position, that one round
   trip is the whole cost. A changed UIDVALIDITY means the server renumbered
   the folder: the position restarts (already handled messages are
   recognised by Message-ID and not applied twice).
5. New UIDs come from one UID SEARCH (on a first read: SINCE the day before
   the owner's first sequence email — nothing older can answer one — and
   at most 30 days back). They
   are handled in batches (`handle.batch_handle`: header fields of the
   whole batch in one FETCH, whole messages only for the few that need
   them); the folder's position is committed after each batch's messages
   are recorded, so a crash re-reads at most one batch, which the unique
   InboundMessage rows make harmless.
"""
from __future__ import annotations

import contextlib
import imaplib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from accounts_app.models import Notification
from mailboxes_app.models import Mailbox, MailboxFolderState, OutboundMessage
from mailboxes_app.oauth.tokens import OAuthRevoked
from mailboxes_app.sync.classify import HEADER_FIELDS
from mailboxes_app.sync.handle import SENT_STATES, BatchReport, Fetched, batch_handle
from mailboxes_app.transport import imap_connect, imap_error_message

logger = logging.getLogger(__name__)

SYNC_EVERY = timedelta(seconds=60)
BACKOFF_MAX = timedelta(hours=1)
# Longer than the sync task's hard time limit: a live worker never loses its claim.
CLAIM_LEASE = timedelta(minutes=10)
RELIST_EVERY = timedelta(hours=24)
CLAIM_LIMIT = 200
BATCH = 500
# One run reads at most this many messages; the rest are read by the next run, due at once.
MAX_MESSAGES_PER_RUN = 5000
# How far back a folder's first read (or a re-read after UIDVALIDITY changed) looks, at most.
FIRST_READ_DAYS = timedelta(days=30)
# Larger messages are read only this far (a bounce's or auto-reply's text is near the top).
MAX_BODY_BYTES = 1_000_000
INBOX = "INBOX"
# Last path components of providers' spam folders, for servers without SPECIAL-USE.
JUNK_NAMES = frozenset({
    "junk", "junk e-mail", "junk email", "junk mail", "junk-e-mail", "spam", "bulk mail", "bulk",
    "roskaposti", "skräppost", "spamverdacht", "courrier indésirable", "pourriel", "correo no deseado",
})
_HEADER_FETCH = f"BODY.PEEK[HEADER.FIELDS ({' '.join(HEADER_FIELDS)})]"


@dataclass
class FolderReport:
    folder: str
    new: int = 0
    applied: int = 0
    bodies_fetched: int = 0
    reset: bool = False
    # New messages left for the next run (this one read its share).
    left: int = 0
    kinds: dict[str, int] = field(default_factory=dict)


@dataclass
class SyncReport:
    mailbox_id: int
    outcome: str = "ok"  # ok | skipped | disconnected | failed
    error: str = ""
    more: bool = False
    folders: list[FolderReport] = field(default_factory=list)

    @property
    def new(self) -> int:
        return sum(folder.new for folder in self.folders)

    @property
    def applied(self) -> int:
        return sum(folder.applied for folder in self.folders)


# --- Claiming ---------------------------------------------------------------------------------------


def mailboxes_claim_due(*, now: datetime | None = None, limit: int = CLAIM_LIMIT) -> list[int]:
    """Claim connected mailboxes with IMAP whose sync is due; returns their ids."""
    now = now or timezone.now()
    with transaction.atomic():
        due = (
            Mailbox.objects.filter(status=Mailbox.Status.CONNECTED)
            .filter(Q(next_sync_at__isnull=True) | Q(next_sync_at__lte=now))
            .exclude(imap_host="")
            .order_by(F("next_sync_at").asc(nulls_first=True), "pk")
        )
        ids = list(due.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])
        if ids:
            # .update() leaves updated_at alone: mailbox_verify relies on it to spot edits.
            Mailbox.objects.filter(pk__in=ids).update(next_sync_at=now + CLAIM_LEASE)
    return ids


# --- Syncing ----------------------------------------------------------------------------------------


def mailbox_sync(
    *,
    mailbox_id: int,
    now: datetime | None = None,
    connect: Callable[[Mailbox], IMAPClient] = imap_connect,
    max_messages: int = MAX_MESSAGES_PER_RUN,
) -> SyncReport:
    """Read what is new in the mailbox's folders and apply it (steps 2–5 of the module docstring)."""
    now = now or timezone.now()
    report = SyncReport(mailbox_id=mailbox_id)
    mailbox = Mailbox.objects.filter(pk=mailbox_id).first()
    if mailbox is None or not mailbox.is_connected or not mailbox.imap_host:
        report.outcome = "skipped"
        return report
    try:
        client = connect(mailbox)
    except LoginError as exc:
        _disconnect(mailbox, imap_error_message(mailbox, exc), report)
        return report
    except OAuthRevoked as exc:  # oauth.tokens disconnected the mailbox and told its owner
        report.outcome, report.error = "disconnected", str(exc)
        return report
    except Exception as exc:  # network, TLS, timeouts: try again later
        _back_off(mailbox, imap_error_message(mailbox, exc), now, report)
        return report
    try:
        client.normalise_times = False  # aware INTERNALDATEs
        _sync_folders(client, mailbox, now=now, budget=max_messages, report=report)
    except Exception as exc:  # the connection broke, the server misbehaved, or a bug: retry later
        logger.warning("inbox sync of mailbox %s failed", mailbox.pk, exc_info=True)
        _back_off(mailbox, _failure_message(mailbox, exc), now, report)
        return report
    finally:
        _logout(client)
    Mailbox.objects.filter(pk=mailbox.pk).update(
        next_sync_at=now if report.more else now + SYNC_EVERY,
        sync_failures=0,
        sync_error="",
        last_synced_at=now,
    )
    return report


def folders_to_sync(listing: Iterable[tuple[Any, Any, str]]) -> list[str]:
    """INBOX, then the spam folder(s): SPECIAL-USE `\\Junk` where the server marks it, else by name."""
    selectable = []
    for flags, delimiter, name in listing:
        marks = {_text(flag).lower() for flag in flags or ()}
        if "\\noselect" in marks or "\\nonexistent" in marks or name.upper() == INBOX:
            continue
        selectable.append((marks, _text(delimiter) if delimiter else "", name))
    junk = [name for marks, _, name in selectable if "\\junk" in marks]
    if not junk:
        junk = [
            name for _, delimiter, name in selectable
            if (name.rsplit(delimiter, 1)[-1] if delimiter else name).strip().lower() in JUNK_NAMES
        ]
    return [INBOX, *sorted(junk)]


def _sync_folders(client: IMAPClient, mailbox: Mailbox, *, now: datetime, budget: int, report: SyncReport) -> None:
    for state in _folder_states(client, mailbox, now):
        if budget <= 0:  # this run read its share; the next one (due at once) reads the other folders
            report.more = True
            return
        try:
            info = client.select_folder(state.folder, readonly=True)
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error:
            if state.folder == INBOX:
                raise
            # The spam folder went away or was renamed: look again next time.
            Mailbox.objects.filter(pk=mailbox.pk).update(sync_folders_listed_at=None)
            continue
        folder = _sync_folder(client, mailbox, state, info, now=now, budget=budget)
        report.folders.append(folder)
        budget -= folder.new
        if folder.left:
            report.more = True
            return


def _folder_states(client: IMAPClient, mailbox: Mailbox, now: datetime) -> list[MailboxFolderState]:
    states = {state.folder: state for state in MailboxFolderState.objects.filter(mailbox=mailbox)}
    listed_at = mailbox.sync_folders_listed_at
    if not states or listed_at is None or listed_at <= now - RELIST_EVERY:
        names = folders_to_sync(client.list_folders())
        for name in names:
            if name not in states:
                states[name], _ = MailboxFolderState.objects.get_or_create(mailbox=mailbox, folder=name)
        gone = set(states) - set(names)
        MailboxFolderState.objects.filter(mailbox=mailbox, folder__in=gone).delete()
        for name in gone:
            del states[name]
        Mailbox.objects.filter(pk=mailbox.pk).update(sync_folders_listed_at=now)
    return sorted(states.values(), key=lambda state: (state.folder != INBOX, state.folder))


def _sync_folder(
    client: IMAPClient, mailbox: Mailbox, state: MailboxFolderState, info: dict[bytes, Any], *,
    now: datetime, budget: int,
) -> FolderReport:
    report = FolderReport(state.folder)
    uidvalidity = int(info[b"UIDVALIDITY"])
    uidnext = int(info.get(b"UIDNEXT") or 0)
    if state.uidvalidity != uidvalidity:
        report.reset = state.uidvalidity is not None
        MailboxFolderState.objects.filter(pk=state.pk).update(uidvalidity=uidvalidity, last_uid=0)
        state.uidvalidity, state.last_uid = uidvalidity, 0
    last = state.last_uid
    if uidnext and uidnext - 1 <= last:
        return report  # nothing new: EXAMINE was the only round trip
    if not int(info.get(b"EXISTS") or 0):
        uids: list[int] = []
    elif last == 0:
        since = _first_relevant_day(mailbox, now)
        uids = client.search(["SINCE", since]) if since is not None else []
    else:
        uids = client.search(["UID", f"{last + 1}:*"])
    # "n:*" always names the last message, even when its UID is below n.
    uids = sorted(uid for uid in uids if uid > last)
    todo, rest = uids[:budget], uids[budget:]
    totals: dict[str, int] = {}
    for start in range(0, len(todo), BATCH):
        batch = todo[start : start + BATCH]
        batch_report = _handle_batch(client, mailbox, state, uidvalidity, batch, now=now)
        _commit_position(state, uidvalidity, batch[-1], now)
        report.new += batch_report.seen
        report.applied += batch_report.applied
        report.bodies_fetched += batch_report.bodies_fetched
        for kind, count in batch_report.kinds.items():
            totals[kind] = totals.get(kind, 0) + count
    report.kinds, report.left = totals, len(rest)
    if not rest and uidnext and uidnext - 1 > state.last_uid:
        # Everything below UIDNEXT is handled (or older than any sequence email): skip it for good.
        _commit_position(state, uidvalidity, uidnext - 1, now)
    return report


def _handle_batch(
    client: IMAPClient, mailbox: Mailbox, state: MailboxFolderState, uidvalidity: int, batch: list[int], *,
    now: datetime,
) -> BatchReport:
    rows = client.fetch(batch, ["INTERNALDATE", "RFC822.SIZE", _HEADER_FETCH])
    fetched = []
    for uid in batch:
        data = rows.get(uid)
        if data is None:  # expunged meanwhile
            continue
        internal = data.get(b"INTERNALDATE")
        fetched.append(
            Fetched(
                uid=uid,
                header=_part(data, b"BODY[HEADER"),
                received_at=internal if isinstance(internal, datetime) and internal.tzinfo else None,
                size=int(data.get(b"RFC822.SIZE") or 0),
            )
        )
    return batch_handle(
        mailbox=mailbox, folder=state.folder, uidvalidity=uidvalidity, fetched=fetched,
        fetch_bodies=lambda items: _fetch_bodies(client, items), now=now,
    )


def _fetch_bodies(client: IMAPClient, items: list[Fetched]) -> dict[int, bytes]:
    """Whole messages (the first MAX_BODY_BYTES of larger ones): one FETCH for each size group."""
    bodies: dict[int, bytes] = {}
    small = [item.uid for item in items if item.size <= MAX_BODY_BYTES]
    large = [item.uid for item in items if item.size > MAX_BODY_BYTES]
    for uids, what in ((small, "BODY.PEEK[]"), (large, f"BODY.PEEK[]<0.{MAX_BODY_BYTES}>")):
        if uids:
            for uid, data in client.fetch(uids, [what]).items():
                bodies[uid] = _part(data, b"BODY[")
    return bodies


def _part(data: dict[bytes, Any], prefix: bytes) -> bytes:
    """A FETCH item by prefix: servers spell `BODY[HEADER.FIELDS (...)]` back in their own way."""
    for key, value in data.items():
        if isinstance(key, bytes) and key.upper().startswith(prefix) and isinstance(value, bytes):
            return value
    return b""


def _first_relevant_day(mailbox: Mailbox, now: datetime) -> date | None:
    """Where a first read starts: the day before the owner's first sequence email, since no older message
    can concern one (None: never sent), but at most FIRST_READ_DAYS back — an answer older than that
    concerns a sequence long over, and a years-old mailbox would otherwise be read whole."""
    first = (
        OutboundMessage.objects.filter(sender_id=mailbox.owner_id, state__in=SENT_STATES, sent_at__isnull=False)
        .order_by("sent_at")
        .values_list("sent_at", flat=True)
        .first()
    )
    if first is None:
        return None
    return max(first - timedelta(days=1), now - FIRST_READ_DAYS).date()


def _commit_position(state: MailboxFolderState, uidvalidity: int, uid: int, now: datetime) -> None:
    # Only forward, and only in the UIDVALIDITY it was read in (a parallel run may be ahead).
    MailboxFolderState.objects.filter(pk=state.pk, uidvalidity=uidvalidity, last_uid__lt=uid).update(
        last_uid=uid, synced_at=now
    )
    state.last_uid = max(state.last_uid, uid)


# --- Failures ---------------------------------------------------------------------------------------


def _failure_message(mailbox: Mailbox, exc: Exception) -> str:
    if isinstance(exc, imaplib.IMAP4.error | OSError | EOFError):
        return imap_error_message(mailbox, exc)
    return f"Inbox sync stopped on an internal error ({type(exc).__name__}); it will try again."


def _back_off(mailbox: Mailbox, error: str, now: datetime, report: SyncReport) -> None:
    failures = mailbox.sync_failures + 1
    wait = min(SYNC_EVERY * 2**failures, BACKOFF_MAX)
    Mailbox.objects.filter(pk=mailbox.pk).update(
        sync_failures=failures, next_sync_at=now + wait, sync_error=error[:500]
    )
    report.outcome, report.error = "failed", error


def _disconnect(mailbox: Mailbox, error: str, report: SyncReport) -> None:
    """The IMAP server refused the login: disconnected until the owner verifies the mailbox again."""
    detail = f"IMAP: {error}"[:500]
    with transaction.atomic():
        changed = Mailbox.objects.filter(pk=mailbox.pk, status=Mailbox.Status.CONNECTED).update(
            status=Mailbox.Status.DISCONNECTED, status_detail=detail, sync_error=error[:500],
            sync_failures=F("sync_failures") + 1, next_sync_at=None,
        )
        if changed:
            Notification.objects.create(
                user_id=mailbox.owner_id,
                kind="inbox_disconnected",
                message=f"{mailbox.email} was disconnected: {error} Reconnect it so replies keep stopping "
                "your sequences.",
                url="/mailboxes/",
            )
    report.outcome, report.error = "disconnected", error


def _logout(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:  # the connection may be gone already
        with contextlib.suppress(Exception):
            client.shutdown()


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
