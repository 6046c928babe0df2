"""Issue 7 benchmark: trigger evaluation per contact change, and a 10,000-row import through three workflows.

    .venv/bin/python benchmarks/workflows.py [--changes 200] [--readme] [--keep]

(needs PostgreSQL at BENCH_PG, default postgres://postgres@127.0.0.1:5432,
and Redis at BENCH_REDIS — this script defaults it to database 12, which is
flushed; the script creates, migrates and drops `nudge_bench_workflows`).

A. Trigger evaluation per contact change, with 0 (baseline), 1, 10 and 100
   enabled property_matches workflows whose filters differ (lifecycle stage,
   a property, job title, company name). Each change is `contact_update` of
   one contact among 100,000 (its job title and lifecycle stage), then
   `workflow_event_process` of the event it wrote. "request" is what the
   change costs the caller (the service with its hook: reading the enabled
   workflows, one query for what the stored row matched before, the event
   row); "worker" is the event's processing (one query evaluating every
   workflow for the contact, the runs it starts). Median and p95 of
   `--changes` changes per row, each contact changed once, measured in 10
   interleaved rounds so load from elsewhere falls on every row alike.

B. A 10,000-row CSV import (1,000 rows update existing contacts) with three
   enabled workflows — contact_created with a filter → set a property;
   property_matches lifecycle stage = lead → create a task; list_joined on an
   active list → wait a day. B1 times the import without workflows and with
   them (what the request pays). B2 processes everything in this process,
   one step after another as one worker would: the import's events, then
   every run's actions, then the events those actions cause. B3 is end to
   end with a real `celery worker --concurrency 2` on Redis: from the import's
   commit until no event is left and every run is done or waiting out its
   one-day delay.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# Our own broker database and queue: other benchmarks flush database 13 and use the default queue.
os.environ.setdefault("BENCH_REDIS", "redis://127.0.0.1:6379/12")
os.environ["CELERY_BROKER_URL"] = os.environ["BENCH_REDIS"]
os.environ["CELERY_QUEUE"] = "bench_workflows"

# (after the environment above: common reads BENCH_REDIS when imported)
from benchmarks.common import (
    REDIS_URL,
    Celery,
    analyze,
    arguments,
    code_version,
    fresh_database,
    load,
    machine,
    make_companies,
    make_contacts,
    make_reps,
    median,
    percentile,
    portal,
    table,
    timed,
    today,
    wait_for_quiet,
    write_readme,
)

CONTACTS = 100_000
COMPANIES = 10_000
ROWS = 10_000
EXISTING = 1_000
ROUNDS = 10
STAGES = ["subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer"]


REAL_ENQUEUE = None  # workflows_app.events._enqueue, kept before parts A and B2 replace it


def workflows_for(count: int, owner) -> None:
    """`count` enabled property_matches workflows, each with its own filters, waiting 30 days when fired."""
    from workflows_app.models import Workflow

    Workflow.objects.all().delete()
    shapes = [
        lambda n: [{"field": "lifecycle_stage", "operator": "eq", "value": STAGES[n % len(STAGES)]}],
        lambda n: [{"field": f"properties.k{n}", "operator": "eq", "value": "yes"}],
        lambda n: [{"field": "job_title", "operator": "contains", "value": f"title {n}"}],
        lambda n: [{"field": "company.name", "operator": "eq", "value": f"Company {n}"},
                   {"field": "lifecycle_stage", "operator": "neq", "value": "customer"}],
    ]
    Workflow.objects.bulk_create([
        Workflow(name=f"w{n}", enabled=True, trigger_type="property_matches", trigger_filters=shapes[n % 4](n),
                 actions=[{"type": "delay", "days": 30}], created_by=owner)
        for n in range(count)
    ])


def part_a(changes: int, owner) -> list[tuple]:
    """Interleaved: ROUNDS rounds, each timing a slice of the changes for every workflow count and kind, so
    load from elsewhere on the machine falls on all of them alike."""
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from contacts_app.models import Contact
    from contacts_app.services import contact_update
    from workflows_app import events
    from workflows_app.models import WorkflowEvent, WorkflowRun
    from workflows_app.triggers import workflow_event_process

    events._enqueue = lambda event_id: None  # processed right here, not by a worker
    kinds = {
        # Half of the workflows' filters read the lifecycle stage; none reads the phone number.
        "lifecycle stage": lambda index: {"lifecycle_stage": STAGES[index % len(STAGES)]},
        "phone (unwatched)": lambda index: {"phone": f"+358 40 {index}"},
    }
    counts = (0, 1, 10, 100)
    per_slice = max(1, changes // ROUNDS)
    ids = iter(Contact.objects.order_by("pk").values_list("pk", flat=True)[: (per_slice + 1) * ROUNDS * 8 + 8])
    seen: dict[tuple[int, str], dict] = {
        (count, kind): {"request": [], "worker": [], "fired": 0, "written": 0, "rq": 0, "wq": 0}
        for count in counts for kind in kinds
    }
    for round_number in range(ROUNDS):
        for count in counts:
            workflows_for(count, owner)
            for kind, change in kinds.items():
                figures = seen[(count, kind)]
                # The first change of each slice warms up (the new workflows' first read).
                for index in range(per_slice + 1):
                    contact = Contact.objects.get(pk=next(ids))
                    last = WorkflowEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
                    reset_queries()
                    with CaptureQueriesContext(connection) as asked:
                        start = time.perf_counter()
                        contact_update(contact=contact, data=change(round_number * per_slice + index))
                        spent = (time.perf_counter() - start) * 1000
                    # Counted now: `captured_queries` reads the connection's log, which the next reset empties.
                    request_queries = len(asked.captured_queries)
                    event = WorkflowEvent.objects.filter(pk__gt=last).first()
                    reset_queries()
                    with CaptureQueriesContext(connection) as worked:
                        start = time.perf_counter()
                        started = workflow_event_process(event_id=event.pk) if event else []
                        worker_spent = (time.perf_counter() - start) * 1000
                    if index == 0:
                        continue
                    figures["request"].append(spent)
                    figures["rq"] = max(figures["rq"], request_queries)
                    if event is not None:
                        figures["written"] += 1
                        figures["worker"].append(worker_spent)
                        figures["wq"] = max(figures["wq"], len(worked.captured_queries))
                    figures["fired"] += len(started)
            WorkflowRun.objects.all().delete()
        print(f"  round {round_number + 1}/{ROUNDS} done", flush=True)
    rows = []
    for (count, kind), figures in seen.items():
        request, worker = figures["request"], figures["worker"]
        rows.append((count, kind, len(request), median(request), percentile(request, 95), figures["rq"],
                     figures["written"], median(worker) if worker else None,
                     percentile(worker, 95) if worker else None, figures["wq"], figures["fired"]))
    return rows


def csv_rows(prefix: str, existing: list[str]) -> bytes:
    """ROWS rows owned by rep0: the first EXISTING update contacts of the portal, the rest are new."""
    lines = ["Email,First Name,Lifecycle Stage,Job Title,City,Contact owner"]
    for n in range(ROWS):
        email = existing[n] if n < EXISTING else f"{prefix}{n}@import.example"
        lines.append(f"{email},First{n},{'Lead' if n % 2 == 0 else 'Subscriber'},"
                     f"{'CEO' if n % 10 == 0 else 'Engineer'},City {n % 7},rep0")
    return ("\r\n".join(lines) + "\r\n").encode()


def three_workflows(owner) -> None:
    from contacts_app.models import ContactList
    from workflows_app.models import Workflow

    Workflow.objects.all().delete()
    chiefs = ContactList.objects.create(name="Chiefs", kind="active", filters=[
        {"field": "job_title", "operator": "contains", "value": "ceo"}])
    Workflow.objects.create(name="welcome", enabled=True, trigger_type="contact_created", created_by=owner,
                            trigger_filters=[{"field": "properties.city", "operator": "eq", "value": "City 3"}],
                            actions=[{"type": "set_property", "field": "properties.welcome", "value": "sent"}])
    Workflow.objects.create(name="leads", enabled=True, trigger_type="property_matches", created_by=owner,
                            trigger_filters=[{"field": "lifecycle_stage", "operator": "eq", "value": "lead"}],
                            actions=[{"type": "create_task", "title": "Call {{ contact.first_name }}",
                                      "owner": "contact_owner", "due_in_days": 1, "notes": "", "priority": "high",
                                      "task_type": "call"}])
    Workflow.objects.create(name="ceos", enabled=True, trigger_type="list_joined", trigger_list=chiefs,
                            created_by=owner, actions=[{"type": "delay", "days": 1}])


def import_file(content: bytes) -> float:
    import io

    from contacts_app.importing import contacts_import

    start = time.perf_counter()
    result = contacts_import(file=io.BytesIO(content))
    assert not result.errors, result.errors[:3]
    return time.perf_counter() - start


def existing_emails(offset: int) -> list[str]:
    from contacts_app.models import Contact

    return list(Contact.objects.order_by("pk").values_list("email", flat=True)[offset : offset + EXISTING])


def part_b(owner) -> dict:
    from workflows_app import events
    from workflows_app.models import WorkflowEvent, WorkflowHistory, WorkflowRun
    from workflows_app.runner import workflow_run_advance
    from workflows_app.triggers import workflow_event_process

    figures: dict = {}
    events._enqueue = lambda event_id: None
    from workflows_app.models import Workflow

    Workflow.objects.all().delete()
    figures["import_plain"] = import_file(csv_rows("plain", existing_emails(20_000)))
    three_workflows(owner)
    figures["import_with"] = import_file(csv_rows("serial", existing_emails(30_000)))
    figures["events"] = WorkflowEvent.objects.count()

    start = time.perf_counter()
    started = []
    for event_id in WorkflowEvent.objects.order_by("pk").values_list("pk", flat=True):
        started += workflow_event_process(event_id=event_id)
    figures["evaluate"] = time.perf_counter() - start
    figures["runs"] = len(started)
    start = time.perf_counter()
    for run_id, index in started:
        workflow_run_advance(run_id=run_id, action_index=index)
    figures["actions"] = time.perf_counter() - start
    figures["follow_up_events"] = WorkflowEvent.objects.count()
    start = time.perf_counter()
    for event_id in WorkflowEvent.objects.order_by("pk").values_list("pk", flat=True):
        for run_id, index in workflow_event_process(event_id=event_id):
            workflow_run_advance(run_id=run_id, action_index=index)
    figures["follow_up"] = time.perf_counter() - start
    figures["history"] = WorkflowHistory.objects.count()
    figures["failed"] = WorkflowHistory.objects.filter(outcome="failed").count()
    figures["per_workflow"] = {
        name: WorkflowRun.objects.filter(workflow__name=name).count() for name in ("welcome", "leads", "ceos")
    }

    # B3: real workers, fed by the on-commit hook as in production.
    events._enqueue = REAL_ENQUEUE
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    WorkflowRun.objects.all().delete()
    WorkflowHistory.objects.all().delete()
    three_workflows(owner)
    analyze()
    workdir = Path(tempfile.mkdtemp(prefix="bench-workflows-"))
    celery = Celery(workdir)
    queues = "bench_workflows,bench_workflows-ticks"  # CELERY_QUEUE and its ticks queue (config/settings.py)
    celery.worker = celery._start(
        ["worker", "--concurrency", "2", "-l", "warning", "-Q", queues, "-n", "benchwf@%h"], "worker.log"
    )
    from config.celery import app

    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=0.5):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the worker did not answer; see {workdir / 'worker.log'}")
    committed = time.perf_counter()
    figures["import_e2e"] = import_file(csv_rows("workers", existing_emails(40_000)))
    committed += figures["import_e2e"]
    from django.db.models import Q
    from django.utils import timezone

    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline:
        busy = WorkflowEvent.objects.exists() or WorkflowRun.objects.filter(
            Q(status="waiting") & (Q(action_index=0) | Q(next_action_at__lt=timezone.now() + timedelta(hours=1)))
        ).exists()
        if not busy:
            break
        time.sleep(0.2)
    else:
        raise TimeoutError("the workers did not finish in 30 minutes")
    figures["e2e"] = time.perf_counter() - committed
    figures["e2e_runs"] = WorkflowRun.objects.count()
    figures["e2e_failed"] = WorkflowHistory.objects.filter(outcome="failed").count()
    celery.stop()
    return figures


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=200, help="timed contact changes per workflow count")
    args = parser.parse_args()
    wait_for_quiet(args.quiet_load, args.quiet_wait)
    started = time.perf_counter()
    load_before = load()
    fresh_database("nudge_bench_workflows", keep=args.keep)
    from workflows_app import events

    global REAL_ENQUEUE
    REAL_ENQUEUE = events._enqueue
    portal()
    owner = make_reps(1, tier="professional")[0]
    with timed(f"{COMPANIES:,} companies and {CONTACTS:,} contacts"):
        make_companies(COMPANIES)
        make_contacts(CONTACTS, companies=COMPANIES, owner_id=owner.pk)
        analyze()
    print("A. trigger evaluation per contact change …", flush=True)
    rows_a = part_a(args.changes, owner)
    print("B. a 10,000-row import through three workflows …", flush=True)
    b = part_b(owner)

    base = {kind: med for count, kind, _, med, *_ in rows_a if count == 0}
    table_a = table(
        ["enabled workflows", "change", "changes", "request median ms", "request p95 ms", "added (median)",
         "request queries", "events written", "worker median ms", "worker p95 ms", "worker queries", "runs started"],
        [(count, kind, n, f"{med:.2f}", f"{p95:.2f}", f"+{med - base[kind]:.2f} ms" if count else "—", rq, written,
          f"{wmed:.2f}" if wmed is not None else "—", f"{wp95:.2f}" if wp95 is not None else "—",
          wq if written else "—", fired)
         for count, kind, n, med, p95, rq, written, wmed, wp95, wq, fired in rows_a],
    )
    per = b["per_workflow"]
    table_b = table(
        ["measure", "seconds", "what"],
        [
            ("B1. import, no workflows", f"{b['import_plain']:.1f}", f"{ROWS:,} rows ({EXISTING:,} updates)"),
            ("B1. import, three workflows", f"{b['import_with']:.1f}",
             f"the same, writing {b['events']} events (+{b['import_with'] - b['import_plain']:.1f} s)"),
            ("B2. evaluate the import's events", f"{b['evaluate']:.1f}",
             f"{b['events']} events → {b['runs']:,} runs (welcome {per['welcome']:,}, leads {per['leads']:,}, "
             f"ceos {per['ceos']:,})"),
            ("B2. run their actions", f"{b['actions']:.1f}",
             f"{b['runs']:,} runs: set a property, create a task, or start a 1-day wait"),
            ("B2. the events the actions cause", f"{b['follow_up']:.1f}",
             f"{b['follow_up_events']:,} single-contact events (property changes), nothing fires"),
            ("B2. total, one worker", f"{b['evaluate'] + b['actions'] + b['follow_up']:.1f}",
             f"{b['history']:,} history rows, {b['failed']} failed"),
            ("B3. end to end, celery worker ×2", f"{b['e2e']:.1f}",
             f"from the import's commit ({b['import_e2e']:.1f} s import) until all {b['e2e_runs']:,} runs are "
             f"done or waiting a day; {b['e2e_failed']} failed"),
        ],
    )
    print()
    print(table_a)
    print()
    print(table_b)
    print(f"\n(total wall time {time.perf_counter() - started:.0f} s)")
    if args.readme:
        write_readme(
            "workflows",
            f"""## Workflows (issue 7) — `benchmarks/workflows.py`

