"""API test clients: `api` (the `rep`), `admin_api` (the `admin_user`), `anon_api` (nobody).

Import the fixtures into a conftest (`from tests.fixtures_api import api, admin_api, anon_api`)
or call `api_client(user)` for any other user.
"""
from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts_app.models import User


def api_client(user: User | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def api(rep: User) -> APIClient:
    return api_client(rep)


@pytest.fixture
def admin_api(admin_user: User) -> APIClient:
    return api_client(admin_user)


@pytest.fixture
def anon_api() -> APIClient:
    return APIClient()
