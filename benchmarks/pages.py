"""Issue 16 benchmark: every page and list API at 10,000 contacts / 1,000 enrollments and at 1,000,000 / 100,000.

    .venv/bin/python benchmarks/pages.py [--runs 20] [--rebuild] [--readme]

(needs PostgreSQL at BENCH_PG, default postgres://postgres@127.0.0.1:5432).
The two databases, `nudge_pages_10k` and `nudge_pages_1m`, are built once
and kept: the 1M build takes minutes, so later runs only migrate them (new
indexes and backfills run on the data, as they would on a live portal) and
measure. `--rebuild` drops and builds them again.

The data, generated in SQL (`INSERT … SELECT generate_series`), per size
(N contacts, E = N / 10 enrollments):
- 5 reps; the benchmark's rep owns every contact, the sequence, and sent
  every enrollment; N / 10 companies;
- N contacts: first names from 50, last names from 400 (so a last name
  matches N / 400 contacts), `first.last.n@companyK.example`, lifecycle stage
  lead / sales qualified lead / customer by thirds, a `region` property;
- one 10-step sequence (emails and call tasks) with E enrollments, one real
  enrollment made by `enrollment_create` cloned in SQL: 60 % active (at
  steps 1–10), 25 % finished, 5 % unenrolled on reply, 5 % by hand, 3 %
  bounced, 2 % paused; 10 enrollment steps each (10 × E in all: 1,000,000
  at the large size), one outbound message per email step executed, a
  `sent` event per message, opens on 40 % of them, clicks on 10 %, a reply
  for each enrollment that ended on a reply, a bounce for each bounced one,
  and a task per call step reached (done, or open at the current step);
- an active list "lifecycle stage is lead or sales qualified lead"
  (two thirds of the contacts) and a static list of 1,000.

Each request is made with Django's test client in this process, logged in
as the rep (not an admin): 3 warm-up requests, then `--runs` timed ones;
median and p95 (nearest rank) in ms, and the number of queries of one more
request. Each size runs in its own process (its own database connection).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (
    PG_SERVER,
    PYTHON,
    REPO,
    _admin_execute,
    analyze,
    arguments,
    bulk_load,
    code_version,
    load,
    machine,
    make_companies,
    make_reps,
    median,
    percentile,
    portal,
    sql,
    sql_rows,
    table,
    timed,
    today,
    verdict,
    wait_for_quiet,
    write_readme,
)

SIZES = {"10k": 10_000, "1m": 1_000_000}
STEPS = 10
GOAL_P95_MS = 100.0
GOAL_RATIO = 1.5
FIRST_NAMES = [
    "Ann", "Ben", "Cara", "Dan", "Eve", "Finn", "Gina", "Hugo", "Ida", "Jon", "Kai", "Lena", "Mika", "Nora",
    "Otto", "Pia", "Quinn", "Rosa", "Sami", "Tuula", "Ulla", "Vera", "Walt", "Xenia", "Yrjo", "Zoe", "Aino",
    "Eino", "Helmi", "Iiris", "Juho", "Kaisa", "Lauri", "Maija", "Niko", "Oona", "Paavo", "Riikka", "Sanni",
    "Teemu", "Veeti", "Aleksi", "Emma", "Leo", "Olivia", "Noah", "Sofia", "Elias", "Amanda", "Onni",
]
SYLLABLES_A = ["Vir", "Kor", "Lah", "Mak", "Nie", "Sal", "Tur", "Hei", "Ran", "Lin",
               "Ber", "Mar", "Sto", "Ols", "Han", "Pet", "Wal", "Kin", "Ash", "Dor"]
SYLLABLES_B = ["tanen", "hola", "kinen", "onen", "mela", "berg", "ström", "sson", "ley", "ford",
               "wood", "ton", "man", "vaara", "lund", "koski", "mäki", "salo", "niemi", "ridge"]
# 20 × 20 = 400 last names; the one searched for:
SEARCH_NAME = "Korkoski"


def _text_array(values: list[str]) -> str:
    return "ARRAY[" + ",".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _database(size: str) -> str:
    return f"nudge_pages_{size}"


def _exists(name: str) -> bool:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as connection:
        return connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


# --- Building one size -------------------------------------------------------------------------


def build(contacts: int) -> None:
    from contacts_app.models import ContactList, ListMembership
    from sequences_app.counters import sequence_counts_rebuild
    from sequences_app.models import Enrollment, Sequence, SequenceStep, StepType
    from sequences_app.services.enrollments import enrollment_create

    enrollments = contacts // 10
    companies = contacts // 10
    portal()
    reps = make_reps(5)
    rep = reps[0]
    firsts, syllables_a, syllables_b = map(_text_array, (FIRST_NAMES, SYLLABLES_A, SYLLABLES_B))
    with timed(f"{companies:,} companies and {contacts:,} contacts"):
        make_companies(companies)
        with bulk_load("contacts_app_contact"):
            sql(
                f"""
                INSERT INTO contacts_app_contact (
                    email, first_name, last_name, job_title, phone, lifecycle_stage, time_zone, properties,
                    email_bounced, bounce_reason, unsubscribed, unsubscribed_sales, marked_spam,
                    created_at, updated_at, company_id, owner_id)
                SELECT lower(f.first || '.' || l.last || '.' || n || '@company' || (n %% %(companies)s + 1)
                             || '.example'),
                       f.first, l.last, 'Head of Things', '+358 40 ' || n,
                       (ARRAY['lead', 'salesqualifiedlead', 'customer'])[n %% 3 + 1],
                       (ARRAY['Europe/Helsinki', 'Europe/London', 'America/New_York', ''])[n %% 4 + 1],
                       jsonb_build_object('region', (ARRAY['EMEA', 'NA', 'APAC', 'LATAM', 'Nordics'])[n %% 5 + 1]),
                       false, '', false, false, false,
                       now() - (%(count)s - n) * interval '1 second', now(),
                       (SELECT min(id) FROM contacts_app_company) + (n %% %(companies)s), %(owner)s
                FROM generate_series(1, %(count)s) AS n
                CROSS JOIN LATERAL (SELECT ({firsts})[(n::bigint * 7919) %% {len(FIRST_NAMES)} + 1] AS first) AS f
                CROSS JOIN LATERAL (SELECT ({syllables_a})[(n::bigint * 104729 / 7) %% {len(SYLLABLES_A)} + 1]
                                        || ({syllables_b})[(n::bigint * 15485863 / 11) %% {len(SYLLABLES_B)} + 1]
                                    AS last) AS l
                """,  # noqa: S608  (only constants are formatted in)
                {"count": contacts, "companies": companies, "owner": rep.pk},
            )

    sequence = Sequence.objects.create(name="Big outbound", owner=rep, visibility="everyone")
    SequenceStep.objects.bulk_create(
        [
            SequenceStep(sequence=sequence, order=order, type=StepType.AUTOMATED_EMAIL, delay_days=min(order - 1, 2),
                         subject="Hello {{ contact.first_name }}" if order == 1 else "",
                         body_html=f"<p>Hi {{{{ contact.first_name }}}}, note {order} from {{{{ company.name }}}}.</p>")
            if order % 2 else
            SequenceStep(sequence=sequence, order=order, type=StepType.CALL, delay_days=1,
                         title="Call {{ contact.first_name }}")
            for order in range(1, STEPS + 1)
        ]
    )
    first_contact = sql_rows("SELECT min(id) FROM contacts_app_contact")[0][0]
    template = enrollment_create(sequence=sequence, caller=rep, contact_ids=[first_contact]).enrolled[0].id
    spread = contacts // enrollments
    tables = ("sequences_app_enrollment", "sequences_app_enrollmentstep", "mailboxes_app_outboundmessage",
              "sequences_app_emailevent", "sequences_app_task")
    with timed(f"{enrollments:,} enrollments, {enrollments * STEPS:,} steps, messages, events, tasks"), \
            bulk_load(*tables):
        sql(
            """
            INSERT INTO sequences_app_enrollment (
                time_zone, status, reason, snapshot, token_values, step_overrides, start_step, current_step,
                next_action_at, paused_at, resume_at, is_bulk, version, enrolled_at, ended_at, updated_at,
                contact_id, enrolled_by_id, mailbox_id, sender_id, sequence_id)
            SELECT 'Europe/Helsinki', x.status, x.reason, t.snapshot, t.token_values, t.step_overrides, 1,
                   CASE WHEN x.status = 'finished' THEN %(steps)s ELSE n %% %(steps)s + 1 END,
                   CASE WHEN x.status = 'active' THEN now() + (n %% 20160) * interval '1 minute' END,
                   CASE WHEN x.status = 'paused' THEN now() - interval '1 day' END, NULL,
                   false, 3, now() - (n %% 60) * interval '1 day' - n * interval '1 second',
                   CASE WHEN x.status NOT IN ('active', 'paused') THEN now() - (n %% 30) * interval '1 day' END,
                   now(), %(first)s + n * %(spread)s, t.sender_id, t.mailbox_id, t.sender_id, t.sequence_id
            FROM generate_series(1, %(count)s - 1) AS n
            CROSS JOIN LATERAL (SELECT CASE
                WHEN n %% 100 < 60 THEN 'active' WHEN n %% 100 < 85 THEN 'finished'
                WHEN n %% 100 < 95 THEN 'unenrolled' WHEN n %% 100 < 98 THEN 'bounced' ELSE 'paused' END AS status,
                CASE WHEN n %% 100 BETWEEN 85 AND 89 THEN 'REPLIED' WHEN n %% 100 BETWEEN 90 AND 94 THEN 'MANUAL'
                     WHEN n %% 100 BETWEEN 95 AND 97 THEN 'BOUNCED' WHEN n %% 100 >= 98 THEN 'MANUAL' END AS reason
                ) AS x
            CROSS JOIN sequences_app_enrollment t
            WHERE t.id = %(template)s
            """,
            {"count": enrollments, "first": first_contact, "spread": spread, "template": template, "steps": STEPS},
        )
        sql("DELETE FROM sequences_app_enrollmentstep")
        # Steps before the current one were executed (emails sent, tasks done), the current one is
        # scheduled (an open task for a call) unless the enrollment ended, later ones pending.
        sql(
            """
            INSERT INTO sequences_app_enrollmentstep (enrollment_id, "order", type, status, scheduled_for, done_at,
                                                      detail)
            SELECT e.id, s.n, CASE WHEN s.n %% 2 = 1 THEN 'automated_email' ELSE 'call' END,
                   CASE WHEN s.n < e.current_step OR (e.status = 'finished')
                             THEN CASE WHEN s.n %% 2 = 1 THEN 'sent' ELSE 'task_done' END
                        WHEN s.n = e.current_step AND e.status IN ('active', 'paused')
                             THEN CASE WHEN s.n %% 2 = 1 THEN 'scheduled' ELSE 'task_open' END
                        ELSE 'pending' END,
                   e.enrolled_at + s.n * interval '2 days',
                   CASE WHEN s.n < e.current_step OR e.status = 'finished' THEN e.enrolled_at + s.n * interval '2 days'
                   END, ''
            FROM sequences_app_enrollment e CROSS JOIN generate_series(1, %(steps)s) AS s(n)
            """,
            {"steps": STEPS},
        )
        sql(
            """
            INSERT INTO mailboxes_app_outboundmessage (
                step_order, message_id, from_email, to_email, subject, in_reply_to, "references", is_bulk, state,
                next_attempt_at, attempts, last_error, smtp_response, created_at, sent_at, enrollment_id,
                mailbox_id, sender_id)
            SELECT s."order", '<bench.' || e.id || '.' || s."order" || '@nudge.example>', 'rep0@nudge.example',
                   'contact' || e.contact_id || '@x.example', 'Hello', '', '', false, 'sent', NULL, 1, '',
                   '250 ok', s.done_at, s.done_at, e.id, e.mailbox_id, e.sender_id
            FROM sequences_app_enrollmentstep s JOIN sequences_app_enrollment e ON e.id = s.enrollment_id
            WHERE s.status = 'sent'
            """
        )
        sql(
            """
            INSERT INTO sequences_app_emailevent (kind, sequence_id, enrollment_id, contact_id, message_id,
                                                  step_order, url, detail, occurred_at)
            SELECT k.kind, e.sequence_id, e.id, e.contact_id, m.id, m.step_order,
                   CASE WHEN k.kind = 'click' THEN 'https://nudge.example/guide' ELSE '' END, '{}'::jsonb,
                   m.sent_at + k.after
            FROM mailboxes_app_outboundmessage m
            JOIN sequences_app_enrollment e ON e.id = m.enrollment_id
            CROSS JOIN LATERAL (VALUES ('sent', interval '0'), ('open', interval '1 hour'),
                                       ('click', interval '2 hours')) AS k(kind, after)
            WHERE k.kind = 'sent' OR (k.kind = 'open' AND m.id %% 10 < 4) OR (k.kind = 'click' AND m.id %% 10 = 0)
            """
        )
        for kind, reason in (("reply", "REPLIED"), ("bounce", "BOUNCED")):
            sql(
                """
                INSERT INTO sequences_app_emailevent (kind, sequence_id, enrollment_id, contact_id, message_id,
                                                      step_order, url, detail, occurred_at)
                SELECT DISTINCT ON (e.id) %s, e.sequence_id, e.id, e.contact_id, m.id, m.step_order, '',
                       '{}'::jsonb, e.ended_at
                FROM sequences_app_enrollment e JOIN mailboxes_app_outboundmessage m ON m.enrollment_id = e.id
                WHERE e.reason = %s
                ORDER BY e.id, m.step_order DESC
                """,
                [kind, reason],
            )
        sql(
            """
            INSERT INTO sequences_app_task (step_order, type, title, notes, priority, due_at, status, completed_at,
                                            reminder_sent_at, created_at, contact_id, enrollment_id, owner_id)
            SELECT s."order", 'call', 'Call them', '', 'none', s.scheduled_for,
                   CASE WHEN s.status = 'task_done' THEN 'done' ELSE 'open' END, s.done_at, s.done_at,
                   s.scheduled_for, e.contact_id, e.id, e.sender_id
            FROM sequences_app_enrollmentstep s JOIN sequences_app_enrollment e ON e.id = s.enrollment_id
            WHERE s.status IN ('task_done', 'task_open')
            """
        )
    # The bulk load ran with triggers off (session_replication_role = replica): recount, as the migration does.
    with timed("sequence counts recounted"):
        sequence_counts_rebuild()
    active_list = ContactList.objects.create(
        name="Leads and SQLs", kind=ContactList.Kind.ACTIVE, created_by=rep,
        filters=[{"field": "lifecycle_stage", "operator": "in", "value": ["lead", "salesqualifiedlead"]}],
    )
    static_list = ContactList.objects.create(name="Trade show", kind=ContactList.Kind.STATIC, created_by=rep)
    ListMembership.objects.bulk_create(
        [ListMembership(contact_list=static_list, contact_id=first_contact + n * spread) for n in range(1000)]
    )
    assert Enrollment.objects.filter(sequence=sequence).count() == enrollments
    with timed("VACUUM ANALYZE"):
        analyze()
    print(f"  lists {active_list.pk} (active), {static_list.pk} (static)", flush=True)


# --- Measuring one size ----------------------------------------------------------------------------


def requests() -> list[tuple[str, str]]:
    """(label, URL) of every page and list API measured, with the ids of this database."""
    from contacts_app.models import Contact, ContactList
    from sequences_app.models import Sequence

    sequence = Sequence.objects.get(name="Big outbound")
    active = ContactList.objects.get(kind="active", name="Leads and SQLs")
    static = ContactList.objects.get(kind="static", name="Trade show")
    contact = Contact.objects.filter(enrollments__sequence=sequence).order_by("-pk").first()
    rep = sequence.owner_id
    s, a = sequence.pk, active.pk
    # Where page 149 ends, as its "Next" link says (keyset pages; config.paging).
    last = Contact.objects.order_by("-created_at", "-id")[149 * 50 - 1]
    after = urlencode({"after": f"{last.created_at.isoformat()}~{last.pk}"})
    return [
        ("`/contacts/`", "/contacts/"),
        (f"`/contacts/?q={SEARCH_NAME}`", f"/contacts/?q={SEARCH_NAME}"),
        ("`/contacts/?q=ann korko` (two words)", "/contacts/?q=ann+korko"),
        ("`/contacts/?stage=customer&owner=<rep>`", f"/contacts/?stage=customer&owner={rep}"),
        ("`/contacts/?page=150` (deep page by offset)", "/contacts/?page=150"),
        ("`/contacts/?page=150&after=…` (deep page, its Next link)", f"/contacts/?page=150&{after}"),
        ("`/enroll/contacts/?q=<name>` (enrollment picker)", f"/enroll/contacts/?q={SEARCH_NAME}"),
        ("`/lists/`", "/lists/"),
        ("`/lists/<active list, ⅔ of contacts>/`", f"/lists/{a}/"),
        ("`/lists/<static list of 1,000>/`", f"/lists/{static.pk}/"),
        ("`/sequences/`", "/sequences/"),
        ("`/sequences/<id>/` (E enrolled)", f"/sequences/{s}/"),
        ("`/sequences/<id>/?page=30`", f"/sequences/{s}/?page=30"),
        ("`/sequences/<id>/performance/`", f"/sequences/{s}/performance/"),
        ("`/api/v1/contacts/`", "/api/v1/contacts/"),
        (f"`/api/v1/contacts/?search={SEARCH_NAME}`", f"/api/v1/contacts/?search={SEARCH_NAME}"),
        ("`/api/v1/contacts/?page=150`", "/api/v1/contacts/?page=150"),
        ("`/api/v1/lists/`", "/api/v1/lists/"),
        ("`/api/v1/lists/<active>/members/`", f"/api/v1/lists/{a}/members/"),
        ("`/api/v1/sequences/<id>/performance/`", f"/api/v1/sequences/{s}/performance/"),
        ("`/api/v1/enrollments/?sequence=<id>`", f"/api/v1/enrollments/?sequence={s}"),
        ("`/contacts/<id>/`", f"/contacts/{contact.pk}/"),
        ("`/tasks/`", "/tasks/"),
        ("`/api/v1/contacts/<id>/`", f"/api/v1/contacts/{contact.pk}/"),
    ]


def measure_size(size: str, runs: int, out: Path) -> None:
    """Runs in its own process: Django set up on this size's database."""
    os.environ["DATABASE_URL"] = f"{PG_SERVER}/{_database(size)}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from sequences_app.models import Sequence

    settings.ALLOWED_HOSTS = ["*"]
    if not sql_rows("SELECT to_regclass('contacts_app_contact')")[0][0]:
        call_command("migrate", verbosity=0)
        build(SIZES[size])
    else:
        with timed("migrate"):
            call_command("migrate", verbosity=0)
    rep = Sequence.objects.get(name="Big outbound").owner
    client = Client()
    client.force_login(rep)
    results = []
    for label, url in requests():
        for _ in range(3):
            answer = client.get(url)
            assert answer.status_code == 200, (url, answer.status_code, answer.content[:500])
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        slowest = max(captured.captured_queries, key=lambda q: float(q["time"]))
        results.append(
            {"label": label, "url": url, "median": median(times), "p95": percentile(times, 95),
             "queries": len(captured.captured_queries), "slowest_sql": slowest["sql"],
             "slowest_ms": float(slowest["time"]) * 1000}
        )
        print(f"  [{size}] {label}: median {results[-1]['median']:.1f} ms, p95 {results[-1]['p95']:.1f} ms, "
              f"{results[-1]['queries']} queries", flush=True)
    counts = sql_rows(
        "SELECT (SELECT count(*) FROM contacts_app_contact), (SELECT count(*) FROM sequences_app_enrollment), "
        "(SELECT count(*) FROM sequences_app_enrollmentstep), (SELECT count(*) FROM mailboxes_app_outboundmessage), "
        "(SELECT count(*) FROM sequences_app_emailevent), (SELECT count(*) FROM sequences_app_task)"
    )[0]
    out.write_text(json.dumps({"results": results, "rows": counts}))


