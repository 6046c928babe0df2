"""Issue 4 benchmark: 5,000 due emails delivered by one real Celery worker, beside raw smtplib and django-post-office.

    .venv/bin/pip install -r benchmarks/requirements.txt   # django-post-office, py-spy (benchmark only)
    .venv/bin/python benchmarks/delivery.py [--emails 5000] [--tick 2] [--concurrency 1 2] [--profile] [--readme]

(needs PostgreSQL at BENCH_PG and Redis at BENCH_REDIS, default
redis://127.0.0.1:6379/13, which is flushed; the script creates, migrates and
drops the database `nudge_bench_delivery`).

One run, three senders, the same 5,000 emails, the same receiving server —
benchmarks/smtp_sink.py (aiosmtpd, AUTH accepted) in its own process:
(a) raw smtplib: the 5,000 messages rendered beforehand by Nudge's own
    `email_render` + `mime_build`, sent over ONE connection (login once,
    `sendmail` each): the ceiling for this machine and server;
(b) django-post-office 3.12 with its defaults: the same rendered messages
    (subject, text, HTML, headers) queued with `mail.send_many`, then
    `manage.py send_queued_mail` (1 process, batches of 100, 5 threads);
    (b′) adds the time Nudge took to render the messages it handed over;
(c) Nudge: 5,000 active enrollments (10 reps × 500, below the Enterprise limit
    of 1,000 a day; not bulk, so no throttle) become due at once; a real
    `celery -A config worker --concurrency N` (once per N of `--concurrency`,
    the world put back between runs) and a real `celery beat`
    (DatabaseScheduler, tick every `--tick` s) on Redis do everything: claim,
    create each message, render, claim the send slot, SMTP, record.
    Timed from the moment they became due to the sink accepting the last one.
With `--profile`, py-spy samples the worker's pool process during (c);
`--worker-settings benchmarks.worker_reuse_settings` runs (c) with Celery's
`CELERY_DB_REUSE_MAX` set (an A/B of a suggested fix; no README section).
"""

from __future__ import annotations

import os
import re
import smtplib
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (
    REDIS_URL,
    REPO,
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
    table,
    today,
    verdict,
    wait_for_quiet,
    write_readme,
)

REPS = 10


def render_all() -> list[tuple[int, str, str, str, str, object]]:
    """Every enrollment's first email, rendered as Nudge renders it: (pk, from, to, subject, text/html, mime)."""
    from sequences_app.models import Enrollment
    from sequences_app.rendering import email_render
    from sequences_app.scheduling.runner import snapshot_step

    rendered = []
    enrollments = Enrollment.objects.select_related("contact__company", "sender", "mailbox").order_by("pk")
    for enrollment in enrollments:
        step = snapshot_step(enrollment, 1)
        email = email_render(enrollment=enrollment, step=step, message_pk=enrollment.pk)
        rendered.append((enrollment, email))
    return rendered


def mime_bytes(enrollment, email, message_id: str) -> bytes:
    from sequences_app.rendering import mime_build

    return mime_build(
        rendered=email,
        message_id=message_id,
        from_name=enrollment.mailbox.display_name,
        from_email=enrollment.mailbox.email,
        to_name=enrollment.contact.full_name,
        to_email=enrollment.contact.email,
    )


def run_raw(sink: Sink, rendered) -> float:
    messages = [
        (
            enrollment.mailbox.email,
            enrollment.contact.email,
            mime_bytes(enrollment, email, f"<raw.{enrollment.pk}@bench>"),
        )
        for enrollment, email in rendered
    ]
    before = sink.count()
    started = time.perf_counter()
    connection = smtplib.SMTP("127.0.0.1", sink.port)
    connection.login("raw@nudge.example", "secret")
    for from_email, to_email, payload in messages:
        connection.sendmail(from_email, [to_email], payload)
    connection.quit()
    elapsed = time.perf_counter() - started
    assert sink.count() - before == len(messages)
    return elapsed


