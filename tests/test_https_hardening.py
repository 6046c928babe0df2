"""HTTPS hardening from the documented configuration: HSTS and the SSL redirect from the environment, a
Content-Security-Policy on every page, and `check --deploy` silent on .env.example's values."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KEYS = {
    "SECRET_KEY": "https-test-secret-key-that-is-long-enough-for-django-checks-0123456789",
    "FIELD_ENCRYPTION_KEYS": "dGVzdHMtb25seS1maWVsZC1rZXktMzItYnl0ZXMtISE=",
    "LINK_SIGNING_KEYS": "https-test-link-key",
}
SETTINGS = ("SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_PROXY_SSL_HEADER",
            "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE")


def _env(**overrides: str) -> dict[str, str]:
    names = {line.split("=", 1)[0].lstrip("# ") for line in (ROOT / ".env.example").read_text().splitlines()
             if re.match(r"^#? ?[A-Z_]+=", line)}
    env = {key: value for key, value in os.environ.items() if key not in names and not key.startswith("DJANGO_")}
    return {**env, **KEYS, "DJANGO_SETTINGS_MODULE": "config.settings", **overrides}


def _settings(**overrides: str) -> dict[str, object]:
    code = ("import json, django; django.setup(); from django.conf import settings as s; "
            f"print(json.dumps({{n: getattr(s, n, None) for n in {SETTINGS!r}}}))")
    out = subprocess.run([sys.executable, "-c", code], env=_env(**overrides), capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return json.loads(out.stdout)


def test_behind_a_tls_proxy_hsts_and_the_redirect_are_on_by_default():
    values = _settings(BEHIND_TLS_PROXY="1", SECURE_COOKIES="1")
    assert values["SECURE_HSTS_SECONDS"] == 31_536_000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert (values["SESSION_COOKIE_SECURE"], values["CSRF_COOKIE_SECURE"]) == (True, True)


def test_hsts_and_the_redirect_are_settable_from_the_environment():
    values = _settings(BEHIND_TLS_PROXY="1", SECURE_HSTS_SECONDS="0", SECURE_SSL_REDIRECT="0")
    assert (values["SECURE_HSTS_SECONDS"], values["SECURE_SSL_REDIRECT"]) == (0, False)


def test_without_a_proxy_nothing_forces_https():
    values = _settings()
    assert (values["SECURE_HSTS_SECONDS"], values["SECURE_SSL_REDIRECT"], values["SECURE_PROXY_SSL_HEADER"]) == (
        0, False, None,
    )


def test_check_deploy_reports_nothing_with_the_env_example_values(tmp_path):
    env = _env(DATABASE_URL=f"sqlite:///{tmp_path / 'check.sqlite3'}", NUDGE_VAR_DIR=str(tmp_path))
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(r"^([A-Z_]+)=(.*)$", line)
        if match and match.group(2):
            env[match.group(1)] = match.group(2)
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'check.sqlite3'}"
    checked = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], env=env, cwd=ROOT,
        capture_output=True, text=True, check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "System check identified no issues (0 silenced)." in checked.stdout


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/login/", "/", "/mailboxes/", "/api/docs/"])
def test_pages_carry_a_content_security_policy_without_inline_scripts(client, rep, path):
    client.force_login(rep)
    answer = client.get(path, follow=True)
    policy = answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert "object-src 'none'" in policy


def test_no_template_has_an_inline_script_or_event_handler():
    offenders = []
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) or re.search(r"\son[a-z]+\s*=", text):
            offenders.append(template.relative_to(ROOT).as_posix())
    assert offenders == []


@pytest.mark.django_db
def test_the_outlook_task_pane_may_load_office_js_and_be_framed_by_outlook(client):
    policy = client.get("/addin/outlook/").headers["Content-Security-Policy"]
    assert "https://appsforoffice.microsoft.com" in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert "frame-ancestors" not in policy
