from __future__ import annotations

from tests.fixtures_api import admin_api, anon_api, api
from tests.fixtures_mail import (
    imap_server,
    smtp_server,
    smtp_ssl_server,
    smtp_starttls_server,
    test_certificates,
    trust_test_ca,
)

__all__ = [
    "admin_api", "anon_api", "api", "imap_server", "smtp_server", "smtp_ssl_server", "smtp_starttls_server",
    "test_certificates", "trust_test_ca",
]
