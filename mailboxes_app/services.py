"""Writes about connected mailboxes: create, edit, delete, choose the primary, verify.

Rules held here: one primary mailbox per owner (the first one is primary,
deleting the primary promotes another); changed connection settings need a
new verification; a new host, port or username forgets that side's stored
password unless a new one comes with it (else the next verify would hand the
real password to whichever server was named); a mailbox is `connected` only
when its servers accept the login. Verification runs as a task
(`mailbox_verify_request` queues it, `mailbox_verify` does it). Network I/O
happens outside any transaction or row lock.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts_app.models import User
from config.errors import NotAllowed, ValidationFailed
from mailboxes_app.models import Mailbox
from mailboxes_app.transport import OK, imap_login_check, smtp_login_check
from sequences_app.html import sanitize_email_html

CONNECTION_FIELDS = frozenset({
    "email", "smtp_host", "smtp_port", "smtp_security", "smtp_username", "smtp_password",
    "imap_host", "imap_port", "imap_security", "imap_username", "imap_password",
})
EDITABLE_FIELDS = CONNECTION_FIELDS | {"display_name", "daily_limit", "minute_limit", "signature_html"}
# What identifies the server a password is sent to, per side, and that side's password.
PASSWORD_TARGETS = {
    "smtp_password": ("smtp_host", "smtp_port", "smtp_username"),
    "imap_password": ("imap_host", "imap_port", "imap_username"),
}
# Seconds per connection (connect, TLS, each command) when verifying: a rep waits on the answer.
VERIFY_TIMEOUT = 10
VERIFY_TOO_SLOW = "The mail servers took too long to answer; check the host and port, then verify again."
NOT_VERIFIED = "Not verified yet: verify the mailbox to connect it."
IMAP_NOT_CONFIGURED = "No IMAP server configured: replies and bounces won't be read."


@dataclass(frozen=True)
class VerifyResult:
    status: str
    smtp: str
    imap: str

    def as_dict(self) -> dict[str, str]:
        return {"status": self.status, "smtp": self.smtp, "imap": self.imap}


@transaction.atomic
def mailbox_create(
    *, owner: User, email: str, smtp_host: str, is_primary: bool = False, acting_user: User | None = None,
    **fields: Any,
) -> Mailbox:
    """Add a disconnected mailbox (verify connects it); the owner's first mailbox becomes primary.

    Users connect their own mailboxes; only an admin may connect one for someone else.
    """
    if acting_user is not None and acting_user.pk != owner.pk and not acting_user.is_staff:
        raise NotAllowed("PERMISSION_DENIED", "Only an admin may connect a mailbox for another user.")
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"mailbox has no writable fields {sorted(unknown)}")
    mailbox = Mailbox(owner=owner, smtp_host=smtp_host.strip(), status=Mailbox.Status.DISCONNECTED)
    _apply(mailbox, {"email": email, **fields})
    _refuse_duplicate(mailbox)
    mailbox.status_detail = NOT_VERIFIED
    has_primary = Mailbox.objects.select_for_update().filter(owner=owner, is_primary=True).exists()
    if is_primary and has_primary:
        Mailbox.objects.filter(owner=owner, is_primary=True).update(is_primary=False)
    mailbox.is_primary = is_primary or not has_primary
    mailbox.save()
    return mailbox


@transaction.atomic
def mailbox_update(*, mailbox: Mailbox, data: dict[str, Any]) -> Mailbox:
    """Change the given fields. New connection settings disconnect the mailbox until verified again,
    so nothing is sent with credentials nobody has checked."""
    data = dict(data)
    if "owner" in data and data.pop("owner").pk != mailbox.owner_id:
        raise ValidationFailed("A mailbox can't change owner.", fields={"owner": ["Connect it for the other user."]})
    make_primary = data.pop("is_primary", None)
    unknown = set(data) - EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"mailbox has no writable fields {sorted(unknown)}")
    before = {name: getattr(mailbox, name) for name in CONNECTION_FIELDS}
    if mailbox.uses_oauth:
        _refuse_server_changes(mailbox, data)
    _apply(mailbox, data)
    _refuse_duplicate(mailbox)
    for password, target in PASSWORD_TARGETS.items():
        if password not in data and any(getattr(mailbox, name) != before[name] for name in target):
            setattr(mailbox, password, "")
    if any(getattr(mailbox, name) != value for name, value in before.items()):
        mailbox.status = Mailbox.Status.DISCONNECTED
        mailbox.status_detail = NOT_VERIFIED
        mailbox.verification = Mailbox.Verification.NONE
    mailbox.save()
    if make_primary:
        mailbox_set_primary(mailbox=mailbox)
    elif make_primary is False and mailbox.is_primary:
        raise ValidationFailed(
            "A primary mailbox stays primary until another one is made primary.",
            fields={"is_primary": ["Make another mailbox primary instead."]},
        )
    return mailbox


@transaction.atomic
def mailbox_set_primary(*, mailbox: Mailbox) -> Mailbox:
    """Make this the owner's primary mailbox (the default From of their enrollments)."""
    # Demote first: the partial unique index allows one primary per owner at any moment.
    Mailbox.objects.filter(owner_id=mailbox.owner_id, is_primary=True).exclude(pk=mailbox.pk).update(
        is_primary=False
    )
    Mailbox.objects.filter(pk=mailbox.pk).update(is_primary=True)
    mailbox.is_primary = True
    return mailbox


