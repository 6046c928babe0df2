from __future__ import annotations

import pytest
from django.db import connection
from django.test import override_settings

from mailboxes_app.crypto import decrypt, encrypt
from mailboxes_app.models import Mailbox
from tests.factories import MailboxFactory

pytestmark = pytest.mark.django_db


def _raw_columns(mailbox_id: int) -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT smtp_password, imap_password FROM mailboxes_app_mailbox WHERE id = %s", [mailbox_id])
        return cursor.fetchone()


def test_a_mailbox_password_round_trips_and_is_not_stored_in_plain_text():
    mailbox = MailboxFactory(smtp_password="hunter2-smtp", imap_password="hunter2-imap")

    reloaded = Mailbox.objects.get(pk=mailbox.pk)
    assert reloaded.smtp_password == "hunter2-smtp"
    assert reloaded.imap_password == "hunter2-imap"
    smtp_raw, imap_raw = _raw_columns(mailbox.pk)
    assert "hunter2" not in smtp_raw
    assert "hunter2" not in imap_raw
    assert decrypt(smtp_raw) == "hunter2-smtp"


def test_the_same_password_encrypts_differently_each_time():
    assert encrypt("same") != encrypt("same")


def test_an_empty_password_stays_empty():
    mailbox = MailboxFactory(smtp_password="", imap_password="")
    assert _raw_columns(mailbox.pk) == ("", "")


def test_a_rotated_key_still_reads_old_secrets():
    old_key = "u0p6rKTvQ1aQ3N4VgT3o1v7m3ZbqjH6c6Z8b0zVQ1Ts="
    new_key = "3q1cHz8w9uN6PZQ3Xq3kB5gm0b8b9uNLzNQ2bVkz4yY="
    with override_settings(FIELD_ENCRYPTION_KEYS=[old_key]):
        mailbox = MailboxFactory(smtp_password="before-rotation")
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key, old_key]):
        assert Mailbox.objects.get(pk=mailbox.pk).smtp_password == "before-rotation"
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key]), pytest.raises(ValueError, match="could not be decrypted"):
        Mailbox.objects.get(pk=mailbox.pk)
