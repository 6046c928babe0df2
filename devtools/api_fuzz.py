"""Schemathesis against a running Nudge: every operation of /api/schema/, bounded, as a rep and as an admin.

    python -m devtools.api_fuzz [--max-examples 8] [--seed 1] [--report-dir DIR]

1. A throwaway instance: SQLite in a temporary folder, migrated and seeded
   with the demo (`seed_demo`), keys of its own, DEBUG off, private mail
   hosts refused (verify only queues a task; no worker runs, nothing is
   sent anywhere).
2. gunicorn serves it on a free loopback port.
3. Schemathesis runs once with a rep's token and once with an admin's:
   `not_a_server_error`, `status_code_conformance`,
   `response_schema_conformance` and `content_type_conformance`, at most
   `--max-examples` cases per operation and phase (examples and fuzzing; the
   coverage phase, hundreds of boundary cases per operation, with
   `--phases examples,coverage,fuzzing`).
4. Prints the figures (operations, requests, 5xx, schema mismatches, other
   failures) and exits non-zero if any check failed (`--fail-on
   server-errors`: only on a 5xx).

CI (`.ci/run`) runs it; a developer runs it the same way.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance"
TOKENS = """
from rest_framework.authtoken.models import Token
from accounts_app.models import User
rep = User.objects.filter(is_staff=False, seat__isnull=False).order_by("pk").first()
admin = User.objects.filter(is_staff=True).order_by("pk").first()
print("TOKENS", Token.objects.get_or_create(user=rep)[0].key, Token.objects.get_or_create(user=admin)[0].key)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _environment(folder: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "CELERY_"))}
    env.pop("DATABASE_URL", None)
    return env | {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "0",
        "NUDGE_VAR_DIR": str(folder),
        "DATABASE_URL": f"sqlite:///{folder / 'fuzz.sqlite3'}",
        "SECRET_KEY": "api-fuzz-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "FIELD_ENCRYPTION_KEYS": "YXBpLWZ1enotb25seS1maWVsZC1rZXktMzItYnl0ZXM=",
        "LINK_SIGNING_KEYS": "api-fuzz-only-link-key",
        "MAILBOX_ALLOW_PRIVATE_HOSTS": "0",
        "LOG_LEVEL": "ERROR",
        "PYTHONUNBUFFERED": "1",
    }


def _figures(log: str, server_log: str) -> dict[str, object]:
    """Operations, test cases and failures per check from schemathesis' summary; 5xx from the server's log."""
    failures = {f"{code} {name}": int(count) for code, name, count in re.findall(r"(ST\d+) ([^:\n]+): (\d+)", log)}
    tested = re.search(r"Tested: (\d+)", log)
    generated = re.search(r"(\d+) generated", log)
    return {
        "operations": int(tested.group(1)) if tested else 0,
        "test_cases": int(generated.group(1)) if generated else 0,
        "responses_5xx": server_log.count("Internal Server Error:"),
        "failures": failures,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-examples", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--report-dir", type=Path, default=None)
    # The coverage phase sends hundreds of boundary cases per operation: minutes, not seconds, on CI's machine.
    parser.add_argument("--phases", default="examples,fuzzing")
    # "server-errors": fail only on a 5xx, and report the other checks' failures as figures.
    parser.add_argument("--fail-on", choices=("all", "server-errors"), default="all")
    args = parser.parse_args()

    # A SIGTERM (CI's timeout) still stops the server: the `finally` below runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    folder = Path(tempfile.mkdtemp(prefix="nudge-fuzz-"))
    report_dir = args.report_dir or folder / "reports"
    report_dir.mkdir(parents=True, exist_ok=True)
    env = _environment(folder)
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([python, "manage.py", "seed_demo"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    _, rep_token, admin_token = subprocess.run(
        [python, "manage.py", "shell", "-c", TOKENS], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout.strip().splitlines()[-1].split()

    # The schema from a file: generating it takes the server seconds, longer than schemathesis waits on a busy box.
    schema = folder / "schema.json"
    subprocess.run([python, "manage.py", "spectacular", "--format", "openapi-json", "--file", str(schema)],
                   cwd=ROOT, env=env, check=True)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    gunicorn = Path(python).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--timeout", "60", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=(report_dir / "server.log").open("w"), stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/login/", timeout=5).read()  # noqa: S310 (loopback)
                break
            except OSError:
                time.sleep(0.5)
        results = {}
        failed = False
        for who, token in (("rep", rep_token), ("admin", admin_token)):
            server_log = report_dir / "server.log"
            seen = len(server_log.read_text(errors="replace"))
            run = subprocess.run(
                [str(Path(python).with_name("schemathesis")), "run", str(schema), "--url", base,
                 "--header", f"Authorization: Token {token}", "--checks", CHECKS,
                 "--max-examples", str(args.max_examples), "--seed", str(args.seed), "--workers", "1",
                 "--generation-database", "none", "--no-shrink", "--request-timeout", "30",
                 "--phases", args.phases, "--no-color", "--output-truncate", "true"],
                cwd=ROOT, env=env, capture_output=True, text=True, check=False,
            )
            (report_dir / f"{who}.log").write_text(run.stdout + run.stderr)
            results[who] = _figures(run.stdout, server_log.read_text(errors="replace")[seen:])
            results[who]["exit_code"] = run.returncode
            figures = results[who]
            server_errors = figures["responses_5xx"] or any(name.startswith("ST101") for name in figures["failures"])
            failed = failed or bool(server_errors if args.fail_on == "server-errors" else run.returncode != 0)
    finally:
        server.terminate()
        server.wait(30)
    print(json.dumps(results, indent=2))
    print(f"reports: {report_dir}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
