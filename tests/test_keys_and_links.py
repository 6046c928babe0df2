"""Nudge refuses to start outside DEBUG without keys of its own, and links inside emails expire and have a key
of their own (LINK_SIGNING_KEYS), so SECRET_KEY signs nothing a contact holds."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import time_machine
from django.conf import settings
from django.core import signing

from config import keys
from sequences_app.rendering import CLICK_SALT, OPEN_SALT, UNSUBSCRIBE_SALT, sign_link
from tests.factories import OutboundMessageFactory

KEYS = {
    "SECRET_KEY": "a-deployments-own-secret-key-for-this-test-only-123",
    "FIELD_ENCRYPTION_KEYS": "dGVzdHMtb25seS1maWVsZC1rZXktMzItYnl0ZXMtISE=",
    "LINK_SIGNING_KEYS": "a-deployments-own-link-key",
}
CHECK = "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY[:12])"


def _start(**env_overrides: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in (*KEYS, "DJANGO_DEBUG")}
    env |= {"DJANGO_SETTINGS_MODULE": "config.settings", **env_overrides}
    return subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, check=False)


def test_without_debug_and_without_a_secret_key_nudge_refuses_to_start():
    started = _start(**{k: v for k, v in KEYS.items() if k != "SECRET_KEY"})
    assert started.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY must be set when DJANGO_DEBUG is off" in started.stderr


def test_the_published_development_key_is_refused_outside_debug():
    started = _start(**{**KEYS, "SECRET_KEY": keys.DEVELOPMENT_SECRET_KEY})
    assert started.returncode != 0
    assert "SECRET_KEY (not the development default) must be set" in started.stderr


@pytest.mark.parametrize("name", ["FIELD_ENCRYPTION_KEYS", "LINK_SIGNING_KEYS"])
def test_no_key_is_derived_from_the_secret_key_outside_debug(name):
    started = _start(**{k: v for k, v in KEYS.items() if k != name})
    assert started.returncode != 0
    assert f"{name} must be set when DJANGO_DEBUG is off" in started.stderr


def test_with_its_own_keys_nudge_starts():
    started = _start(**KEYS)
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == KEYS["SECRET_KEY"][:12]


def test_debug_runs_on_the_development_keys():
    started = _start(DJANGO_DEBUG="1")
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == keys.DEVELOPMENT_SECRET_KEY[:12]


def _manage(*args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in (*KEYS, "DJANGO_DEBUG")}
    env |= {"DJANGO_SETTINGS_MODULE": "config.settings"}
    return subprocess.run(
        [sys.executable, "manage.py", *args], env=env, capture_output=True, text=True, check=False,
        cwd=settings.BASE_DIR,
    )


def test_checking_for_missing_migrations_needs_no_deployment_keys():
    checked = _manage("makemigrations", "--check", "--dry-run")
    assert checked.returncode == 0, checked.stderr
    assert "No changes detected" in checked.stdout


def test_a_command_that_touches_data_still_refuses_without_keys():
    started = _manage("migrate", "--plan")
    assert started.returncode != 0
    assert "must be set when DJANGO_DEBUG is off" in started.stderr


def test_the_legacy_command_prints_the_key_older_versions_derived_from_the_secret_key():
    env = {**os.environ, "SECRET_KEY": "the-old-secret"}
    out = subprocess.run([sys.executable, "-m", "config.keys", "legacy"], env=env, capture_output=True, text=True,
                         check=True).stdout
    assert f"FIELD_ENCRYPTION_KEYS={keys.legacy_field_key('the-old-secret')}\n" in out
    assert out.splitlines()[1].endswith(",the-old-secret")  # the old key keeps verifying links already sent


# --- Links inside emails ----------------------------------------------------------------------------------------


@pytest.fixture
def message(db):
    return OutboundMessageFactory()


def test_a_link_signed_with_the_secret_key_is_not_accepted(client, message):
    token = signing.dumps(message.pk, salt=UNSUBSCRIBE_SALT, compress=True)
    assert client.get(f"/u/{token}/").status_code == 404


def test_a_link_is_signed_with_the_first_link_key(client, message, settings):
    token = sign_link(message.pk, salt=UNSUBSCRIBE_SALT)
    assert client.get(f"/u/{token}/").status_code == 200
    settings.LINK_SIGNING_KEYS = ["another-key"]
    assert client.get(f"/u/{token}/").status_code == 404


def test_a_rotated_out_key_still_verifies_the_links_it_signed(client, message, settings):
    settings.LINK_SIGNING_KEYS = ["old-link-key"]
    token = sign_link(message.pk, salt=UNSUBSCRIBE_SALT)
    settings.LINK_SIGNING_KEYS = ["new-link-key", "old-link-key"]
    assert client.get(f"/u/{token}/").status_code == 200


@pytest.mark.parametrize(("days", "status"), [(364, 200), (366, 404)])
def test_an_unsubscribe_link_expires_after_a_year(client, message, days, status):
    with time_machine.travel("2026-01-05 09:00Z", tick=False) as traveller:
        token = sign_link(message.pk, salt=UNSUBSCRIBE_SALT)
        traveller.shift(days * 86400)
        answer = client.get(f"/u/{token}/")
    assert answer.status_code == status


def test_click_and_open_links_expire_too(client, message):
    with time_machine.travel("2026-01-05 09:00Z", tick=False) as traveller:
        click = sign_link({"m": message.pk, "u": "https://example.com/"}, salt=CLICK_SALT)
        pixel = sign_link(message.pk, salt=OPEN_SALT)
        assert client.get(f"/t/c/{click}/").status_code == 302
        traveller.shift(366 * 86400)
        assert client.get(f"/t/c/{click}/").status_code == 404
        assert client.get(f"/t/o/{pixel}/").status_code == 404
