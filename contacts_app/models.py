"""CRM records: contacts and what they are associated with, lists, the blocklist."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower, Upper


class Company(models.Model):
    name = models.CharField(max_length=255)
    domain = models.CharField(max_length=255, blank=True, default="", db_index=True)
    properties = models.JSONField(default=dict, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="companies"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "companies"

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    class LifecycleStage(models.TextChoices):
        SUBSCRIBER = "subscriber", "Subscriber"
        LEAD = "lead", "Lead"
        MQL = "marketingqualifiedlead", "Marketing qualified lead"
        SQL = "salesqualifiedlead", "Sales qualified lead"
        OPPORTUNITY = "opportunity", "Opportunity"
        CUSTOMER = "customer", "Customer"
        EVANGELIST = "evangelist", "Evangelist"
        OTHER = "other", "Other"

    # Stored lower-cased by the services; blank means "no email address".
    email = models.EmailField(max_length=254, blank=True, default="")
    first_name = models.CharField(max_length=150, blank=True, default="")
    last_name = models.CharField(max_length=150, blank=True, default="")
    job_title = models.CharField(max_length=200, blank=True, default="")
    phone = models.CharField(max_length=50, blank=True, default="")
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_contacts"
    )
    lifecycle_stage = models.CharField(max_length=32, choices=LifecycleStage.choices, blank=True, default="")
    time_zone = models.CharField(max_length=64, blank=True, default="")
    properties = models.JSONField(default=dict, blank=True)
    # Email standing: any of these keeps the contact out of sequences.
    email_bounced = models.BooleanField(default=False)
    bounce_reason = models.CharField(max_length=500, blank=True, default="")
    # Why, from a fixed list (mailboxes_app.sync.bounces.Reason): user_unknown, host_unknown, expired, ...
    bounce_code = models.CharField(max_length=32, blank=True, default="")
    unsubscribed = models.BooleanField(default=False)
    unsubscribed_sales = models.BooleanField(default=False)
    marked_spam = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(Lower("email"), condition=~Q(email=""), name="contact_email_unique"),
        ]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="contact_owner_idx"),
            models.Index(fields=["last_name", "first_name"], name="contact_name_idx"),
            # Consumer: every list of contacts newest first (the contacts index, list pages,
            # `GET /contacts/` and `/lists/{id}/members/`): a page is the index's first rows, not a sort.
            models.Index(fields=["-created_at", "-id"], name="contact_created_idx"),
            # Consumer: active-list filters on lifecycle_stage (eq/in/neq compare case-insensitively,
            # as UPPER(lifecycle_stage) = UPPER(value)). It replaces a plain (lifecycle_stage) index,
            # which the planner took for a capped count's LIMIT and then read past every other stage.
            models.Index(Upper("lifecycle_stage"), name="contact_stage_upper_idx"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email or f"Contact {self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def email_domain(self) -> str:
        return self.email.rpartition("@")[2].lower() if "@" in self.email else ""


class Repermission(models.Model):
    """An admin's "re-permission: the contact asked again": the email-standing flags it cleared, who, when, why.

    The only way a flag the contact raised (unsubscribing, a bounce, a
    complaint) is cleared; the row stays as the audit trail, also when the
    contact or the admin is deleted (their email and name are kept).
    """

    contact = models.ForeignKey(Contact, null=True, on_delete=models.SET_NULL, related_name="repermissions")
    contact_email = models.CharField(max_length=254, blank=True, default="")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    by_name = models.CharField(max_length=300)
    at = models.DateTimeField()
    # The flags it cleared, e.g. ["unsubscribed", "unsubscribed_sales"], and the bounce reason it removed.
    cleared = models.JSONField()
    bounce_reason = models.CharField(max_length=500, blank=True, default="")
    reason = models.CharField(max_length=500)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            # Consumer: the contact page's list of re-permissions, newest first.
            models.Index(fields=["contact", "-at"], name="repermission_contact_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_email}: {', '.join(self.cleared)} cleared by {self.by_name}"


class Deal(models.Model):
    name = models.CharField(max_length=255)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    stage = models.CharField(max_length=64, blank=True, default="")
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="deals")
    contacts = models.ManyToManyField(Contact, related_name="deals", blank=True)
    properties = models.JSONField(default=dict, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="deals"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    subject = models.CharField(max_length=255)
    status = models.CharField(max_length=64, blank=True, default="new")
    contacts = models.ManyToManyField(Contact, related_name="tickets", blank=True)
    properties = models.JSONField(default=dict, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.subject


class ObjectSchema(models.Model):
    """An admin-defined custom object type: `properties` is `[{"name", "type"}]`."""

    class PropertyType(models.TextChoices):
        STRING = "string", "Text"
        NUMBER = "number", "Number"
        BOOLEAN = "boolean", "Yes/no"
        DATE = "date", "Date"
        DATETIME = "datetime", "Date and time"
        ENUMERATION = "enumeration", "Choice"

    name = models.SlugField(max_length=64, unique=True)
    label = models.CharField(max_length=120)
    properties = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["label"]

    def __str__(self) -> str:
        return self.label

    @property
    def property_types(self) -> dict[str, str]:
        return {prop["name"]: prop["type"] for prop in self.properties}


class CustomObject(models.Model):
    schema = models.ForeignKey(ObjectSchema, on_delete=models.CASCADE, related_name="records")
    properties = models.JSONField(default=dict, blank=True)
    contacts = models.ManyToManyField(Contact, related_name="custom_objects", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        label = self.properties.get("name") if isinstance(self.properties, dict) else None
        return f"{self.schema.label} {label or self.pk}"


class ContactList(models.Model):
    class Kind(models.TextChoices):
        STATIC = "static", "Static"
        ACTIVE = "active", "Active"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    # Active lists: a saved filter `[{"field", "operator", "value"}]`, evaluated on read.
    filters = models.JSONField(default=list, blank=True)
    members = models.ManyToManyField(Contact, through="ListMembership", related_name="static_lists", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="contact_lists"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.CheckConstraint(condition=Q(kind__in=["static", "active"]), name="list_kind_valid")]

    def __str__(self) -> str:
        return self.name


class ListMembership(models.Model):
    """A contact's place on a static list."""

    contact_list = models.ForeignKey(ContactList, on_delete=models.CASCADE, related_name="memberships")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="list_memberships")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact_list", "contact"], name="list_membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.contact} in {self.contact_list}"


