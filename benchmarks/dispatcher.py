"""Issue 4 benchmark: the scheduler tick claiming 10,000 due enrollments among 1,000,000 versus among 20,000.

    .venv/bin/python benchmarks/dispatcher.py [--repeats 5] [--readme] [--keep]

(needs PostgreSQL at BENCH_PG and Redis at BENCH_REDIS, default
redis://127.0.0.1:6379/13 — its queue is purged; the script creates,
migrates and drops the database `nudge_bench_dispatch`).

The database first holds 20,000 enrollments, 10,000 of them due, then
980,000 more that are not due are added (the same 10,000 stay due):
1,000,000. Of the enrollments that are not due, by `n % 100`: 60 % finished,
15 % unenrolled, 3 % bounced/failed, 3 % paused (some with an out-of-office
resume date ahead), 19 % active with their next action within 14 days.
Each not-due enrollment has a sent first email (one outbound message; 1 % of
them queued for later instead), and 30 % have a task (open ones due later):
the other queries of a tick meet tables of the same scale. The enrollments
are clones, in SQL, of one made by `enrollment_create` (real snapshot,
~1 KB), without a contact (the tick never reads contacts).

Measured at each size, `--repeats` times (the 10,000 are made due again and
the table vacuumed between repeats, untimed):
A. `enrollments_claim_due(limit=10_000)`: one claim of all 10,000;
B. the same claim plus what `nudge.scheduler_tick` does with the claimed
   pairs: 200 chunks of 50 published as `nudge.run_steps` tasks to Redis;
C. the full `scheduler_tick` with no-op run/send callbacks, as often as it
   takes to claim the 10,000 (a tick claims up to `SCHEDULER_MAX_CLAIMS_PER_TICK`
   = 2,500, in rounds of `dispatch.BATCH` = 500);
D. the full `scheduler_tick` when nothing is due (100 ticks).
And EXPLAIN (ANALYZE, BUFFERS) of the claim query at 1,000,000 rows, to show
the partial index `enrollment_due_idx` serving it.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (
    REDIS_URL,
    analyze,
    arguments,
    bulk_load,
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
    sql_rows,
    table,
    timed,
    today,
    verdict,
    wait_for_quiet,
    write_readme,
)

DUE = 10_000
SMALL = 20_000
LARGE = 1_000_000
REPS = 100
EMPTY_TICKS = 100


def build_base() -> dict:
    from sequences_app.models import Enrollment
    from sequences_app.services.enrollments import enrollment_create

    portal()
    reps = make_reps(REPS)
    make_companies(1)
    make_contacts(1, companies=1)
    sequence = make_sequence(reps[0])
    contact_id = sql_rows("SELECT id FROM contacts_app_contact")[0][0]
    template = enrollment_create(sequence=sequence, caller=reps[0], contact_ids=[contact_id]).enrolled[0].id
    # The template itself is history, not due work.
    Enrollment.objects.filter(pk=template).update(status="finished", next_action_at=None)
    sql("CREATE TABLE bench_due (id bigint PRIMARY KEY, at timestamptz NOT NULL)")
    return {"template": template, "reps": [rep.pk for rep in reps]}


def add_enrollments(base: dict, *, first_n: int, count: int, due: int) -> None:
    """Enrollments n = first_n … first_n+count-1; the first `due` of them are due (up to 10 minutes late)."""
    senders = "ARRAY[" + ",".join(map(str, base["reps"])) + "]::bigint[]"
    sql(
        f"""
        INSERT INTO sequences_app_enrollment (
            time_zone, status, reason, snapshot, token_values, step_overrides, start_step, current_step,
            next_action_at, paused_at, resume_at, is_bulk, version, enrolled_at, ended_at, updated_at,
            contact_id, enrolled_by_id, mailbox_id, sender_id, sequence_id)
        SELECT t.time_zone, x.status,
               CASE x.status WHEN 'unenrolled' THEN 'MANUAL' WHEN 'bounced' THEN 'BOUNCED'
                             WHEN 'failed' THEN 'SEND_FAILED' WHEN 'paused' THEN 'MANUAL' END,
               t.snapshot, t.token_values, t.step_overrides, 1,
               CASE WHEN x.status IN ('finished') THEN 3 WHEN n < %(first)s + %(due)s THEN 1 ELSE 2 END,
               CASE WHEN n < %(first)s + %(due)s THEN now() - (n %% 600) * interval '1 second'
                    WHEN x.status = 'active' THEN now() + interval '1 hour' + (n %% 20160) * interval '1 minute'
               END,
               CASE WHEN x.status = 'paused' THEN now() - interval '1 day' END,
               CASE WHEN x.status = 'paused' AND n %% 3 = 0 THEN now() + (n %% 14 + 1) * interval '1 day' END,
               false, 3, now() - (n %% 365) * interval '1 day',
               CASE WHEN x.status NOT IN ('active', 'paused') THEN now() - (n %% 300) * interval '1 day' END,
               now(), NULL, s.id, m.id, s.id, t.sequence_id
        FROM generate_series(%(first)s, %(first)s + %(count)s - 1) AS n
        CROSS JOIN LATERAL (SELECT CASE
            WHEN n < %(first)s + %(due)s THEN 'active'
            WHEN n %% 100 < 60 THEN 'finished'
            WHEN n %% 100 < 75 THEN 'unenrolled'
            WHEN n %% 100 < 77 THEN 'bounced'
            WHEN n %% 100 < 78 THEN 'failed'
            WHEN n %% 100 < 81 THEN 'paused'
            ELSE 'active' END AS status) AS x
        CROSS JOIN sequences_app_enrollment t
        JOIN accounts_app_user s ON s.id = ({senders})[n %% {REPS} + 1]
        JOIN mailboxes_app_mailbox m ON m.owner_id = s.id AND m.is_primary
        WHERE t.id = %(template)s
        """,  # noqa: S608  (only ids and constants are formatted in)
        {"first": first_n, "count": count, "due": due, "template": base["template"]},
    )
    # Rows just added are those above the previous maximum id.
    low = sql_rows("SELECT coalesce(max(enrollment_id), 0) FROM mailboxes_app_outboundmessage")[0][0]
    low = max(low, base["template"])
    if due:
        sql(
            "INSERT INTO bench_due SELECT id, next_action_at FROM sequences_app_enrollment "
            "WHERE id > %s AND status = 'active' AND next_action_at <= now()",
            [low],
        )
    sql(
        """
        INSERT INTO mailboxes_app_outboundmessage (
            step_order, message_id, from_email, to_email, subject, in_reply_to, "references", is_bulk, state,
            next_attempt_at, attempts, last_error, smtp_response, created_at, sent_at, enrollment_id, mailbox_id,
            sender_id)
        SELECT 1, '<bench.' || e.id || '.1@nudge.example>', 'rep@nudge.example', 'contact' || e.id || '@x.example',
               'Great meeting you', '', '', false,
               CASE WHEN e.id %% 100 = 7 THEN 'queued' ELSE 'sent' END,
               CASE WHEN e.id %% 100 = 7 THEN now() + interval '1 day' END,
               1, '', '250 ok', e.enrolled_at,
               CASE WHEN e.id %% 100 = 7 THEN NULL ELSE e.enrolled_at END, e.id, e.mailbox_id, e.sender_id
        FROM sequences_app_enrollment e
        WHERE e.id > %s AND NOT (e.status = 'active' AND e.next_action_at <= now())
        """,
        [low],
    )
    sql(
        """
        INSERT INTO sequences_app_task (
            step_order, type, title, notes, priority, due_at, status, completed_at, reminder_sent_at, created_at,
            contact_id, enrollment_id, owner_id)
        SELECT 2, 'call', 'Call them', '', 'none',
               CASE WHEN e.status = 'active' THEN e.next_action_at ELSE e.enrolled_at + interval '2 days' END,
               CASE WHEN e.status = 'active' THEN 'open' ELSE 'done' END,
               CASE WHEN e.status = 'active' THEN NULL ELSE e.enrolled_at + interval '2 days' END,
               CASE WHEN e.status = 'active' THEN NULL ELSE e.enrolled_at + interval '2 days' END,
               e.enrolled_at, NULL, e.id, e.sender_id
        FROM sequences_app_enrollment e
        WHERE e.id > %s AND e.id %% 10 < 3 AND NOT (e.status = 'active' AND e.next_action_at <= now())
        """,
        [low],
    )


def make_due_again() -> None:
    """Put the 10,000 back as they were (due, up to 10 minutes late) and vacuum the dead rows away."""
    sql(
        "UPDATE sequences_app_enrollment e SET next_action_at = d.at, version = 3 FROM bench_due d WHERE e.id = d.id"
    )
    sql("VACUUM ANALYZE sequences_app_enrollment")


def publisher():
    """What the real tick passes as `run_steps`: publish a `nudge.run_steps` task to Redis."""
    from sequences_app.tasks import run_steps

    return lambda pairs: run_steps.delay(pairs)


def purge() -> None:
    from config.celery import app

    app.control.purge()


def measure(label: str, repeats: int) -> dict:
    from django.utils import timezone

    from sequences_app.scheduling import dispatch

    noop = lambda *_: None  # noqa: E731
    figures: dict[str, list[float]] = {"claim": [], "claim+publish": [], "ticks": [], "tick_count": [], "empty": []}
    for repeat in range(repeats):
        make_due_again()
        started = time.perf_counter()
        claimed = dispatch.enrollments_claim_due(now=timezone.now(), limit=DUE)
        figures["claim"].append((time.perf_counter() - started) * 1000)
        assert len(claimed) == DUE, len(claimed)

        make_due_again()
        send = publisher()
        started = time.perf_counter()
        claimed = dispatch.enrollments_claim_due(now=timezone.now(), limit=DUE)
        for start in range(0, len(claimed), dispatch.CHUNK):
            send(claimed[start : start + dispatch.CHUNK])
        figures["claim+publish"].append((time.perf_counter() - started) * 1000)
        assert len(claimed) == DUE
        purge()

        make_due_again()
        total, ticks = 0, 0
        started = time.perf_counter()
        while total < DUE:
            report = dispatch.scheduler_tick(
                now=timezone.now(), run_steps=noop, send_messages=noop, send_reminders=noop
            )
            total += report.steps
            ticks += 1
            assert report.steps, "a tick claimed nothing before the 10,000 were claimed"
        figures["ticks"].append((time.perf_counter() - started) * 1000)
        figures["tick_count"].append(ticks)

        if repeat == 0:
            # Nothing is due now: the 10,000 carry a 2-minute lease.
            empty = []
            for _ in range(EMPTY_TICKS):
                started = time.perf_counter()
                report = dispatch.scheduler_tick(
                    now=timezone.now(), run_steps=noop, send_messages=noop, send_reminders=noop
                )
                empty.append((time.perf_counter() - started) * 1000)
                assert not report.steps
                assert not report.messages
                assert not report.unknown
                assert not report.resumed
                assert not report.reminders
            figures["empty"] = empty
        print(
            f"  [{label}] repeat {repeat + 1}: claim {figures['claim'][-1]:.0f} ms, claim+publish "
            f"{figures['claim+publish'][-1]:.0f} ms, {ticks} ticks {figures['ticks'][-1]:.0f} ms",
            flush=True,
        )
    return figures


def explain() -> tuple[str, str, str, list[tuple[float, str]]]:
    """EXPLAIN ANALYZE of the claim's SELECT (as a tick runs it, and for 10,000), and an empty tick's queries."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from sequences_app.scheduling import dispatch

    make_due_again()
    plans = []
    for limit in (dispatch.BATCH, DUE):
        with CaptureQueriesContext(connection) as captured:
            try:
                with transaction.atomic():
                    dispatch.enrollments_claim_due(now=timezone.now(), limit=limit)
                    raise _Rollback
            except _Rollback:
                pass
        select = next(q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT"))
        with transaction.atomic():
            rows = sql_rows("EXPLAIN (ANALYZE, BUFFERS) " + select)
            transaction.set_rollback(True)
        plans.append(select + "\n\n" + "\n".join(row[0] for row in rows))
    # Where a claim's time goes: the UPDATE that leases the 10,000 (rolled back).
    make_due_again()
    with transaction.atomic():
        rows = sql_rows(
            "EXPLAIN (ANALYZE, BUFFERS, WAL) UPDATE sequences_app_enrollment SET next_action_at = now() + "
            "interval '2 minutes', version = version + 1, updated_at = now() WHERE id IN (SELECT id FROM bench_due)"
        )
        transaction.set_rollback(True)
    plans.append("\n".join(row[0] for row in rows))
    # An empty tick, query by query.
    noop = lambda *_: None  # noqa: E731
    dispatch.enrollments_claim_due(now=timezone.now(), limit=DUE)
    with CaptureQueriesContext(connection) as captured:
        dispatch.scheduler_tick(now=timezone.now(), run_steps=noop, send_messages=noop, send_reminders=noop)
    queries = [(float(q["time"]) * 1000, q["sql"]) for q in captured.captured_queries]
    return plans[0], plans[1], plans[2], queries


class _Rollback(Exception):
    pass


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    wait_for_quiet(args.quiet_load, args.quiet_wait)
    os.environ["CELERY_BROKER_URL"] = REDIS_URL
    wall = time.perf_counter()
    load_before = load()
    print("building the data …", flush=True)
    fresh_database("nudge_bench_dispatch", keep=args.keep)
    from django.conf import settings

    purge()
    base = build_base()
    with timed(f"{SMALL:,} enrollments ({DUE:,} due) with messages and tasks"):
        add_enrollments(base, first_n=1, count=SMALL, due=DUE)
        analyze()
    assert sql_rows("SELECT count(*) FROM bench_due")[0][0] == DUE
    small = measure(f"{SMALL:,}", args.repeats)
    with timed(f"{LARGE - SMALL:,} more enrollments with messages and tasks"):
        with bulk_load("sequences_app_enrollment", "mailboxes_app_outboundmessage", "sequences_app_task"):
            add_enrollments(base, first_n=SMALL + 1, count=LARGE - SMALL, due=0)
        analyze()
    total = sql_rows("SELECT count(*) FROM sequences_app_enrollment")[0][0]
    print(f"  enrollments now: {total:,}", flush=True)
    large = measure(f"{LARGE:,}", args.repeats)
    plan_tick, plan_all, plan_update, empty_queries = explain()

    rows = []
    for key, label in (
        ("claim", "A. enrollments_claim_due(limit=10,000)"),
        ("claim+publish", "B. A + 200 `nudge.run_steps` tasks published to Redis"),
        ("ticks", "C. full scheduler_tick × n until 10,000 claimed"),
    ):
        m_small, m_large = median(small[key]), median(large[key])
        ratio = m_large / m_small
        rows.append(
            (label, f"{m_small:.0f}", f"{m_large:.0f}", f"{ratio:.2f}", "≤ 1.5", verdict(ratio <= 1.5))
        )
    ticks = int(median(large["tick_count"]))
    empty_s, empty_l = small["empty"], large["empty"]
    rows.append(
        (
            f"D. empty scheduler_tick (median / p95 / max of {EMPTY_TICKS})",
            f"{median(empty_s):.1f} / {percentile(empty_s, 95):.1f} / {max(empty_s):.1f}",
            f"{median(empty_l):.1f} / {percentile(empty_l, 95):.1f} / {max(empty_l):.1f}",
            "",
            "≤ 20 ms",
            verdict(percentile(empty_l, 95) <= 20),
        )
    )
    result = table(["measure (ms, median of repeats)", f"among {SMALL:,}", f"among {LARGE:,}", "ratio", "goal",
                    "result"], rows)
    empty_table = table(
        ["ms", "query of an empty tick (1,000,000 enrollments)"],
        [(f"{ms:.2f}", "`" + statement[:150].replace("|", "\\|") + " …`") for ms, statement in empty_queries],
    )
    index_used = "enrollment_due_idx" in plan_tick and "enrollment_due_idx" in plan_all
    print()
    print(result)
    print(f"\n(C took {ticks} ticks of at most {settings.SCHEDULER_MAX_CLAIMS_PER_TICK:,} claims each)")
    print("\nEXPLAIN ANALYZE, claim as a tick runs it (LIMIT 500), 1,000,000 enrollments:\n" + plan_tick)
    print("\nEXPLAIN ANALYZE, claim of 10,000:\n" + plan_all)
    print("\nEXPLAIN ANALYZE, the UPDATE leasing 10,000:\n" + plan_update)
    print("\nqueries of an empty tick:\n" + empty_table)
    print(f"\npartial index enrollment_due_idx used: {index_used}")
    print(f"(total wall time {time.perf_counter() - wall:.0f} s)")

    if args.readme:
        write_readme(
            "dispatcher",
            f"""## Dispatcher scaling (issue 4) — `benchmarks/dispatcher.py`

`.venv/bin/python benchmarks/dispatcher.py --readme`

Measured {today()} on {machine()}, {code_version()}; load average (1/5 min)
{load_before} before, {load()} after (other work shared the 2 cores). Redis as the broker.

10,000 due enrollments among {SMALL:,}, then among {LARGE:,} (980,000 not-due
rows added: finished, unenrolled, bounced, paused, active later; plus one
outbound message per enrollment and a task for 30 %), `VACUUM ANALYZE`d.
Median of {args.repeats} repeats; between repeats the 10,000 are made due again and the table
vacuumed (untimed). A claims all 10,000 in one `enrollments_claim_due`; B adds
what the tick then does with them (200 × `run_steps.delay`); C is the real
`scheduler_tick` (no-op callbacks), which claims up to
{settings.SCHEDULER_MAX_CLAIMS_PER_TICK:,} per tick in rounds of 500, so it takes {ticks} ticks; D is a tick
with nothing due.

{result}

The claim's SELECT at 1,000,000 enrollments uses the partial index
`enrollment_due_idx` ({'yes' if index_used else 'NO'}):

```
{plan_tick}
```

Most of a 10,000-claim is the UPDATE that leases them: every row is rewritten
whole (its ~1.5 KB snapshot included) with a new entry in each of the table's
11 indexes, as `next_action_at` is indexed (no HOT update):

```
{plan_update}
```

The queries of one empty tick at 1,000,000 enrollments (times from Django's
query capture, which rounds):

{empty_table}
""",  # noqa: S608  (Markdown, not SQL)
        )


if __name__ == "__main__":
    main()
