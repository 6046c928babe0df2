"""Issue 4 benchmark: the worker's resident memory over 50,000 sends.

    .venv/bin/python benchmarks/memory.py [--sends 50000] [--every 5] [--readme] [--keep]

(needs PostgreSQL at BENCH_PG and Redis at BENCH_REDIS, default
redis://127.0.0.1:6379/13, which is flushed; the script creates, migrates and
drops the database `nudge_bench_memory`).

50,000 enrollments (100 reps × 500, below the Enterprise limit; not bulk)
become due at once; a real `celery -A config worker --concurrency 1` and a
real `celery beat` (tick 2 s) send them to benchmarks/smtp_sink.py (its own
process). Every `--every` seconds the RSS of the worker's pool process (the
prefork child that runs the tasks; read from /proc/PID/status) and of the
worker's main process is sampled, with the number of emails accepted so far.
"Start" is the first sample after 1,000 sends (imports and caches are warm by
then), "steady" the sample nearest half-way, "end" the last one; the goal is
end within ±10 % of start. Every sample goes to a CSV in the work dir.
The run takes as long as the worker needs for the 50,000 (see delivery.py
for its rate): a few minutes on the 2-core machine measured.
"""

from __future__ import annotations

import os
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
    make_due,
    make_sending_world,
    portal,
    purge_broker,
    rss_kib,
    table,
    today,
    verdict,
    wait_for_quiet,
    write_readme,
)

REPS = 100
WARM = 1_000


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=50_000)
    parser.add_argument("--every", type=float, default=5.0, help="seconds between RSS samples")
    parser.add_argument(
        "--max-seconds", type=float, default=None, help="stop sampling after this long even if not all were sent"
    )
    args = parser.parse_args()
    wait_for_quiet(args.quiet_load, args.quiet_wait)
    wall = time.perf_counter()
    load_before = load()
    workdir = Path(tempfile.mkdtemp(prefix="nudge-bench-memory-"))
    sink = Sink(workdir / "sink.log")
    os.environ["CELERY_BROKER_URL"] = REDIS_URL
    purge_broker()
    print("building the data …", flush=True)
    fresh_database("nudge_bench_memory", keep=args.keep)
    portal()
    make_sending_world(enrollments=args.sends, reps=REPS, smtp_port=sink.port)

    celery = Celery(workdir)
    celery.start_worker()
    celery.start_beat()
    time.sleep(2)
    samples: list[tuple[float, int, int, int]] = []  # (seconds, sent, pool RSS KiB, main RSS KiB)
    csv = (workdir / "rss.csv").open("w", buffering=1)
    csv.write("seconds,sent,pool_rss_kib,main_rss_kib\n")
    started = make_due()
    print(f"{args.sends:,} enrollments due; sampling the worker every {args.every:g} s (CSV: {csv.name}) …", flush=True)
    last_print = 0.0
    while True:
        sent = sink.count()
        try:
            pool, main_rss = rss_kib(celery.pool_pid()), rss_kib(celery.worker.pid)
        except (OSError, IndexError, ValueError):  # the pool child is being replaced
            time.sleep(0.5)
            continue
        sample = (time.time() - started, sent, pool, main_rss)
        samples.append(sample)
        csv.write(",".join(str(round(value, 1)) for value in sample) + "\n")
        if time.monotonic() - last_print > 60:
            print(f"    {sample[0]:5.0f} s: {sent:,} sent, pool RSS {pool / 1024:.1f} MiB", flush=True)
            last_print = time.monotonic()
        if sent >= args.sends:
            break
        if args.max_seconds is not None and sample[0] > args.max_seconds:
            print(f"    stopping after {args.max_seconds:.0f} s with {sent:,} of {args.sends:,} sent", flush=True)
            break
        time.sleep(args.every)
    elapsed = time.time() - started
    celery.stop()

    warm = [sample for sample in samples if sample[1] >= WARM]
    start, end = warm[0], warm[-1]
    steady = min(warm, key=lambda sample: abs(sample[1] - end[1] / 2))
    low, high = min(sample[2] for sample in warm), max(sample[2] for sample in warm)
    change = (end[2] - start[2]) / start[2] * 100
    spread = max(abs(low - start[2]), abs(high - start[2])) / start[2] * 100

    def mib(kib: int) -> str:
        return f"{kib / 1024:.1f}"

    result = table(
        ["sample", "pool process RSS MiB", "at sends", "seconds"],
        [
            ("before any send", mib(samples[0][2]), f"{samples[0][1]:,}", f"{samples[0][0]:.0f}"),
            ("start (after 1,000)", mib(start[2]), f"{start[1]:,}", f"{start[0]:.0f}"),
            ("steady (half-way to the end)", mib(steady[2]), f"{steady[1]:,}", f"{steady[0]:.0f}"),
            ("end", mib(end[2]), f"{end[1]:,}", f"{end[0]:.0f}"),
            ("min / max after start", f"{mib(low)} / {mib(high)}", "", ""),
        ],
    )
    summary = table(
        ["sends", "seconds", "end vs start", "largest swing after start", "worker main process RSS MiB", "goal",
         "result"],
        [
            (
                f"{end[1]:,}",
                f"{elapsed:.0f}",
                f"{change:+.1f} %",
                f"{spread:.1f} %",
                f"{mib(samples[0][3])} → {mib(end[3])}",
                "±10 %",
                verdict(abs(change) <= 10 and spread <= 10),
            )
        ],
    )
    print()
    print(result)
    print()
    print(summary)
    print(f"(work dir {workdir}; total wall time {time.perf_counter() - wall:.0f} s)")
    if args.readme:
        write_readme(
            "memory",
            f"""## Worker memory (issue 4) — `benchmarks/memory.py`

`.venv/bin/python benchmarks/memory.py --readme`

Measured {today()} on {machine()}, {code_version()}; load average (1/5 min)
{load_before} before, {load()} after (other work shared the 2 cores).
{args.sends:,} due enrollments (100 reps × {args.sends // REPS}), a real worker (`--concurrency 1`) and
beat on Redis, the sink in its own process; RSS of the worker's pool process
(and its main process) from /proc every {args.every:g} s, {len(samples)} samples.

{result}

{summary}
""",
        )


if __name__ == "__main__":
    main()
