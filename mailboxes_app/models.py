"""Connected mailboxes, the messages sent from them and the mail read back."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from mailboxes_app.crypto import EncryptedTextField


class Security(models.TextChoices):
    NONE = "none", "None"
    STARTTLS = "starttls", "STARTTLS"
    SSL = "ssl", "SSL/TLS"


class Provider(models.TextChoices):
    GOOGLE = "google", "Google"
    MICROSOFT = "microsoft", "Microsoft 365"
    OTHER = "other", "Other (SMTP/IMAP)"


class Mailbox(models.Model):
    class Status(models.TextChoices):
        CONNECTED = "connected", "Connected"
        DISCONNECTED = "disconnected", "Disconnected"

    class Verification(models.TextChoices):
        NONE = "none", "Not verified"
        PENDING = "pending", "Waiting to verify"
        RUNNING = "running", "Verifying"
        DONE = "done", "Verified"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mailboxes")
    email = models.EmailField(max_length=254)
    display_name = models.CharField(max_length=200, blank=True, default="")
    is_primary = models.BooleanField(default=False)
    smtp_host = models.CharField(max_length=255)
    smtp_port = models.PositiveIntegerField(default=587)
    smtp_security = models.CharField(max_length=8, choices=Security.choices, default=Security.STARTTLS)
    smtp_username = models.CharField(max_length=255, blank=True, default="")
    smtp_password = EncryptedTextField(blank=True, default="")
    imap_host = models.CharField(max_length=255, blank=True, default="")
    imap_port = models.PositiveIntegerField(default=993)
    imap_security = models.CharField(max_length=8, choices=Security.choices, default=Security.SSL)
    imap_username = models.CharField(max_length=255, blank=True, default="")
    imap_password = EncryptedTextField(blank=True, default="")
    # A cap lower than the sender's seat limit (sequence emails per rolling 24 h).
    daily_limit = models.PositiveIntegerField(null=True, blank=True)
    # At most this many emails from this mailbox in any 60 seconds (a provider's per-minute limit); None = no cap.
    minute_limit = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DISCONNECTED)
    status_detail = models.CharField(max_length=500, blank=True, default="")
    verified_at = models.DateTimeField(null=True, blank=True)
    # Verification runs as a task (mailboxes_app.tasks.mailbox_verify): its progress and the last answers.
    verification = models.CharField(max_length=8, choices=Verification.choices, default=Verification.NONE)
    verification_smtp = models.CharField(max_length=500, blank=True, default="")
    verification_imap = models.CharField(max_length=500, blank=True, default="")
    signature_html = models.TextField(blank=True, default="")
    # Google and Microsoft mailboxes log in with OAuth 2.0 (XOAUTH2); "other" ones with their passwords.
    provider = models.CharField(max_length=16, choices=Provider.choices, default=Provider.OTHER)
    oauth_access_token = EncryptedTextField(blank=True, default="")
    oauth_refresh_token = EncryptedTextField(blank=True, default="")
    oauth_expires_at = models.DateTimeField(null=True, blank=True)
    # Inbox sync bookkeeping (per-folder positions live in MailboxFolderState).
    next_sync_at = models.DateTimeField(null=True, blank=True)
    sync_failures = models.PositiveIntegerField(default=0)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    # When sync last read the folder list (LIST): once a day, not on every one-round-trip sync.
    sync_folders_listed_at = models.DateTimeField(null=True, blank=True)
    # Why the last sync failed (cleared by the next success); the wait before a retry grows with sync_failures.
    sync_error = models.CharField(max_length=500, blank=True, default="")
    # The circuit breaker (mailboxes_app.breaker): set when bounces or complaints paused sending; only a
    # person clears it. Counting restarts at `breaker_reset_at`, so a resume isn't undone by the same bounces.
    sending_paused_at = models.DateTimeField(null=True, blank=True)
    sending_paused_reason = models.CharField(max_length=500, blank=True, default="")
    breaker_reset_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "mailboxes"
        ordering = ["owner_id", "-is_primary", "email"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "email"], name="mailbox_owner_email_unique"),
            models.UniqueConstraint(fields=["owner"], condition=Q(is_primary=True), name="mailbox_one_primary"),
            models.CheckConstraint(condition=Q(status__in=["connected", "disconnected"]), name="mailbox_status_valid"),
            models.CheckConstraint(
                condition=Q(provider__in=["google", "microsoft", "other"]), name="mailbox_provider_valid"
            ),
        ]
        indexes = [
            # Consumer: the inbox-sync tick, which picks connected mailboxes that are due.
            models.Index(fields=["next_sync_at"], condition=Q(status="connected"), name="mailbox_sync_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} <{self.email}>" if self.display_name else self.email

    @property
    def is_connected(self) -> bool:
        return self.status == self.Status.CONNECTED

    @property
    def is_verifying(self) -> bool:
        return self.verification in (self.Verification.PENDING, self.Verification.RUNNING)

    @property
    def auth(self) -> str:
        """How the mailbox logs in: "oauth" (Google, Microsoft) or "password"."""
        return "password" if self.provider == Provider.OTHER else "oauth"

    @property
    def uses_oauth(self) -> bool:
        return self.provider != Provider.OTHER

    @property
    def sending_paused(self) -> bool:
        return self.sending_paused_at is not None


class MailboxOAuthState(models.Model):
    """One started OAuth 2.0 authorization: its `state`, PKCE verifier and the browser session it belongs to.

    The callback takes it once (`used_at`), within OAUTH_STATE_TTL of
    `created_at`, in the same session (`session_hash`) and by the same user;
    anything else connects nothing. Only hashes of the state and the session
    key are stored; the verifier is encrypted.
    """

    state_hash = models.CharField(max_length=64, unique=True)
    session_hash = models.CharField(max_length=64)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    provider = models.CharField(max_length=16, choices=Provider.choices)
    code_verifier = EncryptedTextField()
    created_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.provider} authorization for user {self.user_id} at {self.created_at:%Y-%m-%d %H:%M}"


class MailboxFolderState(models.Model):
    """How far inbox sync has read one IMAP folder (committed after its messages are handled)."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="folder_states")
    folder = models.CharField(max_length=255)
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    last_uid = models.BigIntegerField(default=0)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["mailbox", "folder"], name="folder_state_unique")]

    def __str__(self) -> str:
        return f"{self.mailbox} {self.folder} @ {self.uidvalidity}/{self.last_uid}"


