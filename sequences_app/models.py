"""Sequences and their steps, the enrollments that run them, and what happens on the way."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.db.models import Q

if TYPE_CHECKING:
    from mailboxes_app.models import OutboundMessage


class FollowUpDays(models.TextChoices):
    BUSINESS_DAYS = "BUSINESS_DAYS", "Business days (weekdays that are not public holidays)"
    WEEKDAYS_ONLY = "WEEKDAYS_ONLY", "Weekdays only"
    EVERYDAY = "EVERYDAY", "Every day"


class StepType(models.TextChoices):
    AUTOMATED_EMAIL = "automated_email", "Automated email"
    MANUAL_EMAIL = "manual_email", "Manual email task"
    CALL = "call", "Call task"
    LINKEDIN_CONNECT = "linkedin_connect", "LinkedIn connection request"
    LINKEDIN_MESSAGE = "linkedin_message", "LinkedIn message"
    TODO = "todo", "To-do"


TASK_STEP_TYPES = frozenset(
    {StepType.MANUAL_EMAIL, StepType.CALL, StepType.LINKEDIN_CONNECT, StepType.LINKEDIN_MESSAGE, StepType.TODO}
)


class Priority(models.TextChoices):
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"
    NONE = "none", "None"


class Sequence(models.Model):
    class Visibility(models.TextChoices):
        PRIVATE = "private", "Private to owner"
        EVERYONE = "everyone", "Everyone"
        SPECIFIC = "specific", "Specific users and teams"

    name = models.CharField(max_length=255)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sequences")
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PRIVATE)
    shared_users = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="shared_sequences", blank=True)
    shared_teams = models.ManyToManyField("accounts_app.Team", related_name="shared_sequences", blank=True)
    # Settings (see sequences_app.sequence_settings.SequenceSettings for meaning and defaults).
    follow_up_days = models.CharField(max_length=16, choices=FollowUpDays.choices, default=FollowUpDays.BUSINESS_DAYS)
    send_window_start_minute = models.PositiveSmallIntegerField(null=True, blank=True)
    send_window_end_minute = models.PositiveSmallIntegerField(null=True, blank=True)
    threaded_follow_ups = models.BooleanField(default=True)
    unenroll_on_reply = models.BooleanField(default=True)
    unenroll_on_meeting = models.BooleanField(default=True)
    account_based = models.BooleanField(default=False)
    task_reminders = models.BooleanField(default=True)
    # Open pixel and click redirects (off by default: plain emails land better).
    track_opens = models.BooleanField(default=False)
    track_clicks = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Deleted sequences are kept (soft delete) so enrollment history and analytics stay whole.
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(send_window_start_minute__isnull=True, send_window_end_minute__isnull=True)
                | Q(
                    send_window_start_minute__isnull=False,
                    send_window_end_minute__isnull=False,
                    send_window_start_minute__gte=0,
                    send_window_start_minute__lt=models.F("send_window_end_minute"),
                    send_window_end_minute__lte=1440,
                ),
                name="sequence_send_window_valid",
            ),
        ]
        indexes = [models.Index(fields=["owner"], condition=Q(deleted_at__isnull=True), name="sequence_live_owner_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class SequenceStep(models.Model):
    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField()
    type = models.CharField(max_length=20, choices=StepType.choices)
    # Calendar days after the previous step is done (ignored for the first step).
    delay_days = models.PositiveSmallIntegerField(default=0)
    # Email steps (automated_email; manual_email tasks also carry a draft).
    subject = models.CharField(max_length=998, blank=True, default="")
    body_html = models.TextField(blank=True, default="")
    # Task steps.
    title = models.CharField(max_length=255, blank=True, default="")
    notes = models.TextField(blank=True, default="")
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.NONE)
    create_task_immediately = models.BooleanField(default=False)
    continue_without_completion = models.BooleanField(default=False)

    class Meta:
        ordering = ["sequence_id", "order"]
        constraints = [
            models.UniqueConstraint(fields=["sequence", "order"], name="sequence_step_order_unique"),
            models.CheckConstraint(condition=Q(order__gte=1), name="sequence_step_order_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.order}. {self.get_type_display()}"

    @property
    def is_task(self) -> bool:
        return self.type in TASK_STEP_TYPES


class EmailTemplate(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_templates")
    name = models.CharField(max_length=200)
    subject = models.CharField(max_length=998, blank=True, default="")
    body_html = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Snippet(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="snippets")
    name = models.CharField(max_length=200)
    shortcut = models.SlugField(max_length=64)
    body_html = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["owner", "shortcut"], name="snippet_shortcut_unique")]

    def __str__(self) -> str:
        return f"#{self.shortcut} {self.name}"


class Document(models.Model):
    """An uploaded file shared in emails through a tracked link (`/d/<token>/`)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="documents")
    name = models.CharField(max_length=255)
    file = models.FileField(upload_to="documents/%Y/%m/")
    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Enrollment(models.Model):
    """One contact running one sequence, from a snapshot taken at enrollment."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        FINISHED = "finished", "Finished"
        UNENROLLED = "unenrolled", "Unenrolled"
        BOUNCED = "bounced", "Bounced"
        FAILED = "failed", "Failed"

    class Reason(models.TextChoices):
        MANUAL = "MANUAL", "Unenrolled by hand"
        REPLIED = "REPLIED", "Contact replied"
        COMPANY_REPLIED = "COMPANY_REPLIED", "Someone at the company replied"
        MEETING_BOOKED = "MEETING_BOOKED", "Meeting booked"
        COMPANY_MEETING_BOOKED = "COMPANY_MEETING_BOOKED", "Someone at the company booked a meeting"
        UNSUBSCRIBED = "UNSUBSCRIBED", "Contact unsubscribed"
        BOUNCED = "BOUNCED", "Email bounced"
        SEQUENCE_DELETED = "SEQUENCE_DELETED", "Sequence deleted"
        SENDER_LOST_SEAT = "SENDER_LOST_SEAT", "Sender lost their seat"
        SENDER_DEACTIVATED = "SENDER_DEACTIVATED", "Sender deactivated"
        CONTACT_DELETED = "CONTACT_DELETED", "Contact deleted"
        SEND_FAILED = "SEND_FAILED", "Email could not be sent"
        INBOX_DISCONNECTED = "INBOX_DISCONNECTED", "Inbox disconnected"
        OUT_OF_OFFICE = "OUT_OF_OFFICE", "Out of office (paused until return)"
        SPAM_REPORTED = "SPAM_REPORTED", "Contact reported an email as spam"
        SENDING_PAUSED = "SENDING_PAUSED", "Mailbox sending paused (bounces or complaints)"

    # At most one of these per contact: "one sequence at a time".
    LIVE_STATUSES = ("scheduled", "active", "paused")

    # No index of its own: enrollment_sequence_status_idx leads with it.
    sequence = models.ForeignKey(Sequence, on_delete=models.PROTECT, related_name="enrollments", db_index=False)
    # Kept (as NULL) when the contact is deleted, so the audit trail survives.
    contact = models.ForeignKey(
        "contacts_app.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="enrollments"
    )
    # No index of its own: enrollment_sender_status_idx leads with it.
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sent_enrollments", db_index=False
    )
    # Who enrolled the contact: tasks go to them (NULL when a workflow did).
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    mailbox = models.ForeignKey(
        "mailboxes_app.Mailbox", null=True, blank=True, on_delete=models.SET_NULL, related_name="enrollments"
    )
    time_zone = models.CharField(max_length=64)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    reason = models.CharField(max_length=32, choices=Reason.choices, null=True, blank=True)
    # {"sequence_name", "settings": {...}, "steps": [{order, type, delay_days, subject, ...}]}
    snapshot = models.JSONField()
    # Token values typed at enrollment for this contact ("Update all" and per-contact).
    token_values = models.JSONField(default=dict, blank=True)
    # Per-step edits for this contact: {"3": {"subject": ..., "body_html": ...}}.
    step_overrides = models.JSONField(default=dict, blank=True)
    start_step = models.PositiveSmallIntegerField(default=1)
    current_step = models.PositiveSmallIntegerField(default=1)
    next_action_at = models.DateTimeField(null=True, blank=True)
    # Pause bookkeeping: what was left of the delay, and an automatic resume (out of office).
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_remaining = models.DurationField(null=True, blank=True)
    resume_at = models.DateTimeField(null=True, blank=True)
    # Started by a bulk action: its emails obey the 3-per-minute throttle.
    is_bulk = models.BooleanField(default=False)
    # Bumped on every state change; claims and transitions are conditional on it.
    version = models.PositiveIntegerField(default=0)
    enrolled_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-enrolled_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["contact"],
                condition=Q(status__in=["scheduled", "active", "paused"]),
                name="one_live_enrollment_per_contact",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=["scheduled", "active", "paused", "finished", "unenrolled", "bounced", "failed"]
                ),
                name="enrollment_status_valid",
            ),
        ]
        indexes = [
            # Consumer: the scheduler tick, claiming enrollments whose next action is due.
            models.Index(
                fields=["next_action_at"],
                condition=Q(status__in=["scheduled", "active"]),
                name="enrollment_due_idx",
            ),
            # Consumer: the automatic resume of out-of-office pauses.
            models.Index(fields=["resume_at"], condition=Q(status="paused"), name="enrollment_resume_idx"),
            models.Index(fields=["sender", "status"], name="enrollment_sender_status_idx"),
            models.Index(fields=["sequence", "status"], name="enrollment_sequence_status_idx"),
            # Consumer: a sequence's enrolled list newest first (the sequence page and
            # `GET /enrollments/?sequence=`): a page is the index's first rows, not a sort of them all.
            models.Index(fields=["sequence", "-enrolled_at", "-id"], name="enrollment_sequence_newest_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.contact} in {self.snapshot.get('sequence_name', self.sequence_id)} [{self.status}]"

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE_STATUSES


class EnrollmentStep(models.Model):
    """What happened (or will) to one step of one enrollment."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SCHEDULED = "scheduled", "Scheduled"
        SENT = "sent", "Sent"
        DEFERRED = "deferred", "Deferred"
        TASK_OPEN = "task_open", "Task open"
        TASK_DONE = "task_done", "Task done"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"
        UNKNOWN = "unknown", "Unknown"

    # No index of its own: the unique (enrollment, order) constraint leads with it.
    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="steps", db_index=False)
    order = models.PositiveSmallIntegerField()
    type = models.CharField(max_length=20, choices=StepType.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    scheduled_for = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    # Why a step is deferred, skipped or failed, in words a rep understands.
    detail = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["enrollment_id", "order"]
        constraints = [models.UniqueConstraint(fields=["enrollment", "order"], name="enrollment_step_unique")]
        indexes = [
            # Consumer: the rolling-24-hour limit, counting a sender's scheduled emails.
            models.Index(
                fields=["scheduled_for"],
                condition=Q(type="automated_email", status__in=["scheduled", "deferred"]),
                name="enrollment_step_email_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"step {self.order} of enrollment {self.enrollment_id}: {self.status}"

    @property
    def bounce_note(self) -> str:
        """Why the step's email bounced softly or is delayed (the inbox sync writes it), else ""."""
        return self.detail if self.detail.startswith(("Soft bounce", "Delivery delayed")) else ""


class Task(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tasks")
    contact = models.ForeignKey(
        "contacts_app.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    enrollment = models.ForeignKey(Enrollment, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks")
    step_order = models.PositiveSmallIntegerField(null=True, blank=True)
    type = models.CharField(max_length=20, choices=StepType.choices, default=StepType.TODO)
    title = models.CharField(max_length=255)
    notes = models.TextField(blank=True, default="")
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.NONE)
    due_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    completed_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            # A sequence step creates its task exactly once.
            models.UniqueConstraint(
                fields=["enrollment", "step_order"],
                condition=Q(enrollment__isnull=False),
                name="one_task_per_enrollment_step",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "status", "due_at"], name="task_queue_idx"),
            # Consumer: the reminder tick, finding open tasks whose due time has come.
            models.Index(
                fields=["due_at"], condition=Q(status="open", reminder_sent_at__isnull=True), name="task_reminder_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Meeting(models.Model):
    contact = models.ForeignKey("contacts_app.Contact", on_delete=models.CASCADE, related_name="meetings")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="meetings"
    )
    starts_at = models.DateTimeField()
    title = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at"]

    def __str__(self) -> str:
        return f"Meeting with {self.contact} at {self.starts_at:%Y-%m-%d %H:%M}"


class EmailEvent(models.Model):
    """Something that happened to a sequence email or because of it (analytics and audit)."""

    class Kind(models.TextChoices):
        SENT = "sent", "Sent"
        OPEN = "open", "Opened"
        CLICK = "click", "Clicked"
        REPLY = "reply", "Replied"
        BOUNCE = "bounce", "Bounced"
        TEMPORARY_BOUNCE = "temporary_bounce", "Delivery delayed"
        UNSUBSCRIBE = "unsubscribe", "Unsubscribed"
        SPAM = "spam", "Marked as spam"
        OUT_OF_OFFICE = "out_of_office", "Out of office"
        MEETING = "meeting", "Meeting booked"
        DOCUMENT_VIEW = "document_view", "Document viewed"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    # No index of its own: event_sequence_kind_idx leads with it.
    sequence = models.ForeignKey(
        Sequence, null=True, blank=True, on_delete=models.SET_NULL, related_name="events", db_index=False
    )
    # No index of its own: event_enrollment_kind_idx leads with it.
    enrollment = models.ForeignKey(
        Enrollment, null=True, blank=True, on_delete=models.SET_NULL, related_name="events", db_index=False
    )
    # No index of its own: event_contact_idx leads with it.
    contact = models.ForeignKey(
        "contacts_app.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="email_events",
        db_index=False,
    )
    message = models.ForeignKey(
        "mailboxes_app.OutboundMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    step_order = models.PositiveSmallIntegerField(null=True, blank=True)
    url = models.URLField(max_length=2000, blank=True, default="")
    detail = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["sequence", "kind", "occurred_at"], name="event_sequence_kind_idx"),
            models.Index(fields=["enrollment", "kind"], name="event_enrollment_kind_idx"),
            models.Index(fields=["contact", "-occurred_at"], name="event_contact_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} at {self.occurred_at:%Y-%m-%d %H:%M}"

    @classmethod
    def of_message(
        cls,
        message: OutboundMessage,
        kind: str,
        occurred_at: datetime,
        *,
        enrollment: Enrollment | None = None,
        **fields: Any,
    ) -> EmailEvent:
        """An unsaved event of a sequence email, filed under its enrollment, sequence, contact and step.

        `enrollment` saves a query when the caller already holds the message's enrollment.
        """
        enrollment = enrollment or message.enrollment
        return cls(
            kind=kind,
            sequence_id=enrollment.sequence_id,
            enrollment=enrollment,
            contact_id=enrollment.contact_id,
            message=message,
            step_order=message.step_order,
            occurred_at=occurred_at,
            **fields,
        )


class SequenceCount(models.Model):
    """One running figure of one sequence, kept exact by database triggers (sequences_app.counters).

    `step_order` 0 is the whole sequence. Names: `status.<status>`
    (enrollments), `events.<kind>` (email events), `engaged.<kind>`
    (enrollments with at least one such event; per step too), `executed`
    and `tasks_done` (per step). The pages and the performance API read these
    instead of counting every enrollment and event per request.
    """

    # No database constraint: rows are written by triggers, and go with their sequence.
    sequence = models.ForeignKey(
        Sequence, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    step_order = models.PositiveSmallIntegerField(default=0)
    name = models.CharField(max_length=40)
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            # Consumer: the triggers' upserts and sequence_counts() reading a page of sequences.
            models.UniqueConstraint(fields=["sequence", "step_order", "name"], name="sequence_count_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} of sequence {self.sequence_id} step {self.step_order}: {self.value}"


class EnrollmentEngagement(models.Model):
    """How many events of one kind an enrollment has (per step; `step_order` 0 = any step), kept by triggers.

    What makes `engaged.<kind>` exact: it moves only when this goes 0 → 1 or
    1 → 0, and the row's lock orders two events of one enrollment arriving at once.
    """

    sequence_id = models.BigIntegerField()
    enrollment_id = models.BigIntegerField()
    kind = models.CharField(max_length=20)
    step_order = models.PositiveSmallIntegerField(default=0)
    events = models.IntegerField(default=0)

    class Meta:
        constraints = [
            # Consumer: the email-event trigger's upsert (sequences_app.counters).
            models.UniqueConstraint(
                fields=["sequence_id", "enrollment_id", "kind", "step_order"], name="enrollment_engagement_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.events} × {self.kind} of enrollment {self.enrollment_id} step {self.step_order}"


class SequenceTimelineCount(models.Model):
    """Enrolled, sent and replied of one sequence per 15 minutes (UTC), kept by triggers (sequences_app.counters).

    Every time zone's offset is a whole number of quarter hours, so each
    quarter falls on one calendar day in any zone: the performance chart sums
    them into the portal's days whatever its zone, and when it changes.
    """

    sequence = models.ForeignKey(
        Sequence, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    bucket = models.DateTimeField()
    name = models.CharField(max_length=10)
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            # Consumer: the triggers' upserts and the 30-day chart reading a sequence's quarters since a day.
            models.UniqueConstraint(fields=["sequence", "bucket", "name"], name="sequence_timeline_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} of sequence {self.sequence_id} at {self.bucket:%Y-%m-%d %H:%M}: {self.value}"
