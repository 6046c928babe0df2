"""Plumbing shared by the benchmarks: a throwaway PostgreSQL database, data made in SQL, results tables.

Each benchmark script:
1. creates its own database on the PostgreSQL server of `BENCH_PG`
   (default `postgres://postgres@127.0.0.1:5432`), migrates it fresh and
   drops it at exit (`--keep` keeps it for a look afterwards);
2. generates its data with `INSERT ... SELECT generate_series(...)` (and the
   real services for the few rows whose shape matters, e.g. one enrollment
   whose snapshot is then cloned), so a million rows take seconds;
3. prints a results table and, with `--readme`, writes it into its own
   section of benchmarks/README.md (between `<!-- bench:NAME -->` markers;
   other sections, e.g. Inbox sync, are left alone).
"""

from __future__ import annotations

import argparse
import atexit
import math
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
README = REPO / "benchmarks" / "README.md"
# Benchmarks run outside DEBUG (as production does), where settings need keys of their own; these are the
# benchmarks', inherited by the worker processes they start. Mail servers are on loopback.
os.environ.setdefault("SECRET_KEY", "benchmarks-only-secret-key-7f3a")
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "YmVuY2htYXJrcy1vbmx5LWZpZWxkLWtleS0zMi1ieXQ=")
os.environ.setdefault("LINK_SIGNING_KEYS", "benchmarks-only-link-key")
os.environ.setdefault("MAILBOX_ALLOW_PRIVATE_HOSTS", "1")
PG_SERVER = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432").rstrip("/")
REDIS_URL = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/13")
PYTHON = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv" / "bin" / "python").exists() else sys.executable


def _exit_on_sigterm(signum: int, frame: object) -> None:
    sys.exit(128 + signum)


# A benchmark stopped with SIGTERM (e.g. by `timeout`) still stops its processes and drops its database.
signal.signal(signal.SIGTERM, _exit_on_sigterm)


def arguments(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument("--readme", action="store_true", help="write the results into benchmarks/README.md")
    parser.add_argument(
        "--quiet-load",
        type=float,
        default=1.5,
        help="first wait (up to --quiet-wait s) until the 1-minute load average is below this (default 1.5)",
    )
    parser.add_argument("--quiet-wait", type=float, default=900, help="seconds to wait for a quiet machine")
    return parser


def wait_for_quiet(max_load: float, max_wait: float) -> None:
    """Other work on a 2-core machine skews every figure: wait a while for it to calm down."""
    deadline = time.monotonic() + max_wait
    announced = False
    while os.getloadavg()[0] >= max_load and time.monotonic() < deadline:
        if not announced:
            print(f"waiting (up to {max_wait:.0f} s) for the load average to drop below {max_load:g} …", flush=True)
            announced = True
        time.sleep(10)
    print(f"load average {load()} (1/5 min) at the start", flush=True)


# --- The database ------------------------------------------------------------------------------


def _admin_execute(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as connection:
        connection.execute(sql)


def database_url(name: str) -> str:
    return f"{PG_SERVER}/{name}"


def fresh_database(name: str, *, settings_module: str = "config.settings", keep: bool = False) -> str:
    """Create `name` anew, point Django at it, migrate; dropped at exit unless `keep`."""
    assert re.fullmatch(r"nudge_bench_[a-z_]+", name), name
    _admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _admin_execute(f"CREATE DATABASE {name}")
    url = database_url(name)
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if not keep:
        atexit.register(_drop, name)
    return url


def _drop(name: str) -> None:
    from django.db import connections

    connections.close_all()
    _admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def sql(statement: str, params: Sequence[object] | dict[str, object] | None = None) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params if params is not None else ())
        return cursor.rowcount


def sql_rows(statement: str, params: Sequence[object] | dict[str, object] | None = None) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params if params is not None else ())
        return cursor.fetchall()


class bulk_load:
    """Load big tables the way pg_restore does: secondary indexes and unique constraints dropped, then rebuilt.

    Foreign-key triggers are skipped for the session (`session_replication_role
    = replica`; the generated rows reference real rows all the same). Every
    index and constraint is recreated exactly from its own definition.
    """

    def __init__(self, *tables: str) -> None:
        self.tables = tables
        self.constraints: list[tuple[str, str, str]] = []
        self.indexes: list[str] = []

    def __enter__(self) -> bulk_load:
        for table_name in self.tables:
            self.constraints += [
                (table_name, name, definition)
                for name, definition in sql_rows(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = %s::regclass AND contype = 'u'",
                    [table_name],
                )
            ]
            owned = {name for table, name, _ in self.constraints if table == table_name}
            for name, definition in sql_rows(
                "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary",
                [table_name],
            ):
                if name not in owned:
                    self.indexes.append(definition)
                    sql(f'DROP INDEX "{name}"')
        for table_name, name, _ in self.constraints:
            sql(f'ALTER TABLE "{table_name}" DROP CONSTRAINT "{name}"')
        sql("SET session_replication_role = replica")
        sql("SET maintenance_work_mem = '1GB'")
        return self

    def __exit__(self, *exc: object) -> None:
        sql("SET session_replication_role = origin")
        for definition in self.indexes:
            sql(definition)
        for table_name, name, definition in self.constraints:
            sql(f'ALTER TABLE "{table_name}" ADD CONSTRAINT "{name}" {definition}')
        sql("RESET maintenance_work_mem")


