from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from mailboxes_app.models import InboundMessage, Mailbox, MailboxFolderState, OutboundMessage
from mailboxes_app.services import EDITABLE_FIELDS, mailbox_update


class MailboxAdminForm(forms.ModelForm):
    # Passwords are write-only: never rendered back; left blank keeps the stored one (unless the
    # host, port or username changes: then mailbox_update forgets it, as on the pages and the API).
    smtp_password = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False))
    imap_password = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False))

    def clean(self) -> dict[str, object]:
        cleaned = super().clean()
        for name in ("smtp_password", "imap_password"):
            if not cleaned.get(name) and self.instance.pk:
                cleaned[name] = getattr(self.instance, name)
        return cleaned


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    form = MailboxAdminForm
    # OAuth tokens are never shown, not even to admins (reconnecting is the way to new ones).
    exclude = ("oauth_access_token", "oauth_refresh_token")
    list_display = (
        "email", "owner", "provider", "is_primary", "status", "daily_limit", "minute_limit", "verified_at",
    )
    list_filter = ("provider", "status", "smtp_security", "imap_security")
    search_fields = ("email", "owner__username", "owner__email")
    raw_id_fields = ("owner",)
    readonly_fields = ("provider", "oauth_expires_at", "verified_at", "last_synced_at", "created_at", "updated_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Mailbox | None = None) -> tuple[str, ...]:
        # A mailbox can't change owner (mailbox_update refuses): connect one for the other user instead.
        return (*self.readonly_fields, "owner") if obj is not None else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Mailbox, form: forms.ModelForm, change: bool) -> None:
        """A change goes through mailbox_update, which holds the mailbox rules (a new server forgets the password).

        The form has already copied its values onto `obj`; the service gets a
        fresh copy from the database and the changed fields, a blank password
        field counting as "no new password".
        """
        if not change:
            super().save_model(request, obj, form, change)
            return
        stored = Mailbox.objects.get(pk=obj.pk)
        data = {
            name: form.cleaned_data[name] for name in form.changed_data
            if name in EDITABLE_FIELDS or name == "is_primary"
        }
        for name in ("smtp_password", "imap_password"):
            if not form.data.get(name):
                data.pop(name, None)
        mailbox_update(mailbox=stored, data=data)
        other = [name for name in form.changed_data if name not in data and name not in EDITABLE_FIELDS]
        for name in other:
            setattr(stored, name, form.cleaned_data[name])
        if other:
            stored.save(update_fields=other)


@admin.register(MailboxFolderState)
class MailboxFolderStateAdmin(admin.ModelAdmin):
    list_display = ("mailbox", "folder", "uidvalidity", "last_uid", "synced_at")
    raw_id_fields = ("mailbox",)


@admin.register(OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    list_display = ("subject", "to_email", "sender", "step_order", "state", "attempts", "sent_at")
    list_filter = ("state", "is_bulk")
    search_fields = ("message_id", "to_email", "subject")
    raw_id_fields = ("enrollment", "sender", "mailbox")
    readonly_fields = [field.name for field in OutboundMessage._meta.fields]
    list_select_related = ("sender",)

    def has_add_permission(self, request: object) -> bool:
        # Messages are created by the scheduler only: a hand-made row could send twice.
        return False


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = ("subject", "from_email", "kind", "mailbox", "received_at")
    list_filter = ("kind",)
    search_fields = ("message_id", "from_email", "subject")
    raw_id_fields = ("mailbox", "matched_message", "enrollment", "contact")
    readonly_fields = [field.name for field in InboundMessage._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False