class OutboundMessage(models.Model):
    """The one email of one enrollment step, from creation to the SMTP server's answer.

    Created in the transaction that advances the enrollment to an email step;
    a sender claims it with a lease before talking SMTP. `unknown` means a
    worker died after handing it over and before recording the answer: it is
    never resent automatically.
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        RETRY = "retry", "Waiting to retry"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        UNKNOWN = "unknown", "Unknown"
        CANCELLED = "cancelled", "Cancelled"

    enrollment = models.ForeignKey("sequences_app.Enrollment", on_delete=models.CASCADE, related_name="messages")
    step_order = models.PositiveSmallIntegerField()
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="outbound_messages")
    mailbox = models.ForeignKey(Mailbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages")
    message_id = models.CharField(max_length=255, unique=True)
    from_email = models.EmailField(max_length=254)
    to_email = models.EmailField(max_length=254)
    subject = models.CharField(max_length=998, blank=True, default="")
    in_reply_to = models.CharField(max_length=255, blank=True, default="")
    references = models.TextField(blank=True, default="")
    # Started by a bulk enrollment: subject to the per-sender 3-per-minute throttle.
    is_bulk = models.BooleanField(default=False)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_token = models.UUIDField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=1000, blank=True, default="")
    smtp_response = models.CharField(max_length=1000, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "step_order"], name="one_message_per_enrollment_step"),
            models.CheckConstraint(
                condition=Q(state__in=["queued", "sending", "retry", "sent", "failed", "unknown", "cancelled"]),
                name="outbound_state_valid",
            ),
        ]
        indexes = [
            # Consumer: the send dispatcher, claiming messages that are due.
            models.Index(
                fields=["next_attempt_at"], condition=Q(state__in=["queued", "retry"]), name="outbound_due_idx"
            ),
            # Consumer: the lease reaper: expired `sending` leases become `unknown`; `sent` ones
            # still holding theirs (the worker died before following through) are followed through.
            models.Index(
                fields=["lease_expires_at"], condition=Q(lease_expires_at__isnull=False), name="outbound_lease_idx"
            ),
            # Consumer: the rolling-24-hour send limit and the bulk throttle, per sender
            # (a message being sent holds its slot: `sent_at` is set when it is claimed).
            models.Index(
                fields=["sender", "sent_at"],
                condition=Q(state__in=["sending", "sent", "unknown"]),
                name="outbound_sender_slot_idx",
            ),
            # Consumer: a mailbox's per-minute cap (`Mailbox.minute_limit`), at the claim and when enrolling.
            models.Index(
                fields=["mailbox", "sent_at"],
                condition=Q(state__in=["sending", "sent", "unknown"]),
                name="outbound_mailbox_slot_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject or '(no subject)'} → {self.to_email} [{self.state}]"


class InboundMessage(models.Model):
    """A message read by inbox sync and what it was understood to be."""

    class Kind(models.TextChoices):
        REPLY = "reply", "Reply"
        OUT_OF_OFFICE = "out_of_office", "Out of office"
        BOUNCE = "bounce", "Bounce"
        SPAM_REPORT = "spam_report", "Spam report"
        OTHER = "other", "Unrelated"

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="inbound_messages")
    folder = models.CharField(max_length=255)
    uidvalidity = models.BigIntegerField()
    uid = models.BigIntegerField()
    message_id = models.CharField(max_length=255, blank=True, default="")
    from_email = models.CharField(max_length=254, blank=True, default="")
    subject = models.CharField(max_length=998, blank=True, default="")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.OTHER)
    matched_message = models.ForeignKey(
        OutboundMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="responses"
    )
    enrollment = models.ForeignKey(
        "sequences_app.Enrollment", null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_messages"
    )
    contact = models.ForeignKey(
        "contacts_app.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_messages"
    )
    detail = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-processed_at"]
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "folder", "uidvalidity", "uid"], name="inbound_uid_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.subject} from {self.from_email}"
