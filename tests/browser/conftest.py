"""Chromium (Debian's, never a downloaded build) driving the live server, one browser per session.

Each test gets a fresh context logged in as its user and saves a screenshot
into test-artifacts/ (gitignored). Playwright's sync API runs in the test
thread; the live server answers from its own thread.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session")
def playwright() -> Iterator[object]:
    """One Playwright per session: its sync API allows only one at a time in a thread."""
    if shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def browser(playwright) -> Iterator[object]:
    chromium = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture
def login(browser, live_server):
    """`page = login(user)`: a new browser context with the user's session cookie."""
    contexts = []

    def open_page(user, *, width: int = 1280, height: int = 900):
        client = Client()
        client.force_login(user)
        context = browser.new_context(viewport={"width": width, "height": height}, base_url=live_server.url)
        context.add_cookies([{
            "name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
            "url": live_server.url,
        }])
        context.set_default_timeout(30_000)  # generous: CI shares 2 cores with workers and beat
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