`.venv/bin/python benchmarks/workflows.py --readme`

Measured {today()} on {machine()}, {code_version()}; load average (1/5 min)
{load_before} before, {load()} after (other work shared the 2 cores).
Database: {CONTACTS:,} contacts at {COMPANIES:,} companies.

**A. Trigger evaluation per contact change.** `contact_update` of one contact
with N enabled property_matches workflows with different filters (a quarter
each on lifecycle stage, a property, job title, company name and lifecycle
stage), then `workflow_event_process` of its event. The change is either the
lifecycle stage (read by half of the workflows) or the phone number (read by
none). "request" is the change as its caller pays it — the service plus the
hook, which reads the enabled workflows and the stored row, keeps the
filters that read a changed field, asks in one query what the stored row
matched and writes the event (an edit no filter reads writes none);
"worker" evaluates those filters for the contact in one query and starts the
runs that fire. Query counts are the most seen for one change, BEGIN and
COMMIT included. The 0-workflow rows are the service with the hook finding
no enabled workflow (one query); the service's email-uniqueness check goes
through the unique `LOWER(email)` index since 45dd050 (before, it scanned the
table: ~17 ms a change). The rows were measured in 10 interleaved rounds, so load
from other work on the machine falls on all of them alike.

{table_a}

**B. A {ROWS:,}-row CSV import through three workflows** (contact_created with a
filter → set a property; property_matches lifecycle stage = lead → create a
task; list_joined on an active list → wait a day), contacts owned by a rep.
The import is `contacts_import` in this process; B2 runs the events and
runs one after another, as a single worker would; B3 uses a real
`celery worker --concurrency 2` on Redis, fed by the on-commit hook.

{table_b}
""",
        )


if __name__ == "__main__":
    main()
