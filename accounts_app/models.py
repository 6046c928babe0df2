"""Users, their seats and teams, and the portal's own settings."""
from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q


class User(AbstractUser):
    # The "Bulk enroll sequences" permission: enroll more than one contact per action.
    can_bulk_enroll = models.BooleanField(
        default=False,
        help_text="May enroll more than one contact in one action (bulk enroll sequences).",
    )
    # The user's own choices; "" follows the portal's time zone, and the browser's language then the
    # portal's (accounts_app/preferences.py applies them to each request).
    time_zone = models.CharField(max_length=64, blank=True, default="", help_text="IANA name; '' = the portal's.")
    language = models.CharField(
        max_length=8, blank=True, default="", help_text="A code from settings.LANGUAGES; '' = the browser's."
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    def __str__(self) -> str:
        full_name = self.get_full_name()
        return f"{full_name} <{self.email}>" if full_name else self.username


class Seat(models.Model):
    class Hub(models.TextChoices):
        SALES = "sales", "Sales Hub"
        SERVICE = "service", "Service Hub"

    class Tier(models.TextChoices):
        STARTER = "starter", "Starter"
        PROFESSIONAL = "professional", "Professional"
        ENTERPRISE = "enterprise", "Enterprise"

    # One seat per user is the OneToOne's unique constraint.
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="seat")
    hub = models.CharField(max_length=16, choices=Hub.choices)
    tier = models.CharField(max_length=16, choices=Tier.choices)
    assigned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(hub__in=["sales", "service"]), name="seat_hub_valid"),
            models.CheckConstraint(
                condition=Q(tier__in=["starter", "professional", "enterprise"]), name="seat_tier_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_hub_display()} {self.get_tier_display()} — {self.user}"

    @property
    def can_enroll(self) -> bool:
        return self.tier in (self.Tier.PROFESSIONAL, self.Tier.ENTERPRISE)

    @property
    def is_enterprise(self) -> bool:
        return self.tier == self.Tier.ENTERPRISE


class Team(models.Model):
    name = models.CharField(max_length=120, unique=True)
    members = models.ManyToManyField(User, related_name="teams", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PortalSettings(models.Model):
    """The one row of portal-wide settings (primary key 1, enforced by a check)."""

    time_zone = models.CharField(max_length=64, default="UTC")
    # The pages' language for a visitor whose browser asks for none Nudge has (settings.LANGUAGES).
    language = models.CharField(max_length=8, default="en")
    # ISO 3166 alpha-2 country whose public holidays are skipped on business days.
    holiday_country = models.CharField(max_length=2, blank=True, default="")
    professional_send_limit = models.PositiveIntegerField(default=500)
    enterprise_send_limit = models.PositiveIntegerField(default=1000)
    # Out-of-office replies without a return date pause the enrollment this long.
    out_of_office_default_days = models.PositiveSmallIntegerField(default=7)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "portal settings"
        verbose_name_plural = "portal settings"
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="portal_settings_singleton")]

    def __str__(self) -> str:
        return "Portal settings"

    @classmethod
    def load(cls) -> PortalSettings:
        settings, _ = cls.objects.get_or_create(pk=1)
        return settings

    def send_limit_for_tier(self, tier: str) -> int:
        if tier == Seat.Tier.ENTERPRISE:
            return self.enterprise_send_limit
        if tier == Seat.Tier.PROFESSIONAL:
            return self.professional_send_limit
        return 0


class Notification(models.Model):
    """An in-app notice (task reminders, a disconnected inbox, an unknown send)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40)
    message = models.CharField(max_length=500)
    url = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # Consumer: the unread-notices badge in the page header.
            models.Index(fields=["user", "created_at"], condition=Q(read_at__isnull=True), name="notice_unread_idx"),
        ]

    def __str__(self) -> str:
        return self.message


class PrivateApp(models.Model):
    """A private app token: a scoped, revocable credential that acts as its user.

    Sent as `Authorization: Bearer <token>`. The token is shown once, when it is
    made; only its SHA-256 is kept (the token is 256 random bits, so a fast hash
    is enough — there is no password to stretch). Revoking deletes the row.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="private_apps")
    name = models.CharField(max_length=120)
    # Scope names from accounts_app.private_apps.SCOPES.
    scopes = models.JSONField(default=list)
    token_hash = models.CharField(max_length=64, unique=True)
    # The token's first characters, so its owner can tell tokens apart without the secret.
    token_prefix = models.CharField(max_length=24)
    created_at = models.DateTimeField(auto_now_add=True)
    # Touched at most once a minute per token (PRIVATE_APP_TOUCH_SECONDS), not on every request.
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.token_prefix}…) of {self.user}"


class PrivateAppWindow(models.Model):
    """Requests one private app made in one fixed rate-limit window (the burst limit's counter).

    Counted with one INSERT … ON CONFLICT DO UPDATE … RETURNING, so every web
    process sees the same count; a token's older windows are deleted when its
    next window opens.
    """

    app = models.ForeignKey(PrivateApp, on_delete=models.CASCADE, related_name="+", db_index=False)
    # Which window: milliseconds since the epoch // the window length.
    slot = models.BigIntegerField()
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["app", "slot"], name="private_app_window_unique")]

    def __str__(self) -> str:
        return f"{self.hits} requests of private app {self.app_id} in window {self.slot}"
