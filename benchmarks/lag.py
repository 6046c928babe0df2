"""Issue 4 benchmark: due-to-accepted lag at a steady load below the limits, real beat + real worker.

    .venv/bin/python benchmarks/lag.py [--rate 10] [--seconds 180] [--tick 5] [--readme] [--keep]

(needs PostgreSQL at BENCH_PG and Redis at BENCH_REDIS, default
redis://127.0.0.1:6379/13, which is flushed; the script creates, migrates and
drops the database `nudge_bench_lag`).

`--rate` enrollments become due every second for `--seconds` seconds (by
default 10/s for 3 minutes: 1,800 emails from 10 reps, 180 each — far below
the Enterprise limit of 1,000 a day; not bulk, so no throttle). A real
`celery -A config worker --concurrency 1` and a real `celery beat` (tick every
`--tick` s, as deployed) do the work; benchmarks/smtp_sink.py, in its own
process, notes when it accepts each message. The lag of an email is the time
from its enrollment's `next_action_at` to the sink accepting it (the
Message-ID names the enrollment).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (
    REDIS_URL,
    Celery,
    Sink,
    arguments,
    code_version,
    fresh_database,
    load,
    machine,
    make_sending_world,
    median,
    percentile,
    portal,
    purge_broker,
    sql,
    sql_rows,
    table,
    today,
    verdict,
    wait_for_quiet,
    write_readme,
)

REPS = 10
GOAL_S = 30.0
ENROLLMENT_IN_ID = re.compile(r"^<nudge\.(\d+)\.1\.")


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=10.0, help="enrollments becoming due per second")
    parser.add_argument("--seconds", type=int, default=180, help="how long the load lasts")
    parser.add_argument("--tick", type=int, default=2, help="beat's SCHEDULER_TICK_SECONDS (default 2, as deployed)")
    args = parser.parse_args()
    wait_for_quiet(args.quiet_load, args.quiet_wait)
    wall = time.perf_counter()
    load_before = load()
    count = int(args.rate * args.seconds)
    workdir = Path(tempfile.mkdtemp(prefix="nudge-bench-lag-"))
    sink = Sink(workdir / "sink.log")
    os.environ["CELERY_BROKER_URL"] = REDIS_URL
    purge_broker()
    print("building the data …", flush=True)
    fresh_database("nudge_bench_lag", keep=args.keep)
    portal()
    make_sending_world(enrollments=count, reps=REPS, smtp_port=sink.port)

    celery = Celery(workdir, tick_seconds=args.tick)
    celery.start_worker()
    celery.start_beat()
    start = time.time() + 5
    step_ms = 1000.0 / args.rate
    sql(
        "UPDATE sequences_app_enrollment e SET next_action_at = to_timestamp(%s) + x.k * %s * interval '1 ms' "
        "FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM sequences_app_enrollment "
        "WHERE status = 'active') AS x WHERE e.id = x.id",
        [start, step_ms],
    )
    due = {pk: at.timestamp() for pk, at in sql_rows("SELECT id, next_action_at FROM sequences_app_enrollment")}
    print(f"{count:,} enrollments become due at {args.rate:g}/s from now on for {args.seconds} s …", flush=True)
    sink.wait_for(count, timeout=args.seconds + 600)
    celery.stop()

    lags = []
    for accepted, message_id in sink.lines():
        found = ENROLLMENT_IN_ID.match(message_id)
        if found:
            lags.append(accepted - due[int(found.group(1))])
    assert len(lags) == count, (len(lags), count)
    p99 = percentile(lags, 99)
    result = table(
        ["emails", "load", "p50 s", "p95 s", "p99 s", "max s", "goal p99", "result"],
        [
            (
                f"{count:,}",
                f"{args.rate:g}/s for {args.seconds} s",
                f"{median(lags):.1f}",
                f"{percentile(lags, 95):.1f}",
                f"{p99:.1f}",
                f"{max(lags):.1f}",
                f"≤ {GOAL_S:.0f} s",
                verdict(p99 <= GOAL_S),
            )
        ],
    )
    print()
    print(result)
    print(f"(work dir {workdir}; total wall time {time.perf_counter() - wall:.0f} s)")
    if args.readme:
        write_readme(
            "lag",
            f"""## Lag (issue 4) — `benchmarks/lag.py`

`.venv/bin/python benchmarks/lag.py --readme`

Measured {today()} on {machine()}, {code_version()}; load average (1/5 min)
{load_before} before, {load()} after (other work shared the 2 cores).
A real worker (`--concurrency 1`) and a real beat (tick {args.tick} s) on Redis;
`benchmarks/smtp_sink.py` in its own process. {args.rate:g} enrollments become due
every second for {args.seconds} s ({REPS} reps, {count // REPS} emails each: below every limit).
Lag = sink accepted − the enrollment's `next_action_at`; percentiles nearest-rank.

{result}
""",
        )


if __name__ == "__main__":
    main()
