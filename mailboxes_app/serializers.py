"""REST shape of a mailbox (API.md, "Mailboxes"). Passwords are write-only and OAuth tokens not fields at all:
no response ever holds one."""
from __future__ import annotations

from django.core.validators import RegexValidator
from rest_framework import serializers

from accounts_app.models import User
from mailboxes_app.models import Mailbox

HOST = RegexValidator(r"^[A-Za-z0-9._:\-\[\]]+$", "Enter a host name or an IP address, without spaces or a scheme.")


def _password_field() -> serializers.CharField:
    return serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=500, trim_whitespace=False,
        style={"input_type": "password"}, help_text="Write-only; stored encrypted, never returned.",
    )


class MailboxSerializer(serializers.ModelSerializer):
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, help_text="Defaults to the caller; only admins name another user."
    )
    smtp_host = serializers.CharField(max_length=255, validators=[HOST])
    imap_host = serializers.CharField(max_length=255, validators=[HOST], required=False, allow_blank=True)
    smtp_port = serializers.IntegerField(min_value=1, max_value=65535, required=False)
    imap_port = serializers.IntegerField(min_value=1, max_value=65535, required=False)
    smtp_password = _password_field()
    imap_password = _password_field()
    auth = serializers.CharField(read_only=True, help_text='"oauth" (Google, Microsoft) or "password".')
    daily_limit = serializers.IntegerField(
        min_value=0, max_value=1_000_000, allow_null=True, required=False,
        help_text="A cap below the sender's seat limit, sequence emails per rolling 24 hours; null for none.",
    )
    minute_limit = serializers.IntegerField(
        min_value=1, max_value=10_000, allow_null=True, required=False,
        help_text="At most this many emails from this mailbox in any 60 seconds; null for no cap.",
    )

    sending_paused = serializers.BooleanField(
        read_only=True, help_text="The circuit breaker paused sending (bounces or complaints); see resume-sending.")

    class Meta:
        model = Mailbox
        fields = (
            "id", "owner", "email", "display_name", "is_primary", "provider", "auth",
            "smtp_host", "smtp_port", "smtp_security", "smtp_username", "smtp_password",
            "imap_host", "imap_port", "imap_security", "imap_username", "imap_password",
            "daily_limit", "minute_limit", "status", "status_detail", "verified_at", "verification", "signature_html",
            "created_at", "updated_at", "sending_paused", "sending_paused_at", "sending_paused_reason",
        )
        read_only_fields = (
            "id", "provider", "status", "status_detail", "verified_at", "verification", "created_at", "updated_at",
            "sending_paused", "sending_paused_at", "sending_paused_reason",
        )
        # Uniqueness per owner and the one-primary rule are the services'.
        validators: list = []


class MailboxVerifySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Mailbox.Status.choices)
    verification = serializers.ChoiceField(
        choices=Mailbox.Verification.choices,
        help_text="none: never verified; pending: queued; running: logging in now; done: smtp and imap answer.",
    )
    smtp = serializers.CharField(help_text='"ok" or why the login failed; empty until a verification is done.')
    imap = serializers.CharField(
        help_text='"ok" or why the login failed (or that no IMAP server is configured); empty until one is done.'
    )

    @staticmethod
    def of(mailbox: Mailbox) -> dict[str, str]:
        done = mailbox.verification == Mailbox.Verification.DONE
        return {
            "status": mailbox.status, "verification": mailbox.verification,
            "smtp": mailbox.verification_smtp if done else "", "imap": mailbox.verification_imap if done else "",
        }