@transaction.atomic
def mailbox_delete(*, mailbox: Mailbox) -> None:
    """Delete a mailbox; when it was primary, another one (a connected one first, then the oldest) takes over."""
    owner_id, was_primary = mailbox.owner_id, mailbox.is_primary
    mailbox.delete()
    if was_primary:
        successor = (
            Mailbox.objects.filter(owner_id=owner_id)
            .order_by("status", "created_at", "id")  # "connected" sorts before "disconnected"
            .first()
        )
        if successor is not None:
            mailbox_set_primary(mailbox=successor)


def mailbox_verify_request(*, mailbox: Mailbox) -> Mailbox:
    """Queue a verification (the `nudge.mailbox_verify` task); the mailbox shows `pending` until it runs.

    The row is marked with a plain UPDATE, so `updated_at` (which guards the
    result against an edit made meanwhile) stays as it was. A request while
    one is pending queues another: the later task finds nothing changed and
    writes the same answer.
    """
    from mailboxes_app.tasks import mailbox_verify as mailbox_verify_task

    Mailbox.objects.filter(pk=mailbox.pk).update(verification=Mailbox.Verification.PENDING)
    mailbox.verification = Mailbox.Verification.PENDING
    # robust: a broker that is down leaves the mailbox pending; asking again queues it again.
    transaction.on_commit(lambda: mailbox_verify_task.delay(mailbox.pk), robust=True)
    return mailbox


def mailbox_verify(*, mailbox: Mailbox, timeout: float | None = None) -> VerifyResult:
    """Log in to SMTP (and IMAP when configured); `connected` only when every configured login works.

    1. The mailbox is marked `running` (a plain UPDATE: `updated_at` stays).
    2. The logins run with no transaction open (they may take seconds).
    3. The result is written with one UPDATE, only if the connection
       settings are still the ones just checked (`updated_at` unchanged);
       if someone edited them meanwhile, the edit wins and stays unverified.
    """
    Mailbox.objects.filter(pk=mailbox.pk).update(verification=Mailbox.Verification.RUNNING)
    smtp = smtp_login_check(mailbox, timeout=timeout)
    imap = imap_login_check(mailbox, timeout=timeout) if mailbox.imap_host else IMAP_NOT_CONFIGURED
    failures = [f"SMTP: {smtp}"] if smtp != OK else []
    if mailbox.imap_host and imap != OK:
        failures.append(f"IMAP: {imap}")
    status = Mailbox.Status.DISCONNECTED if failures else Mailbox.Status.CONNECTED
    detail = " ".join(failures)[:500]
    now = timezone.now()
    answers = {"verification_smtp": smtp[:500], "verification_imap": imap[:500]}
    written = Mailbox.objects.filter(pk=mailbox.pk, updated_at=mailbox.updated_at).update(
        status=status, status_detail=detail, verified_at=now, updated_at=now,
        verification=Mailbox.Verification.DONE, **answers,
    )
    if not written:
        # Edited meanwhile: the edit reset the progress; a verification still shown as running ends here.
        Mailbox.objects.filter(Q(pk=mailbox.pk) & ~Q(verification=Mailbox.Verification.NONE)).update(
            verification=Mailbox.Verification.NONE
        )
    mailbox.refresh_from_db()
    if mailbox.is_connected:
        from sequences_app.services.enrollment_state import enrollments_resume_for_mailbox

        # Enrollments that waited on this inbox (INBOX_DISCONNECTED) continue.
        enrollments_resume_for_mailbox(mailbox=mailbox, now=now)
    return VerifyResult(status=mailbox.status, smtp=smtp, imap=imap)


def _apply(mailbox: Mailbox, data: dict[str, Any]) -> None:
    for name, value in data.items():
        if name == "email":
            value = (value or "").strip().lower()
        elif name == "signature_html":
            value = sanitize_email_html(value or "")
        elif name in ("smtp_host", "imap_host", "smtp_username", "imap_username", "display_name"):
            value = (value or "").strip()
        elif name == "minute_limit" and value is not None and (not isinstance(value, int) or value < 1):
            # 0 a minute would hold every email forever; "no cap" is None.
            raise ValidationFailed(
                "The per-minute cap is a whole number from 1.",
                fields={"minute_limit": ["Enter a whole number from 1, or leave it empty for no cap."]},
            )
        setattr(mailbox, name, value)


def _refuse_server_changes(mailbox: Mailbox, data: dict[str, Any]) -> None:
    """A Google or Microsoft mailbox's address and servers are the provider's (reconnect it to change them)."""
    probe = copy.copy(mailbox)
    _apply(probe, data)
    changed = sorted(name for name in CONNECTION_FIELDS & set(data) if getattr(probe, name) != getattr(mailbox, name))
    if changed:
        raise ValidationFailed(
            "This mailbox connects through its provider: its address and servers can't be edited.",
            fields={name: ["Set by the provider; reconnect the mailbox instead."] for name in changed},
        )


def _refuse_duplicate(mailbox: Mailbox) -> None:
    clash = Mailbox.objects.filter(owner_id=mailbox.owner_id, email=mailbox.email).exclude(pk=mailbox.pk)
    if clash.exists():
        raise ValidationFailed(
            "You have connected this address already.", fields={"email": ["You have a mailbox with this address."]}
        )
