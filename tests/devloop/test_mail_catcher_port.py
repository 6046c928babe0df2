"""MAIL_CATCHER_PORT: one setting for where the catcher listens and where the demo mailboxes send."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

from devtools.mailcatcher import parse_args
from mailboxes_app.models import Mailbox

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_the_demo_mailboxes_send_to_the_mail_catcher_port() -> None:
    out = io.StringIO()
    with override_settings(MAIL_CATCHER_PORT=1125):
        call_command("seed_demo", stdout=out)
    assert set(Mailbox.objects.values_list("smtp_host", "smtp_port")) == {("127.0.0.1", 1125)}
    assert "mail catcher at 127.0.0.1:1125" in out.getvalue()


@pytest.mark.django_db
def test_seeding_again_with_another_port_points_the_demo_mailboxes_at_it() -> None:
    with override_settings(MAIL_CATCHER_PORT=1125):
        call_command("seed_demo", stdout=io.StringIO())
    with override_settings(MAIL_CATCHER_PORT=1226):
        call_command("seed_demo", stdout=io.StringIO())
    assert set(Mailbox.objects.values_list("smtp_port", flat=True)) == {1226}


def test_the_mail_catcher_listens_on_mail_catcher_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAIL_CATCHER_PORT", "1125")
    assert parse_args([]).port == 1125
    monkeypatch.delenv("MAIL_CATCHER_PORT")
    assert parse_args([]).port == 1025


def _setting(name: str, **env: str) -> str:
    environment = {key: value for key, value in os.environ.items() if key not in ("EMAIL_PORT", "MAIL_CATCHER_PORT")}
    code = f"import django; django.setup(); from django.conf import settings; print(settings.{name})"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**environment, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True, text=True, check=True, timeout=60,
    )
    return result.stdout.strip()


def test_system_mail_goes_to_the_mail_catcher_unless_email_port_is_set() -> None:
    assert _setting("EMAIL_PORT") == "1025"
    assert _setting("EMAIL_PORT", MAIL_CATCHER_PORT="1125") == "1125"
    assert _setting("EMAIL_PORT", MAIL_CATCHER_PORT="1125", EMAIL_PORT="587") == "587"
