"""Celery tasks for inbox sync: thin wrappers that take ids and call `mailboxes_app.sync.imap`."""
from __future__ import annotations

from celery import shared_task

from mailboxes_app.sync.imap import mailbox_sync, mailboxes_claim_due


@shared_task(name="nudge.inbox_sync_tick", ignore_result=True, time_limit=60, soft_time_limit=50, expires=30)
def inbox_sync_tick() -> None:
    # The claim is committed before the tasks go out: a worker always finds its mailbox claimed.
    for mailbox_id in mailboxes_claim_due():
        inbox_sync_mailbox.delay(mailbox_id)


# The hard limit stays below the claim lease (imap.CLAIM_LEASE), so no second worker takes the mailbox
# while this one may still be reading it.
@shared_task(name="nudge.inbox_sync_mailbox", ignore_result=True, time_limit=300, soft_time_limit=270)
def inbox_sync_mailbox(mailbox_id: int) -> None:
    mailbox_sync(mailbox_id=mailbox_id)
