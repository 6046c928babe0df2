"""Settings for the test suite: config.settings with the environment a test run needs.

Set in the environment (not here) so the worker, beat and web processes the
process tests start inherit them: keys of the tests' own (settings refuse to
start without them outside DEBUG) and mail servers on
loopback (aiosmtpd, pymap). A test that wants either rule off says so.
"""
from __future__ import annotations

import os

os.environ.setdefault("SECRET_KEY", "tests-only-key-never-used-by-a-running-nudge-0c8f1e")
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "dGVzdHMtb25seS1maWVsZC1rZXktMzItYnl0ZXMtISE=")
os.environ.setdefault("LINK_SIGNING_KEYS", "tests-only-link-key-5b1d")
os.environ.setdefault("MAILBOX_ALLOW_PRIVATE_HOSTS", "1")

from config.settings import *  # noqa: F403