def analyze() -> None:
    """Fresh planner statistics, as autovacuum would have them on a live database."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def timed(label: str):
    class _Timer:
        def __enter__(self):
            self.start = time.perf_counter()
            return self

        def __exit__(self, *exc):
            print(f"  {label}: {time.perf_counter() - self.start:.1f} s", flush=True)

    return _Timer()


# --- People and the mail server ----------------------------------------------------------------------


def make_reps(count: int, *, smtp_port: int = 1025, tier: str = "enterprise", prefix: str = "rep") -> list:
    """Reps with a seat, the bulk permission and a connected mailbox (SMTP AUTH on loopback)."""
    from accounts_app.models import Seat, User
    from mailboxes_app.models import Mailbox, Security

    users = User.objects.bulk_create(
        [
            User(
                username=f"{prefix}{n}",
                email=f"{prefix}{n}@nudge.example",
                first_name=f"Rep{n}",
                last_name="Seller",
                can_bulk_enroll=True,
                password="!",
            )
            for n in range(count)
        ]
    )
    Seat.objects.bulk_create([Seat(user=user, hub="sales", tier=tier) for user in users])
    Mailbox.objects.bulk_create(
        [
            Mailbox(
                owner=user,
                email=user.email,
                display_name=f"{user.first_name} {user.last_name}",
                is_primary=True,
                smtp_host="127.0.0.1",
                smtp_port=smtp_port,
                smtp_security=Security.NONE,
                smtp_username=user.email,
                smtp_password="smtp-secret",
                status=Mailbox.Status.CONNECTED,
                signature_html=f"<p>Best,<br>{user.first_name}<br>Nudge Inc.</p>",
            )
            for user in users
        ]
    )
    return users


def portal(*, send_limit: int | None = None) -> None:
    from accounts_app.models import PortalSettings

    values: dict[str, object] = {"time_zone": "Europe/Helsinki", "holiday_country": "FI"}
    if send_limit is not None:
        values.update(professional_send_limit=send_limit, enterprise_send_limit=send_limit)
    PortalSettings.objects.update_or_create(pk=1, defaults=values)


def make_companies(count: int) -> None:
    sql(
        """
        INSERT INTO contacts_app_company (name, domain, properties, created_at, updated_at)
        SELECT 'Company ' || n, 'company' || n || '.example', '{}'::jsonb, now(), now()
        FROM generate_series(1, %s) AS n
        """,
        [count],
    )


TIME_ZONES = ["Europe/Helsinki", "Europe/London", "America/New_York", "America/Los_Angeles", "Asia/Tokyo", ""]


def make_contacts(count: int, *, companies: int, owner_id: int | None = None) -> None:
    """`count` contacts `contact{n}@company{n % companies}.example`, each at one of the companies."""
    zones = "ARRAY[" + ",".join(f"'{zone}'" for zone in TIME_ZONES) + "]"
    sql(
        f"""
        INSERT INTO contacts_app_contact (
            email, first_name, last_name, job_title, phone, lifecycle_stage, time_zone, properties,
            email_bounced, bounce_reason, unsubscribed, unsubscribed_sales, marked_spam,
            created_at, updated_at, company_id, owner_id)
        SELECT 'contact' || n || '@company' || (n %% %(companies)s + 1) || '.example',
               'First' || n, 'Last' || n, 'Head of Things', '+358 40 ' || n, 'lead',
               ({zones})[n %% {len(TIME_ZONES)} + 1], '{{"source": "benchmark"}}'::jsonb,
               false, '', false, false, false, now(), now(),
               (SELECT min(id) FROM contacts_app_company) + (n %% %(companies)s), %(owner)s
        FROM generate_series(1, %(count)s) AS n
        """,  # noqa: S608  (only ids and constants are formatted in)
        {"count": count, "companies": companies, "owner": owner_id},
    )


# --- A separate SMTP sink process --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sink:
    """benchmarks/smtp_sink.py in its own process: every accepted message is one line in `log`."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.log = log
        log.unlink(missing_ok=True)
        log.touch()
        self.process = subprocess.Popen(
            [PYTHON, str(REPO / "benchmarks" / "smtp_sink.py"), "--port", str(self.port), "--log", str(log)],
            cwd=REPO,
        )
        atexit.register(self.stop)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the SMTP sink did not start")

    def count(self) -> int:
        with self.log.open("rb") as handle:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))

    def lines(self) -> list[tuple[float, str]]:
        """(time accepted, Message-ID) for every message so far."""
        result = []
        for line in self.log.read_text().splitlines():
            stamp, _, message_id = line.partition(" ")
            result.append((float(stamp), message_id))
        return result

    def wait_for(self, total: int, *, timeout: float, progress: bool = True) -> float:
        """Wait until `total` messages arrived; returns the time.time() of the last one seen arriving."""
        deadline = time.monotonic() + timeout
        last_report = 0.0
        while time.monotonic() < deadline:
            seen = self.count()
            if seen >= total:
                return time.time()
            if progress and time.monotonic() - last_report > 10:
                print(f"    … {seen}/{total} received", flush=True)
                last_report = time.monotonic()
            time.sleep(0.05)
        raise TimeoutError(f"only {self.count()} of {total} messages arrived in {timeout:.0f} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


# --- Figures ------------------------------------------------------------------------------------------------


def percentile(values: Iterable[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table (also readable as plain text)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(str(cell) for cell in row) + " |")
    return "\n".join(lines)


def verdict(ok: bool) -> str:
    return "**pass**" if ok else "**FAIL**"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {round(kib / 1024 / 1024)} GiB"
    except (OSError, ValueError, IndexError):
        pass
    pg = ""
    try:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            pg = f", PostgreSQL {cursor.fetchone()[0].split()[0]}"
    except Exception:  # noqa: S110  (the version is informative only)
        pass
    return f"{cpu}, {os.cpu_count()} cores{memory}{pg}, Python {platform.python_version()}"


def code_version() -> str:
    """The commit measured, and whether the work tree had uncommitted changes to application code."""
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!benchmarks"],
            cwd=REPO, capture_output=True, text=True,
        ).stdout
    except OSError:
        return "unknown commit"
    return f"commit {rev.strip()}" + (" plus uncommitted changes in the work tree" if dirty.strip() else "")


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f}/{five:.1f}"


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def write_readme(key: str, markdown: str) -> None:
    """Replace (or append) this benchmark's own section of benchmarks/README.md."""
    start, end = f"<!-- bench:{key} -->", f"<!-- /bench:{key} -->"
    block = f"{start}\n{markdown.strip()}\n{end}"
    text = README.read_text() if README.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    found = pattern.search(text)
    text = pattern.sub(lambda _: block, text) if found else text.rstrip("\n") + "\n\n" + block + "\n"
    README.write_text(text)
    print(f"\nwrote the '{key}' section of {README.relative_to(REPO)}")