def explain(size: str, sql_text: str) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of one captured query on this size's database."""
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/{_database(size)}") as connection:
        rows = connection.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql_text).fetchall()
        connection.rollback()
    return "\n".join(row[0] for row in rows)


# --- The two sizes side by side ----------------------------------------------------------------------


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--rebuild", action="store_true", help="drop and build both databases again")
    parser.add_argument("--only", choices=sorted(SIZES), help=argparse_hidden())
    parser.add_argument("--out", help=argparse_hidden())
    parser.add_argument("--section", default="pages", help="README section key (default pages)")
    parser.add_argument("--title", default="after", help="what this run measures, e.g. before/after")
    args = parser.parse_args()
    if args.only:
        measure_size(args.only, args.runs, Path(args.out))
        return
    wait_for_quiet(args.quiet_load, args.quiet_wait)
    wall = time.perf_counter()
    load_before = load()
    figures = {}
    for size in SIZES:
        name = _database(size)
        if args.rebuild or not _exists(name):
            _admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            _admin_execute(f"CREATE DATABASE {name}")
        out = REPO / "benchmarks" / f".pages-{size}.json"
        print(f"{size}: database {name}", flush=True)
        subprocess.run([PYTHON, __file__, "--only", size, "--runs", str(args.runs), "--out", str(out)],
                       check=True, cwd=REPO)
        figures[size] = json.loads(out.read_text())
        out.unlink()
    small, large = figures["10k"]["results"], figures["1m"]["results"]
    rows = []
    for s, big in zip(small, large, strict=True):
        ratio = big["p95"] / s["p95"]
        ok = big["p95"] <= GOAL_P95_MS and ratio <= GOAL_RATIO
        rows.append((s["label"], f"{s['median']:.1f} / {s['p95']:.1f}", f"{big['median']:.1f} / {big['p95']:.1f}",
                     f"{ratio:.2f}", f"{s['queries']} / {big['queries']}", verdict(ok)))
    result = table(
        ["request", "10k: median / p95 ms", "1M: median / p95 ms", "p95 ×", "queries", "p95 ≤ 100 ms and ≤ 1.5 ×"],
        rows,
    )
    worst = max(large, key=lambda r: r["p95"])
    plan = explain("1m", worst["slowest_sql"])
    print()
    print(result)
    print(f"\nrows at 10k: {figures['10k']['rows']}, at 1M: {figures['1m']['rows']}")
    print(f"\nworst at 1M: {worst['label']} ({worst['p95']:.1f} ms p95); its slowest query "
          f"({worst['slowest_ms']:.1f} ms):\n{worst['slowest_sql']}\n\n{plan}")
    print(f"(total wall time {time.perf_counter() - wall:.0f} s)")
    if args.readme:
        c, e, st, m, ev, t = figures["1m"]["rows"]
        write_readme(
            f"{args.section}",
            f"""## Pages and lists at a million contacts (issue 16) — `benchmarks/pages.py` ({args.title})

`.venv/bin/python benchmarks/pages.py --readme`

Measured {today()} on {machine()}, {code_version()}; load average (1/5 min)
{load_before} before, {load()} after (other work shared the 2 cores).

Django's test client in the benchmark's process, logged in as a rep (not an
admin) who owns every contact and sent every enrollment; 3 warm-up requests,
then {args.runs} timed: median / p95 (nearest rank) in ms, and queries per request
at 10k / 1M. Large database: {c:,} contacts, {e:,} enrollments in one 10-step
sequence, {st:,} enrollment steps, {m:,} sent messages, {ev:,} email events,
{t:,} tasks; the small one a hundredth of it (10,000 contacts, 1,000 enrollments).
Goal: p95 ≤ {GOAL_P95_MS:.0f} ms at 1M and ≤ {GOAL_RATIO} × the 10k p95.

{result}

What changed (issue 16; the "before" figures are the section above): trigram GIN
indexes (`pg_trgm`) on UPPER(first name, last name, email) for every contacts search; a
newest-first (created_at, id) index for every list of contacts and a (sequence, enrolled_at, id)
one for a sequence's enrolled list; UPPER(lifecycle_stage) for active-list filters; every count
on a page or in the API exact up to 10,000 and "10,000+" (`count_capped`, `size_capped`) beyond;
a filter with few matches counted first and then sorted from its matches rather than found by
walking an index; "Next" links that carry where a page ended (keyset) on the contacts index,
list pages and the sequence page; and the sequence figures (by status, sent, opened, clicked,
replied, per step, the 30-day chart) read from running counts that database triggers keep in
the same transaction as the rows (`sequences_app/counters.py`).

The databases `nudge_pages_10k` and `nudge_pages_1m` are kept between runs (`--rebuild` makes
them anew); a run migrates them first, so new indexes are built on the data as on a live portal.

The slowest request at 1M, {worst['label']} ({worst['p95']:.1f} ms p95), and the plan of its
slowest query ({worst['slowest_ms']:.1f} ms when captured):

```
{worst['slowest_sql']}

{plan}
```
""",
        )


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
