"""Celery tasks for mailboxes: inbox sync (`mailboxes_app.sync.imap`) and verification; thin, ids in."""
from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from config.logs import log_tick
from mailboxes_app.models import Mailbox
from mailboxes_app.services import VERIFY_TIMEOUT, VERIFY_TOO_SLOW
from mailboxes_app.services import mailbox_verify as mailbox_verify_service
from mailboxes_app.sync.imap import mailbox_sync, mailboxes_claim_due

logger = logging.getLogger(__name__)


@shared_task(name="nudge.inbox_sync_tick", ignore_result=True, time_limit=60, soft_time_limit=50, expires=30)
def inbox_sync_tick() -> None:
    # The claim is committed before the tasks go out: a worker always finds its mailbox claimed.
    claimed = mailboxes_claim_due()
    for mailbox_id in claimed:
        inbox_sync_mailbox.delay(mailbox_id)
    log_tick(logger, "inbox sync tick", {"mailboxes": len(claimed)})


# The hard limit stays below the claim lease (imap.CLAIM_LEASE), so no second worker takes the mailbox
# while this one may still be reading it.
@shared_task(name="nudge.inbox_sync_mailbox", ignore_result=True, time_limit=300, soft_time_limit=270)
def inbox_sync_mailbox(mailbox_id: int) -> None:
    mailbox_sync(mailbox_id=mailbox_id)


# Two logins of at most VERIFY_TIMEOUT seconds per step; the limits end a server that trickles bytes.
# No retry: the rep sees the answer and asks again.
@shared_task(name="nudge.mailbox_verify", ignore_result=True, time_limit=60, soft_time_limit=50)
def mailbox_verify(mailbox_id: int) -> None:
    mailbox = Mailbox.objects.filter(pk=mailbox_id).first()
    if mailbox is None:
        return
    try:
        mailbox_verify_service(mailbox=mailbox, timeout=VERIFY_TIMEOUT)
    except SoftTimeLimitExceeded:
        Mailbox.objects.filter(pk=mailbox_id).update(
            verification=Mailbox.Verification.DONE, verification_smtp=VERIFY_TOO_SLOW, verification_imap=""
        )
