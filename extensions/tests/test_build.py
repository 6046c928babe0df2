"""`make extension`: the build for one Nudge address, and EXTENSION_ORIGINS refusing what isn't an extension origin."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import pytest
from django.conf import settings

from extensions.build import build


def test_the_build_lets_only_that_nudges_pages_hand_over_a_token(tmp_path):
    archive = build("https://nudge.example.com:8443/some/path", tmp_path / "nudge-for-gmail")
    manifest = json.loads((tmp_path / "nudge-for-gmail" / "manifest.json").read_text())
    assert manifest["externally_connectable"] == {"matches": ["https://nudge.example.com:8443/*"]}
    with zipfile.ZipFile(archive) as zipped:
        names = set(zipped.namelist())
        assert json.loads(zipped.read("manifest.json")) == manifest
    assert {"background.js", "gmail_dom.js", "content.js", "panel.html", "compose.html", "options.html"} <= names


@pytest.mark.parametrize("address", ["ftp://nudge.example.com", "nudge.example.com", ""])
def test_the_build_refuses_an_address_that_isnt_http(tmp_path, address):
    with pytest.raises(SystemExit):
        build(address, tmp_path / "out")


@pytest.mark.parametrize("origin", ["https://evil.example", "chrome-extension://short", "*"])
def test_settings_refuse_an_extension_origin_that_isnt_one(origin):
    env = {**os.environ, "EXTENSION_ORIGINS": origin, "DJANGO_SETTINGS_MODULE": "config.settings"}
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], cwd=settings.BASE_DIR, env=env,
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode != 0
    assert "EXTENSION_ORIGINS" in done.stderr
