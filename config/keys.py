"""Keys Nudge needs, and the one development key it may run on.

Outside DEBUG, settings refuse to start without SECRET_KEY,
FIELD_ENCRYPTION_KEYS and LINK_SIGNING_KEYS of the deployment's own: nothing
is derived from SECRET_KEY any more, so rotating it never makes stored
passwords unreadable or links in sent emails dead.

An installation that ran before keys were required stored its mailbox
passwords under a key derived from SECRET_KEY and signed its links with
SECRET_KEY itself. `python -m config.keys legacy` (with that SECRET_KEY in the
environment) prints the two values to set so both keep working:

    FIELD_ENCRYPTION_KEYS=<printed key>
    LINK_SIGNING_KEYS=<a new key>,<the old SECRET_KEY>   # the old one verifies links already sent
"""
from __future__ import annotations

import base64
import hashlib
import os
import secrets
import sys

DEVELOPMENT_SECRET_KEY = "insecure-local-development-key-change-me-in-production"  # noqa: S105 (DEBUG only)
# DEBUG only: fixed so a development database's passwords and links survive restarts.
DEVELOPMENT_FIELD_KEY = base64.urlsafe_b64encode(hashlib.sha256(b"nudge-development-fields").digest()).decode()
DEVELOPMENT_LINK_KEY = "insecure-local-development-link-key"


def legacy_field_key(secret_key: str) -> str:
    """The Fernet key Nudge derived from SECRET_KEY before FIELD_ENCRYPTION_KEYS was required."""
    return base64.urlsafe_b64encode(hashlib.sha256(("nudge-fields:" + secret_key).encode()).digest()).decode()


def missing_keys_message(missing: list[str]) -> str:
    return (
        f"{', '.join(missing)} must be set when DJANGO_DEBUG is off: Nudge does not run on the published "
        "development keys. Generate them with `python -m config.keys new` (see .env.example); an installation "
        "upgraded from a version that derived them from SECRET_KEY gets the values that keep its stored "
        "passwords and sent links working from `python -m config.keys legacy`."
    )


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else ""
    if command == "new":
        from cryptography.fernet import Fernet

        print(f"SECRET_KEY={secrets.token_urlsafe(50)}")
        print(f"FIELD_ENCRYPTION_KEYS={Fernet.generate_key().decode()}")
        print(f"LINK_SIGNING_KEYS={secrets.token_urlsafe(50)}")
        return 0
    if command == "legacy":
        secret_key = os.environ.get("SECRET_KEY", "")
        if not secret_key:
            print("Set SECRET_KEY to the key the installation has been running with.", file=sys.stderr)
            return 2
        print(f"FIELD_ENCRYPTION_KEYS={legacy_field_key(secret_key)}")
        print(f"LINK_SIGNING_KEYS={secrets.token_urlsafe(50)},{secret_key}")
        return 0
    print("usage: python -m config.keys new|legacy", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
