"""Each message fixture, synced from a real IMAP server: what it does to the enrollment and the contact,
and that a second sync with no new mail changes nothing."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
import time_machine

from mailboxes_app.models import InboundMessage, OutboundMessage
from mailboxes_app.sync.imap import mailbox_sync
from mailboxes_app.tests.sync.helpers import (
    HELSINKI,
    SYNC_AT,
    imap_append,
)
from mailboxes_app.tests.sync.reports import REPORTS
from sequences_app.models import EmailEvent

pytestmark = pytest.mark.django_db
RETURN_MORNING = datetime(2026, 12, 7, 9, 0, tzinfo=HELSINKI)  # 07:00 UTC
DEFAULT_RESUME = datetime.fromisoformat(SYNC_AT) + timedelta(days=7)


@dataclass(frozen=True)
class Case:
    fixture: str
    kind: str
    status: str = "active"
    reason: str | None = None
    events: tuple[str, ...] = ()
    matched_by: str = ""
    resume_at: datetime | None = None
    bounced: str = ""  # part of the bounce reason recorded on the contact
    marked_spam: bool = False
    folder: str = "INBOX"
    bounce_code: str = ""
    # A soft bounce sends the email again later.
    message_state: str = "sent"

    def __str__(self) -> str:
        return self.fixture.removesuffix(".eml") + ("" if self.folder == "INBOX" else f"@{self.folder}")


REPLIED = {"kind": "reply", "status": "unenrolled", "reason": "REPLIED", "events": ("reply",)}
OOO_DATE = {"kind": "out_of_office", "status": "paused", "reason": "OUT_OF_OFFICE", "events": ("out_of_office",),
            "resume_at": RETURN_MORNING}
OOO_DEFAULT = {**OOO_DATE, "resume_at": DEFAULT_RESUME}
HARD_BOUNCE = {"kind": "bounce", "status": "bounced", "reason": "BOUNCED", "events": ("bounce",)}
SOFT_BOUNCE = {"kind": "bounce", "status": "active", "events": ("temporary_bounce",)}

CASES = [
    Case("reply_gmail_threaded.eml", **REPLIED, matched_by="headers"),
    Case("reply_outlook_threaded.eml", **REPLIED, matched_by="headers"),
    Case("reply_plain_from_contact.eml", **REPLIED, matched_by="sender"),
    Case("reply_colleague_in_thread.eml", **REPLIED, matched_by="headers"),
    Case("ooo_en_outlook_date.eml", **OOO_DATE, matched_by="headers"),
    Case("ooo_en_gmail_nodate.eml", **OOO_DEFAULT, matched_by="headers"),
    Case("ooo_fi_outlook_date.eml", **OOO_DATE, matched_by="headers"),
    Case("ooo_fi_sieve_nodate.eml", **OOO_DEFAULT, matched_by="headers"),
    Case("ooo_sv_outlook_date.eml", **OOO_DATE, matched_by="sender"),
    Case("ooo_sv_nodate.eml", **OOO_DEFAULT, matched_by="sender"),
    Case("ooo_de_outlook_date.eml", **OOO_DATE, matched_by="headers"),
    Case("ooo_de_sieve_nodate.eml", **OOO_DEFAULT, matched_by="sender"),
    Case("ooo_fr_outlook_date.eml", **OOO_DATE, matched_by="headers"),
    Case("ooo_fr_nodate.eml", **OOO_DEFAULT, matched_by="sender"),
    Case("ooo_es_outlook_date.eml", **OOO_DATE, matched_by="headers"),
    Case("ooo_es_nodate.eml", **OOO_DEFAULT, matched_by="sender"),
    Case("bounce_gmail_permanent.eml", **HARD_BOUNCE, matched_by="original", bounced="5.1.1"),
    Case("bounce_exchange_permanent.eml", **HARD_BOUNCE, matched_by="original", bounced="5.1.10"),
    Case("bounce_postfix_permanent.eml", **HARD_BOUNCE, matched_by="original", bounced="User unknown"),
    Case("bounce_exim_permanent.eml", **HARD_BOUNCE, matched_by="original", bounced="550 5.1.1"),
    Case("bounce_postfix_delayed.eml", **SOFT_BOUNCE, matched_by="original"),
    Case("bounce_exim_delayed.eml", **SOFT_BOUNCE, matched_by="original"),
    Case("arf_report.eml", kind="spam_report", status="unenrolled", reason="SPAM_REPORTED", events=("spam",),
         matched_by="original", marked_spam=True),
    Case("unrelated_newsletter.eml", kind="other"),
    Case("unrelated_personal.eml", kind="other"),
    # The provider's spam folder is read too: a reply Gmail filtered as spam still stops the sequence.
    Case("reply_gmail_threaded.eml", **REPLIED, matched_by="headers", folder="[Gmail]/Spam"),
    Case("bounce_postfix_permanent.eml", **HARD_BOUNCE, matched_by="original", bounced="User unknown",
         folder="Junk"),
]
# Every other bounce, complaint and auto-reply fixture of the MTA families (fixtures/reports.tsv).
_LISTED = {case.fixture for case in CASES}
for report in REPORTS:
    if report.file in _LISTED:
        continue
    if report.kind == "spam_report":
        CASES.append(Case(report.file, kind="spam_report", status="unenrolled", reason="SPAM_REPORTED",
                          events=("spam",), matched_by="original", marked_spam=True))
    elif report.kind == "out_of_office":
        CASES.append(Case(report.file, **OOO_DEFAULT, matched_by="headers"))
    elif report.hard:
        CASES.append(Case(report.file, **HARD_BOUNCE, matched_by="*", bounced=":", bounce_code=report.code))
    else:
        CASES.append(Case(report.file, **SOFT_BOUNCE, matched_by="*",
                          message_state="sent" if report.code == "delayed" else "retry"))


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_synced_message_changes_the_enrollment_and_contact_once(world, inbox, case):
    imap_append(inbox, world.eml(case.fixture), when=datetime(2026, 11, 23, 11, 0, tzinfo=HELSINKI),
                folder=case.folder)

    with time_machine.travel(SYNC_AT, tick=False):
        first = mailbox_sync(mailbox_id=world.mailbox.pk)
        after_first = world.snapshot()
        second = mailbox_sync(mailbox_id=world.mailbox.pk)

    assert (first.outcome, first.new) == ("ok", 1)
    inbound = InboundMessage.objects.get()
    assert (inbound.kind, inbound.folder) == (case.kind, case.folder)
    if case.matched_by == "*":  # by the original's Message-ID where the notice carries it, else by the address
        assert inbound.detail["matched_by"] in ("original", "recipient")
    else:
        assert inbound.detail.get("matched_by", "") == case.matched_by
    world.refresh()
    assert (world.enrollment.status, world.enrollment.reason) == (case.status, case.reason)
    assert world.enrollment.resume_at == case.resume_at
    events = list(EmailEvent.objects.exclude(kind="sent").values_list("kind", flat=True))
    assert events == list(case.events)
    if events:
        event = EmailEvent.objects.exclude(kind="sent").get()
        assert (event.enrollment, event.message, event.step_order) == (world.enrollment, world.message, 1)
    assert world.contact.email_bounced == bool(case.bounced)
    assert case.bounced in world.contact.bounce_reason
    assert world.contact.marked_spam == case.marked_spam
    if case.bounce_code:
        assert world.contact.bounce_code == case.bounce_code
    assert OutboundMessage.objects.get(pk=world.message.pk).state == case.message_state
    # Nothing new: the second sync reads nothing and changes nothing.
    assert (second.outcome, second.new) == ("ok", 0)
    assert world.snapshot() == after_first
