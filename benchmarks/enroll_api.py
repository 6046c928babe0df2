"""Issue 3 benchmark: a 50-contact bulk enrollment and its dry run through the API.

    .venv/bin/python benchmarks/enroll_api.py [--runs 40] [--readme] [--keep]

(needs PostgreSQL at BENCH_PG, default postgres://postgres@127.0.0.1:5432;
the script creates, migrates and drops the database `nudge_bench_enroll`).

What is timed: `POST /api/v1/sequences/{id}/enrollments/` through DRF's
APIClient in this process (the whole Django stack — middleware, token
authentication, the serializer, `enrollment_create`, the response — against
real PostgreSQL; no HTTP server, so no socket or server time is counted).

The data: 100,000 contacts at 10,000 companies, 20 reps with Enterprise
seats and mailboxes, 1,000 blocklist entries, and 10,000 active enrollments
(one real enrollment made by the service, cloned in SQL) spread over the
reps, each with its 3 enrollment steps and the first email already sent
(so the sender's rolling-24-hour count and bulk throttle have rows to read).
The sequence is email (tokens contact.first_name, company.name,
sender.first_name) → call task (+2 days) → email (+3 days).

Each run names 50 contacts never enrolled before, all of whom pass every
rule (the most writing a request can do). After each real run, its 50
enrollments are unenrolled (not timed), so every run meets the same load.
Dry runs and real runs alternate; a few warm-up runs come first.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (
    analyze,
    arguments,
    code_version,
    fresh_database,
    load,
    machine,
    make_companies,
    make_contacts,
    make_reps,
    make_sequence,
    median,
    percentile,
    portal,
    sql,
    table,
    timed,
    today,
    verdict,
    wait_for_quiet,
    write_readme,
)

CONTACTS = 100_000
COMPANIES = 10_000
ACTIVE = 10_000
REPS = 20
BATCH = 50
GOAL_MS = 250.0


def build() -> dict:
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from contacts_app.models import Contact
    from sequences_app.models import Enrollment
    from sequences_app.services.enrollments import enrollment_create

    portal()
    reps = make_reps(REPS)
    bench_rep = reps[0]
    with timed(f"{COMPANIES:,} companies and {CONTACTS:,} contacts"):
        make_companies(COMPANIES)
        make_contacts(CONTACTS, companies=COMPANIES, owner_id=bench_rep.pk)
    sql(
        "INSERT INTO contacts_app_blockedentry (value, created_at) "
        "SELECT CASE WHEN n %% 2 = 0 THEN 'blocked' || n || '.example' "
        "ELSE 'someone' || n || '@spam.example' END, now() "
        "FROM generate_series(1, 1000) AS n"
    )
    sequence = make_sequence(bench_rep)
    first_contact = Contact.objects.order_by("pk").values_list("pk", flat=True).first()
    with timed(f"{ACTIVE:,} active enrollments with their steps and first emails"):
        template = enrollment_create(sequence=sequence, caller=bench_rep, contact_ids=[first_contact]).enrolled[0]
        _clone_enrollments(template.id, reps, first_contact)
    analyze()
    token = Token.objects.create(user=bench_rep)
    free = list(
        Contact.objects.filter(pk__gte=first_contact + ACTIVE).order_by("pk").values_list("pk", flat=True)
    )
    assert Enrollment.objects.filter(status="active").count() == ACTIVE
    return {"sequence": sequence, "token": token.key, "free": free, "rep": bench_rep, "now": timezone.now()}


def _clone_enrollments(template_id: int, reps: list, first_contact: int) -> None:
    """9,999 copies of the template enrollment: other contacts, the 20 reps in turn, next email within 14 days."""
    sender_ids = "ARRAY[" + ",".join(str(rep.pk) for rep in reps) + "]::bigint[]"
    sql(
        f"""
        INSERT INTO sequences_app_enrollment (
            time_zone, status, reason, snapshot, token_values, step_overrides, start_step, current_step,
            next_action_at, is_bulk, version, enrolled_at, updated_at, contact_id, enrolled_by_id, mailbox_id,
            sender_id, sequence_id)
        SELECT t.time_zone, 'active', NULL, t.snapshot, t.token_values, t.step_overrides, 1, 3,
               now() + (n %% 336) * interval '1 hour' + interval '5 minutes', n %% 3 = 0, 3,
               now() - interval '3 days', now(), %(first)s + n, s.id, m.id, s.id, t.sequence_id
        FROM generate_series(1, %(count)s) AS n
        CROSS JOIN sequences_app_enrollment t
        JOIN accounts_app_user s ON s.id = ({sender_ids})[n %% {len(reps)} + 1]
        JOIN mailboxes_app_mailbox m ON m.owner_id = s.id AND m.is_primary
        WHERE t.id = %(template)s
        """,  # noqa: S608  (only ids and constants are formatted in)
        {"first": first_contact, "count": ACTIVE - 1, "template": template_id},
    )
    sql(
        """
        INSERT INTO sequences_app_enrollmentstep (enrollment_id, "order", type, status, scheduled_for, done_at, detail)
        SELECT e.id, s.ord, s.type,
               CASE s.ord WHEN 1 THEN 'sent' WHEN 2 THEN 'task_done' ELSE 'scheduled' END,
               CASE s.ord WHEN 3 THEN e.next_action_at ELSE e.enrolled_at + (s.ord - 1) * interval '1 day' END,
               CASE s.ord WHEN 3 THEN NULL ELSE e.enrolled_at + (s.ord - 1) * interval '1 day' END, ''
        FROM sequences_app_enrollment e
        CROSS JOIN (VALUES (1, 'automated_email'), (2, 'call'), (3, 'automated_email')) AS s(ord, type)
        WHERE e.id <> %(template)s
        """,
        {"template": template_id},
    )
    sql(
        """
        INSERT INTO mailboxes_app_outboundmessage (
            step_order, message_id, from_email, to_email, subject, in_reply_to, "references", is_bulk, state,
            attempts, last_error, smtp_response, created_at, sent_at, enrollment_id, mailbox_id, sender_id)
        SELECT 1, '<bench.' || e.id || '.1@nudge.example>', s.email, c.email, 'Great meeting you', '', '',
               e.is_bulk, 'sent', 1, '', '250 ok', e.enrolled_at, now() - (e.id %% 72) * interval '1 hour',
               e.id, e.mailbox_id, e.sender_id
        FROM sequences_app_enrollment e
        JOIN accounts_app_user s ON s.id = e.sender_id
        JOIN contacts_app_contact c ON c.id = e.contact_id
        WHERE e.id <> %(template)s
        """,
        {"template": template_id},
    )


def post(client, url: str, contacts: list[int], dry_run: bool) -> float:
    started = time.perf_counter()
    response = client.post(url, {"contacts": contacts, "dry_run": dry_run}, format="json")
    elapsed = (time.perf_counter() - started) * 1000
    expected = 200 if dry_run else 201
    body = response.json()
    assert response.status_code == expected, (response.status_code, body)
    assert not body["rejected"], body["rejected"][:3]
    assert len(body["enrolled"]) == len(contacts)
    return elapsed


def unenroll(contacts: list[int]) -> None:
    from sequences_app.models import Enrollment
    from sequences_app.services.enrollment_state import enrollments_unenroll

    enrollments_unenroll(
        enrollments=Enrollment.objects.filter(contact_id__in=contacts, status__in=Enrollment.LIVE_STATUSES),
        reason=Enrollment.Reason.MANUAL,
    )


def query_profile(client, url: str, contacts: list[int], dry_run: bool) -> tuple[int, float, list[tuple[float, str]]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.post(url, {"contacts": contacts, "dry_run": dry_run}, format="json")
    timings = [(float(query["time"]) * 1000, query["sql"]) for query in captured.captured_queries]
    return len(timings), sum(ms for ms, _ in timings), sorted(timings, reverse=True)[:5]


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="timed runs of each kind (default 40)")
    args = parser.parse_args()
    wait_for_quiet(args.quiet_load, args.quiet_wait)
    started = time.perf_counter()
    load_before = load()
    print("building the data …", flush=True)
    fresh_database("nudge_bench_enroll", keep=args.keep)
    data = build()
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {data['token']}")
    url = f"/api/v1/sequences/{data['sequence'].pk}/enrollments/"
    free = iter(data["free"])

    def fresh() -> list[int]:
        return [next(free) for _ in range(BATCH)]

    print("warming up …", flush=True)
    for _ in range(3):
        post(client, url, fresh(), dry_run=True)
        batch = fresh()
        post(client, url, batch, dry_run=False)
        unenroll(batch)

    print(f"timing {args.runs} dry runs and {args.runs} real runs of {BATCH} contacts …", flush=True)
    dry, real = [], []
    for _ in range(args.runs):
        dry.append(post(client, url, fresh(), dry_run=True))
        batch = fresh()
        real.append(post(client, url, batch, dry_run=False))
        unenroll(batch)

    dry_queries, dry_sql_ms, _ = query_profile(client, url, fresh(), dry_run=True)
    batch = fresh()
    real_queries, real_sql_ms, slowest = query_profile(client, url, batch, dry_run=False)
    unenroll(batch)

    rows = []
    for label, times, queries, sql_ms in (
        ("dry run (200)", dry, dry_queries, dry_sql_ms),
        ("enroll (201)", real, real_queries, real_sql_ms),
    ):
        p95 = percentile(times, 95)
        rows.append(
            (
                label,
                len(times),
                f"{median(times):.1f}",
                f"{p95:.1f}",
                f"{min(times):.1f}",
                f"{max(times):.1f}",
                queries,
                f"{sql_ms:.1f}",
                f"≤ {GOAL_MS:.0f}",
                verdict(p95 <= GOAL_MS),
            )
        )
    result = table(
        ["request", "runs", "median ms", "p95 ms", "min ms", "max ms", "queries", "SQL ms (one run)", "goal p95",
         "result"],
        rows,
    )
    print()
    print(result)
    print("\nslowest queries of one real run:")
    for ms, statement in slowest:
        print(f"  {ms:6.1f} ms  {statement[:200]}")
    print(f"\n(total wall time {time.perf_counter() - started:.0f} s)")

    if args.readme:
        write_readme(
            "enroll_api",
            f"""## Enrollment API (issue 3) — `benchmarks/enroll_api.py`

`.venv/bin/python benchmarks/enroll_api.py --readme`

Measured {today()} on {machine()}, {code_version()}; load average (1/5 min)
{load_before} before, {load()} after (other work shared the 2 cores).

`POST /api/v1/sequences/{{id}}/enrollments/` with 50 contact ids, through DRF's
`APIClient` in the benchmark's process (whole Django stack with token
authentication, against real PostgreSQL; no HTTP server in the loop).
Database: {CONTACTS:,} contacts, {COMPANIES:,} companies, 1,000 blocklist entries,
{ACTIVE:,} active enrollments (30,000 enrollment steps, 10,000 sent messages) over
{REPS} reps. Each run enrolls 50 fresh contacts who all pass (the most writing a
request does); a real run's enrollments are unenrolled afterwards, untimed.
Dry and real runs alternate after 3 warm-up pairs. p95 is nearest-rank.
"queries" and "SQL ms" come from one extra run with query capture on.

{result}
""",
        )


if __name__ == "__main__":
    main()