def run_post_office(sink: Sink, rendered) -> tuple[float, float]:
    from django.core.management import call_command
    from post_office import mail
    from post_office.models import Email

    kwargs_list = [
        {
            "sender": f"{enrollment.mailbox.display_name} <{enrollment.mailbox.email}>",
            "recipients": [enrollment.contact.email],
            "subject": email.subject,
            "message": email.text,
            "html_message": email.html,
            "headers": {
                "Message-ID": f"<po.{enrollment.pk}@bench>",
                "List-Unsubscribe": f"<{email.unsubscribe_url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        }
        for enrollment, email in rendered
    ]
    before = sink.count()
    started = time.perf_counter()
    mail.send_many(kwargs_list)
    queued = time.perf_counter() - started
    started = time.perf_counter()
    call_command("send_queued_mail")
    sent = time.perf_counter() - started
    statuses = Counter(Email.objects.values_list("status", flat=True))
    assert sink.count() - before == len(rendered), (sink.count() - before, statuses)
    return queued, sent


def run_nudge(
    sink: Sink, count: int, workdir: Path, tick: int, profile: bool, settings_module: str, concurrency: int = 1
) -> dict:
    from mailboxes_app.models import OutboundMessage

    celery = Celery(workdir, tick_seconds=tick, settings_module=settings_module, concurrency=concurrency)
    celery.start_worker()
    celery.start_beat()
    time.sleep(2)  # beat's first tick (nothing due yet)
    spy = None
    if profile:
        spy = subprocess.Popen(
            [str(REPO / ".venv" / "bin" / "py-spy"), "record", "--pid", str(celery.pool_pid()), "--rate", "200",
             "--format", "raw", "--output", str(workdir / "worker.pyspy.txt"), "--duration", "40"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
    target = sink.count() + count
    due_at = make_due()
    sink.wait_for(target, timeout=1800)
    celery.stop()
    if spy is not None:
        spy.wait(60)
    ours = set(OutboundMessage.objects.values_list("message_id", flat=True))  # this run's (a reset deletes the last's)
    arrived = [(stamp, message_id) for stamp, message_id in sink.lines() if message_id in ours]
    times = sorted(stamp for stamp, _ in arrived)
    ids = [message_id for _, message_id in arrived]
    states = Counter(OutboundMessage.objects.values_list("state", flat=True))
    return {
        "tasks": worker_log_tasks(workdir / "worker.log"),
        "due_to_last": times[-1] - due_at,
        "first_to_last": times[-1] - times[0],
        "due_to_first": times[0] - due_at,
        "received": len(ids),
        "duplicates": len(ids) - len(set(ids)),
        "states": dict(states),
    }


def _reset(ids: list[int], *, due: bool = True) -> None:
    """Put these (sent) enrollments back on their first email, due now (or waiting for `make_due`)."""
    from django.utils import timezone

    from mailboxes_app.models import OutboundMessage
    from sequences_app.models import EmailEvent, Enrollment, EnrollmentStep

    EmailEvent.objects.filter(enrollment_id__in=ids).delete()
    OutboundMessage.objects.filter(enrollment_id__in=ids).delete()
    EnrollmentStep.objects.filter(enrollment_id__in=ids, order=1).update(status="scheduled", done_at=None)
    EnrollmentStep.objects.filter(enrollment_id__in=ids, order__gt=1).update(status="pending")
    Enrollment.objects.filter(pk__in=ids).update(
        current_step=1, status="active", next_action_at=timezone.now() if due else None
    )


def _statements(captured) -> tuple[int, int]:
    sqls = [query["sql"].strip().upper() for query in captured.captured_queries]
    commits = sum(1 for text in sqls if text.startswith("COMMIT"))
    return sum(1 for text in sqls if not text.startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"))), commits


def anatomy(sample: int = 50) -> dict[str, str]:
    """One email's cost, in this process, through the worker's own task bodies (`Task.run`).

    `sample` sent enrollments go back to their first email; the tick's claim,
    `nudge.run_steps` and `nudge.send_messages` run as the worker runs them
    (first one send task per message, as the scheduler did before 8bd3f63), with the
    queries captured; then the same emails again, sent 50 to a task (one
    SMTP connection), for comparison.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from sequences_app import tasks
    from sequences_app.models import Enrollment
    from sequences_app.scheduling import dispatch, runner

    ids = list(Enrollment.objects.order_by("pk").values_list("pk", flat=True)[:sample])
    figures: dict[str, str] = {}
    for mode in ("one message per send task", "50 messages per send task"):
        _reset(ids)
        with CaptureQueriesContext(connection) as claim:
            pairs = dispatch.enrollments_claim_due(now=timezone.now(), limit=sample)
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as run:
            result = runner.enrollments_run_steps([tuple(pair) for pair in pairs])
        run_ms = (time.perf_counter() - started) * 1000
        queued: list[int] = [message_id for batch in result["batches"] for message_id in batch]
        assert len(queued) == sample, (len(queued), sample)
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as send:
            if mode.startswith("one"):
                for message_id in queued:
                    tasks.send_messages.run([message_id])
            else:
                tasks.send_messages.run(queued)
        send_ms = (time.perf_counter() - started) * 1000
        (claim_n, _), (run_n, run_tx), (send_n, send_tx) = _statements(claim), _statements(run), _statements(send)
        figures[mode] = (
            f"claim {claim_n / sample:.2f} + run_steps {run_n / sample:.1f} + send {send_n / sample:.1f} "
            f"= {(claim_n + run_n + send_n) / sample:.1f} statements and {(run_tx + send_tx) / sample:.1f} "
            f"commits per email; run_steps {run_ms / sample:.1f} ms + send {send_ms / sample:.1f} ms per email"
        )
    return figures


def worker_log_tasks(path: Path) -> dict[str, str]:
    """Per task name: how many ran and their mean duration; and the ticks that expired in the queue."""
    durations: dict[str, list[float]] = {}
    expired = 0
    for line in path.read_text().splitlines():
        found = re.search(r"Task (nudge\.\w+)\[[^]]+\] succeeded in ([0-9.]+)s", line)
        if found:
            durations.setdefault(found.group(1), []).append(float(found.group(2)))
        elif "Discarding revoked task: nudge.scheduler_tick" in line:
            expired += 1
    summary = {name: f"{len(times)} × {1000 * sum(times) / len(times):.1f} ms" for name, times in durations.items()}
    summary["ticks expired in the queue"] = str(expired)
    return summary


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=5000)
    parser.add_argument("--tick", type=int, default=2, help="beat's SCHEDULER_TICK_SECONDS (default 2, as deployed)")
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[1, 2], help="the worker's pool sizes to run (default 1 2)"
    )
    parser.add_argument("--profile", action="store_true", help="py-spy the worker (raw output in the work dir)")
    parser.add_argument(
        "--worker-settings",
        default="config.settings",
        help="settings module of the worker and beat (an A/B: benchmarks.worker_reuse_settings)",
    )
    args = parser.parse_args()
    wait_for_quiet(args.quiet_load, args.quiet_wait)
    wall = time.perf_counter()
    load_before = load()
    workdir = Path(tempfile.mkdtemp(prefix="nudge-bench-delivery-"))
    sink = Sink(workdir / "sink.log")
    os.environ.update(
        CELERY_BROKER_URL=REDIS_URL, EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(sink.port),
        EMAIL_HOST_USER="postoffice@nudge.example", EMAIL_HOST_PASSWORD="secret",
    )
    purge_broker()
    print("building the data …", flush=True)
    fresh_database("nudge_bench_delivery", settings_module="benchmarks.postoffice_settings", keep=args.keep)
    portal()
    make_sending_world(enrollments=args.emails, reps=REPS, smtp_port=sink.port)
    started = time.perf_counter()
    rendered = render_all()
    render_seconds = time.perf_counter() - started
    assert len(rendered) == args.emails

    print("(a) raw smtplib …", flush=True)
    raw = run_raw(sink, rendered)
    print(f"    {raw:.1f} s", flush=True)
    print("(b) django-post-office …", flush=True)
    po_queue, po_send = run_post_office(sink, rendered)
    print(f"    queue {po_queue:.1f} s + send {po_send:.1f} s", flush=True)
    runs = {}
    for concurrency in args.concurrency:
        if runs:
            from sequences_app.models import Enrollment

            _reset(list(Enrollment.objects.values_list("pk", flat=True)), due=False)
            purge_broker()
        print(f"(c) Nudge: one Celery worker (--concurrency {concurrency}) + beat …", flush=True)
        runs[concurrency] = run_nudge(
            sink, args.emails, workdir, args.tick, args.profile, args.worker_settings, concurrency
        )
        print(f"    {runs[concurrency]}", flush=True)

    print("per-email anatomy, in-process …", flush=True)
    try:
        parts = anatomy()
    except Exception as exc:  # the main figures stand without it
        parts = {"anatomy failed": repr(exc)}
    for mode, text in parts.items():
        print(f"    {mode}: {text}", flush=True)

    n = args.emails
    raw_rate = n / raw
    po_rate = n / (po_queue + po_send)
    po_rendering_rate = n / (po_queue + po_send + render_seconds)
    rows = [
        ("(a) raw smtplib, one connection, pre-rendered", f"{raw:.1f}", f"{raw_rate:.0f}", "1.00", "ceiling", ""),
        (
            "(b) django-post-office: send_many + send_queued_mail",
            f"{po_queue + po_send:.1f} ({po_queue:.1f} + {po_send:.1f})",
            f"{po_rate:.0f}",
            f"{po_rate / raw_rate:.2f}",
            "peer",
            "",
        ),
        (
            "(b′) (b) plus rendering the messages (Nudge's `email_render`, 1 process)",
            f"{po_queue + po_send + render_seconds:.1f} (+ {render_seconds:.1f})",
            f"{po_rendering_rate:.0f}",
            f"{po_rendering_rate / raw_rate:.2f}",
            "",
            "",
        ),
    ]
    checks = []
    for concurrency, nudge in runs.items():
        nudge_rate = n / nudge["due_to_last"]
        worker_rate = n / nudge["first_to_last"]
        rows += [
            (
                f"(c{concurrency}) Nudge, 1 worker `--concurrency {concurrency}` + beat ({args.tick} s tick): "
                "due → last accepted",
                f"{nudge['due_to_last']:.1f}",
                f"{nudge_rate:.0f}",
                f"{nudge_rate / raw_rate:.2f}",
                "≥ 0.50 × (a), > (b)",
                f"{verdict(nudge_rate >= 0.5 * raw_rate)} / {verdict(nudge_rate > po_rate)}",
            ),
            (
                f"(c{concurrency}′) the same, first → last accepted",
                f"{nudge['first_to_last']:.1f}",
                f"{worker_rate:.0f}",
                f"{worker_rate / raw_rate:.2f}",
                "",
                "",
            ),
        ]
        tasks = "; ".join(f"{name}: {value}" for name, value in nudge["tasks"].items())
        checks.append(
            f"(c{concurrency}): {nudge['received']:,} received, {nudge['duplicates']} Message-ID twice, "
            f"outbound states {nudge['states']}; first email {nudge['due_to_first']:.1f} s after due. "
            f"Worker tasks (count × mean duration): {tasks}."
        )
    result = table(["sender", "seconds", "emails/s", "× raw smtplib", "goal", "result"], rows)
    check = "\n\n".join(checks)
    print()
    print(result)
    print(check)
    print(f"(work dir {workdir}; total wall time {time.perf_counter() - wall:.0f} s)")
    anatomy_lines = "\n".join(f"- {mode}: {text}." for mode, text in parts.items())
    if args.readme and args.worker_settings == "config.settings":
        write_readme(
            "delivery",
            f"""## Delivery (issue 4) — `benchmarks/delivery.py`

`.venv/bin/pip install -r benchmarks/requirements.txt && .venv/bin/python benchmarks/delivery.py --readme`

Measured {today()} on {machine()}, {code_version()}; load average (1/5 min)
{load_before} before, {load()} after (other work shared the 2 cores). Redis broker; receiving server:
`benchmarks/smtp_sink.py` (aiosmtpd with AUTH, its own process). {n:,} emails
of the demo sequence's first step (tokens, link, signature, unsubscribe footer,
text + HTML parts), 10 senders × {n // REPS}.
(a) and (b) send the messages Nudge rendered (rendering not timed for them;
(b′) adds it); (c) is a real `celery -A config worker` plus a real beat, doing
all the work from the moment {n:,} enrollments became due: claim, create each
message, render, claim the send slots, SMTP, record, move each enrollment on.
(c1) has one pool process; (c2) two, Celery's default on this 2-core machine.

{result}

{check}

Anatomy of one email, measured in the benchmark's process right after (c) by
running the worker's task bodies on 50 enrollments put back on their first
email (query capture on; ms are indicative only on this shared machine):

{anatomy_lines}
""",
        )


if __name__ == "__main__":
    main()