# --- A world that sends: reps, contacts, a sequence, enrollments waiting to be due -------------------------


def make_sequence(owner):
    """The demo's three steps: email (tokens) → call task (+2 days) → threaded follow-up email (+3 days)."""
    from sequences_app.models import Sequence, SequenceStep, StepType

    sequence = Sequence.objects.create(name="Post-conference follow-up", owner=owner, visibility="everyone")
    SequenceStep.objects.bulk_create(
        [
            SequenceStep(
                sequence=sequence,
                order=1,
                type=StepType.AUTOMATED_EMAIL,
                subject="Great meeting you, {{ contact.first_name }}",
                body_html="<p>Hi {{ contact.first_name }},</p><p>Thanks for stopping by our booth. How is "
                "{{ company.name }} handling follow-ups today? Here is "
                '<a href="https://nudge.example/guide">the guide we talked about</a>.</p>'
                "<p>{{ sender.first_name }}</p>",
            ),
            SequenceStep(
                sequence=sequence, order=2, type=StepType.CALL, delay_days=2, title="Call {{ contact.first_name }}"
            ),
            SequenceStep(
                sequence=sequence,
                order=3,
                type=StepType.AUTOMATED_EMAIL,
                delay_days=3,
                subject="",
                body_html="<p>Hi {{ contact.first_name }}, just bumping this up in your inbox.</p>",
            ),
        ]
    )
    return sequence


