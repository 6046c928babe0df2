"""Plain words for the codes services answer with, as pages show them.

Services' messages are already sentences; this map gives each per-contact
code a short label for badges and, where the service's sentence speaks to
an API client, a rep-facing one. Pages never decide a rule from these.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from config.errors import ServiceError

# Short labels for the per-contact verdicts of an enrollment (API.md's codes).
REJECTION_LABELS = {
    "CONTACT_NOT_FOUND": "Contact not found",
    "MISSING_EMAIL": "No email address",
    "BOUNCED": "Bounced",
    "UNSUBSCRIBED": "Unsubscribed",
    "UNSUBSCRIBED_SALES": "Unsubscribed from sales email",
    "PREVIOUSLY_MARKED_AS_SPAM": "Marked email as spam",
    "BLOCKED_ADDRESS": "Address blocked",
    "BLOCKED_DOMAIN": "Domain blocked",
    "ALREADY_ENROLLED": "Already in a sequence",
    "DAILY_SEND_LIMIT_REACHED": "Daily send limit reached",
    "MISSING_TOKEN_VALUES": "Missing token values",
    "NO_ASSOCIATED_CONTACT": "Not associated with this record",
}

# Whole-request refusals, in the words a rep needs to act on them.
REQUEST_MESSAGES = {
    "BULK_LIMIT_EXCEEDED": "You can enroll at most 50 contacts at a time. Choose 50 or fewer and try again.",
    "BULK_PERMISSION_REQUIRED": (
        "Enrolling more than one contact at a time needs the “Bulk enroll sequences” permission. "
        "Ask an admin, or enroll contacts one by one."
    ),
    "NO_SEAT": "You need a Sales or Service Professional or Enterprise seat to enroll contacts. Ask an admin.",
    "NO_CONNECTED_INBOX": "Connect a mailbox (Mailboxes) before enrolling: sequence emails are sent from it.",
    "SEQUENCE_NOT_SHARED": "This sequence isn't shared with you.",
    "NO_CONTACTS": "No contacts are selected.",
}


def service_error_text(error: ServiceError) -> str:
    """One sentence for a refused action: the rep-facing wording when there is one, else the service's."""
    return REQUEST_MESSAGES.get(error.code, error.message)


def rejection_label(code: str) -> str:
    return REJECTION_LABELS.get(code, code.replace("_", " ").capitalize())


def rejection_text(code: str, message: str, extra: dict[str, Any], *, tz_name: str | None = None) -> str:
    """The service's sentence, plus what the extra fields add (when the limit frees up)."""
    if code == "DAILY_SEND_LIMIT_REACHED" and isinstance(extra.get("next_available_at"), datetime):
        moment = extra["next_available_at"]
        if tz_name:
            from zoneinfo import ZoneInfo

            moment = moment.astimezone(ZoneInfo(tz_name))
        return f"{message} The next free slot is {moment:%a %d %b %H:%M}."
    return message