class BlockedEntry(models.Model):
    """A blocked address (`ann@example.com`) or a whole domain (`example.com`)."""

    value = models.CharField(max_length=254, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["value"]
        verbose_name = "blocklist entry"
        verbose_name_plural = "blocklist"

    def __str__(self) -> str:
        return self.value

    @property
    def is_domain(self) -> bool:
        return "@" not in self.value


class ContactImport(models.Model):
    """A CSV import started in the pages: the file, its column mapping, progress and result.

    Small files are imported in the request; larger ones by a Celery task
    that saves progress with each batch (in the batch's own transaction, so
    the counts always describe what is stored). The file's text is dropped
    once the import has run; the result stays.
    """

    class Status(models.TextChoices):
        MAPPING = "mapping", "Mapping columns"
        QUEUED = "queued", "Waiting to start"
        RUNNING = "running", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    file_name = models.CharField(max_length=255, blank=True, default="")
    text = models.TextField(blank=True, default="")
    header = models.JSONField(default=list)
    # One target per column: a contact field ("email"), "property" or "skip".
    mapping = models.JSONField(default=list)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.MAPPING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list)
    warnings = models.JSONField(default=list)
    failure = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Import {self.pk} ({self.file_name})"

    @property
    def percent(self) -> int:
        return 100 if not self.total_rows else min(100, self.processed_rows * 100 // self.total_rows)