def make_sending_world(*, enrollments: int, reps: int, smtp_port: int, due_sql: str = "NULL") -> dict:
    """`enrollments` active enrollments at step 1 (an email), one contact each, the reps in turn.

    One enrollment is made by `enrollment_create` (the real snapshot) and
    cloned in SQL; `due_sql` is the SQL for `next_action_at` of clone `n`
    (0-based), e.g. `now() + n * interval '100 ms'`; NULL = not due until
    `make_due()` says so. Returns ids the benchmark needs.
    """
    from contacts_app.models import Contact
    from sequences_app.services.enrollments import enrollment_create

    people = make_reps(reps, smtp_port=smtp_port)
    make_companies(max(1, enrollments // 10))
    make_contacts(enrollments, companies=max(1, enrollments // 10))
    sequence = make_sequence(people[0])
    first_contact = Contact.objects.order_by("pk").values_list("pk", flat=True).first()
    template = enrollment_create(sequence=sequence, caller=people[0], contact_ids=[first_contact]).enrolled[0].id
    senders = "ARRAY[" + ",".join(str(rep.pk) for rep in people) + "]::bigint[]"
    sql(
        f"""
        UPDATE sequences_app_enrollment SET next_action_at = x.at
        FROM (SELECT ({due_sql})::timestamptz AS at FROM (SELECT 0 AS n) AS zero) AS x WHERE id = %(template)s;
        INSERT INTO sequences_app_enrollment (
            time_zone, status, reason, snapshot, token_values, step_overrides, start_step, current_step,
            next_action_at, is_bulk, version, enrolled_at, updated_at, contact_id, enrolled_by_id, mailbox_id,
            sender_id, sequence_id)
        SELECT c.time_zone, 'active', NULL, t.snapshot, t.token_values, t.step_overrides, 1, 1,
               ({due_sql})::timestamptz, false, 1, now(), now(), c.id, s.id, m.id, s.id, t.sequence_id
        FROM generate_series(1, %(count)s - 1) AS n
        CROSS JOIN sequences_app_enrollment t
        JOIN contacts_app_contact c ON c.id = %(first)s + n
        JOIN accounts_app_user s ON s.id = ({senders})[n %% {reps} + 1]
        JOIN mailboxes_app_mailbox m ON m.owner_id = s.id AND m.is_primary
        WHERE t.id = %(template)s;
        UPDATE sequences_app_enrollment SET time_zone = 'Europe/Helsinki' WHERE time_zone = '';
        INSERT INTO sequences_app_enrollmentstep (enrollment_id, "order", type, status, scheduled_for, done_at, detail)
        SELECT e.id, s.ord, s.type, CASE s.ord WHEN 1 THEN 'scheduled' ELSE 'pending' END,
               coalesce(e.next_action_at, now()) + s.days * interval '1 day', NULL, ''
        FROM sequences_app_enrollment e
        CROSS JOIN (VALUES (1, 'automated_email', 0), (2, 'call', 2), (3, 'automated_email', 5)) AS s(ord, type, days)
        WHERE e.id <> %(template)s;
        """,  # noqa: S608  (only ids and constants are formatted in)
        {"count": enrollments, "first": first_contact, "template": template},
    )
    analyze()
    return {"reps": people, "sequence": sequence, "template": template}


def make_due() -> float:
    """Every waiting enrollment becomes due now; returns that moment (time.time())."""
    moment = time.time()
    sql("UPDATE sequences_app_enrollment SET next_action_at = to_timestamp(%s) WHERE status = 'active'", [moment])
    return moment


# --- Real Celery processes -------------------------------------------------------------------------------------


class Celery:
    """A real `celery worker` (`--concurrency 1` unless told) and optionally beat, on Redis and this database."""

    def __init__(
        self, workdir: Path, *, tick_seconds: int = 2, settings_module: str = "config.settings", concurrency: int = 1
    ) -> None:
        self.workdir = workdir
        self.concurrency = concurrency
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": settings_module,
            "CELERY_BROKER_URL": REDIS_URL,
            "SCHEDULER_TICK_SECONDS": str(tick_seconds),
            "PYTHONUNBUFFERED": "1",
        }
        self.worker: subprocess.Popen | None = None
        self.beat: subprocess.Popen | None = None
        atexit.register(self.stop)

    def _start(self, args: list[str], log: str) -> subprocess.Popen:
        return subprocess.Popen(
            [str(REPO / ".venv" / "bin" / "celery"), "-A", "config", *args],
            cwd=REPO,
            env=self.env,
            stdout=(self.workdir / log).open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start_worker(self) -> None:
        from config.celery import app

        self.worker = self._start(
            ["worker", "--concurrency", str(self.concurrency), "-l", "info", "-n", "bench@%h"], "worker.log"
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if app.control.ping(timeout=0.5):
                return
        raise RuntimeError(f"the worker did not answer; see {self.workdir / 'worker.log'}")

    def start_beat(self) -> None:
        self.beat = self._start(
            ["beat", "-l", "info", "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler"], "beat.log"
        )

    def pool_pid(self) -> int:
        """The prefork child that runs the tasks (the worker's only child process)."""
        assert self.worker is not None
        children = Path(f"/proc/{self.worker.pid}/task/{self.worker.pid}/children").read_text().split()
        return int(children[0])

    def stop(self) -> None:
        for process in (self.beat, self.worker):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, 15)
        for process in (self.beat, self.worker):
            if process is not None:
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, 9)


def purge_broker() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0
