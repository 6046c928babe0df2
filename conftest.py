"""Fixtures shared by every test in the project."""
from __future__ import annotations

import pytest

from tests.factories import MailboxFactory, SeatFactory, UserFactory

pytest_plugins = ["tests.fixtures_mail", "tests.fixtures_api"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Every test user is hashed once at least; PBKDF2's deliberate slowness only slows the suite."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def rep(db):
    """A sales rep with a Professional seat, the bulk permission and a connected mailbox."""
    user = UserFactory(can_bulk_enroll=True)
    SeatFactory(user=user)
    MailboxFactory(owner=user)
    return user


@pytest.fixture
def admin_user(db):
    user = UserFactory(is_staff=True, is_superuser=True, can_bulk_enroll=True)
    SeatFactory(user=user, tier="enterprise")
    return user
