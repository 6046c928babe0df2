"""Fixtures shared by every test in the project."""
from __future__ import annotations

import pytest

from tests.factories import MailboxFactory, SeatFactory, UserFactory

pytest_plugins = ["tests.fixtures_mail", "tests.fixtures_api", "tests.fixtures_oauth"]


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


@pytest.fixture
def run_tasks(django_capture_on_commit_callbacks):
    """Run what a request queues: on-commit callbacks fire when the block ends and Celery tasks run eagerly.

    `with run_tasks(): client.post(...)` — the task runs in this process, as a worker would run it.
    """
    from config.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield lambda: django_capture_on_commit_callbacks(execute=True)
    app.conf.task_always_eager = eager
