"""What contacts do with a sequence email: open it, click in it, unsubscribe from it."""
from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from mailboxes_app.models import OutboundMessage
from sequences_app.models import EmailEvent, Enrollment
from sequences_app.services.enrollment_state import enrollments_unenroll
from sequences_app.services.stops import contact_flags_set


def message_opened(*, message: OutboundMessage, now: datetime | None = None) -> None:
    EmailEvent.of_message(message, EmailEvent.Kind.OPEN, now or timezone.now()).save()


def message_clicked(*, message: OutboundMessage, url: str, now: datetime | None = None) -> None:
    EmailEvent.of_message(message, EmailEvent.Kind.CLICK, now or timezone.now(), url=url[:2000]).save()


@transaction.atomic
def message_unsubscribe(*, message: OutboundMessage, now: datetime | None = None) -> bool:
    """The contact leaves sales email: unsubscribed from sales email, every live enrollment unenrolled.

    Idempotent: a second click (or a mail client's one-click POST after the
    page) changes nothing and returns False.
    """
    now = now or timezone.now()
    contact_id = message.enrollment.contact_id
    if contact_id is None:
        return False
    changed = contact_flags_set(contact_id=contact_id, unsubscribed_sales=True, now=now)
    enrollments_unenroll(
        enrollments=Enrollment.objects.filter(contact_id=contact_id),
        reason=Enrollment.Reason.UNSUBSCRIBED,
        now=now,
    )
    if changed:
        EmailEvent.of_message(message, EmailEvent.Kind.UNSUBSCRIBE, now).save()
    return bool(changed)
