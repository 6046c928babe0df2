"""Encryption at rest for mailbox passwords (Fernet, keys from settings).

`FIELD_ENCRYPTION_KEYS` is a list: the first key encrypts, every key can
decrypt, so a key is rotated by putting a new one first and re-saving.
"""
from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def encrypt(plain: str) -> str:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        # Never include the token or any key in the message.
        raise ValueError("A stored secret could not be decrypted with the configured keys.") from exc


class EncryptedTextField(models.TextField):
    """A text column whose value is stored Fernet-encrypted; Python sees plain text.

    Empty strings stay empty (no secret to hide). Encrypted values are not
    searchable or comparable in SQL, which is the point.
    """

    def from_db_value(self, value: str | None, expression: object, connection: object) -> str | None:
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value: object) -> str | None:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))
