"""Booked meetings, and the enrollments they stop."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts_app.models import User
from config.errors import NotAllowed, ValidationFailed
from contacts_app.models import Contact
from sequences_app.models import EmailEvent, Enrollment, Meeting
from sequences_app.sequence_settings import SequenceSettings
from sequences_app.services.enrollment_state import enrollments_unenroll

# A meeting's date beyond this either way is a typo; it also keeps every date inside the calendar's years.
MEETING_RANGE = timedelta(days=3653)


@transaction.atomic
def meeting_record(
    *, contact: Contact, user: User | None, caller: User, starts_at: datetime, title: str = "",
    now: datetime | None = None,
) -> Meeting:
    """Record a meeting; with *unenroll on meeting* the contact's enrollment ends (account-based: the company's).

    `caller` records it for themselves (`user` is the caller or None); only
    an admin records one for another user, since it ends enrollments. A
    meeting logged while the contact is enrolled counts even when it is
    dated in the past: it was booked during the enrollment.
    """
    if user is not None and user.pk != caller.pk and not caller.is_staff:
        raise NotAllowed("PERMISSION_DENIED", "Only an admin may record a meeting for another user.")
    now = now or timezone.now()
    if abs(starts_at - now) > MEETING_RANGE:
        raise ValidationFailed(
            "A meeting is dated within ten years of today.", fields={"starts_at": ["Enter a date within ten years."]}
        )
    meeting = Meeting.objects.create(contact=contact, user=user, starts_at=starts_at, title=title)
    enrollment = Enrollment.objects.filter(contact=contact, status__in=Enrollment.LIVE_STATUSES).first()
    EmailEvent.objects.create(
        kind=EmailEvent.Kind.MEETING,
        contact=contact,
        enrollment=enrollment,
        sequence_id=enrollment.sequence_id if enrollment else None,
        occurred_at=now,
        detail={"meeting": meeting.pk, "starts_at": starts_at.isoformat()},
    )
    if enrollment is None:
        return meeting
    settings = SequenceSettings.from_snapshot(enrollment.snapshot.get("settings", {}))
    if not settings.unenroll_on_meeting:
        return meeting
    enrollments_unenroll(
        enrollments=Enrollment.objects.filter(pk=enrollment.pk), reason=Enrollment.Reason.MEETING_BOOKED, now=now
    )
    if settings.account_based and contact.company_id is not None:
        enrollments_unenroll(
            enrollments=Enrollment.objects.filter(contact__company_id=contact.company_id).exclude(contact=contact),
            reason=Enrollment.Reason.COMPANY_MEETING_BOOKED,
            now=now,
        )
    return meeting
