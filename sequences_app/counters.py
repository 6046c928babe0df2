"""Sequence figures kept as running counts, in the same transaction as the rows that change them.

Why triggers: a sequence's figures (enrolled by status, emails sent,
enrollments that opened / clicked / replied, per step executed and tasks
done) change in a dozen places — the scheduler's conditional UPDATEs, the
sender's bulk_create of events, stops, meetings, pauses, bulk unenrolls.
Counting in each would be a rule written a dozen times and missed in the
next; a trigger on the four tables sees every write, whatever path it took,
inside the writer's transaction, so the counts are exactly what a COUNT over
the rows would say, and reading them costs one indexed query instead of a
scan of every enrollment and event of the sequence.

1. `sequences_app_sequencecount` holds (sequence, step_order, name) → value
   (see SequenceCount for the names); every trigger adds ±1 with an upsert.
2. Distinct figures ("enrollments that opened") go through
   `sequences_app_enrollmentengagement`: an enrollment's count of events of
   that kind moves 0 → 1 (figure + 1) or 1 → 0 (figure − 1). Its row lock
   orders two events of one enrollment arriving at once.
3. PostgreSQL: PL/pgSQL functions; SQLite: the same statements inline in
   each trigger. Updates fire only when a counted column changed.
4. `sequence_counts_rebuild()` recounts everything from the rows: the
   migration's backfill, and after bulk loads that bypass triggers
   (the benchmarks' `session_replication_role = replica`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db import connection, transaction

COUNTS = "sequences_app_sequencecount"
ENGAGEMENT = "sequences_app_enrollmentengagement"
TIMELINE = "sequences_app_sequencetimelinecount"
# Kinds whose figure counts enrollments (at least one such event), not events.
ENGAGED_KINDS = ("open", "click", "reply", "bounce", "unsubscribe")
EXECUTED_STATUSES = ("sent", "task_done")
TABLES = ("sequences_app_enrollment", "sequences_app_enrollmentstep", "sequences_app_emailevent", "sequences_app_task")

_KINDS = ", ".join(f"'{kind}'" for kind in ENGAGED_KINDS)
_EXECUTED = ", ".join(f"'{status}'" for status in EXECUTED_STATUSES)



def _pg_bucket(column: str) -> str:
    """The quarter hour (UTC) an instant falls in; date_bin is independent of the session's time zone."""
    return f"date_bin('15 minutes', {column}, TIMESTAMPTZ '2000-01-01 00:00:00+00')"


def _sqlite_bucket(column: str) -> str:
    # Django keeps SQLite datetimes as UTC text 'YYYY-MM-DD HH:MM:SS[.ffffff]'.
    return (f"(strftime('%Y-%m-%d %H:', {column}) || "
            f"printf('%02d', (CAST(strftime('%M', {column}) AS INTEGER) / 15) * 15) || ':00')")


def _timeline_name(row: str) -> str:
    return f"CASE {row}.kind WHEN 'sent' THEN 'sent' ELSE 'replied' END"


# --- PostgreSQL ----------------------------------------------------------------------------------

# Only this module's constants are formatted into the SQL below.
_PG_FUNCTIONS = [
    f"""
CREATE OR REPLACE FUNCTION nudge_count(seq bigint, step integer, what text, delta bigint) RETURNS void AS $$
BEGIN
    IF seq IS NULL OR step IS NULL OR delta = 0 THEN RETURN; END IF;
    INSERT INTO {COUNTS} (sequence_id, step_order, name, value) VALUES (seq, step, what, delta)
    ON CONFLICT (sequence_id, step_order, name) DO UPDATE SET value = {COUNTS}.value + EXCLUDED.value;
END $$ LANGUAGE plpgsql""",
    f"""
CREATE OR REPLACE FUNCTION nudge_count_at(seq bigint, at timestamptz, what text, delta bigint) RETURNS void AS $$
BEGIN
    IF seq IS NULL OR at IS NULL THEN RETURN; END IF;
    INSERT INTO {TIMELINE} (sequence_id, bucket, name, value) VALUES (seq, {_pg_bucket("at")}, what, delta)
    ON CONFLICT (sequence_id, bucket, name) DO UPDATE SET value = {TIMELINE}.value + EXCLUDED.value;
END $$ LANGUAGE plpgsql""",
    f"""
CREATE OR REPLACE FUNCTION nudge_engage(seq bigint, enr bigint, what text, step integer, delta integer)
RETURNS void AS $$
DECLARE left_now integer;
BEGIN
    IF seq IS NULL OR enr IS NULL OR step IS NULL OR what NOT IN ({_KINDS}) THEN RETURN; END IF;
    IF delta > 0 THEN
        INSERT INTO {ENGAGEMENT} (sequence_id, enrollment_id, kind, step_order, events) VALUES (seq, enr, what, step, 1)
        ON CONFLICT (sequence_id, enrollment_id, kind, step_order) DO UPDATE SET events = {ENGAGEMENT}.events + 1
        RETURNING events INTO left_now;
        IF left_now = 1 THEN PERFORM nudge_count(seq, step, 'engaged.' || what, 1); END IF;
    ELSE
        UPDATE {ENGAGEMENT} SET events = events - 1
        WHERE sequence_id = seq AND enrollment_id = enr AND kind = what AND step_order = step
        RETURNING events INTO left_now;
        IF left_now = 0 THEN PERFORM nudge_count(seq, step, 'engaged.' || what, -1); END IF;
    END IF;
END $$ LANGUAGE plpgsql""",
    """
CREATE OR REPLACE FUNCTION nudge_enrollment_counts() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM nudge_count(OLD.sequence_id, 0, 'status.' || OLD.status, -1);
        PERFORM nudge_count_at(OLD.sequence_id, OLD.enrolled_at, 'enrolled', -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM nudge_count(NEW.sequence_id, 0, 'status.' || NEW.status, 1);
        PERFORM nudge_count_at(NEW.sequence_id, NEW.enrolled_at, 'enrolled', 1);
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql""",
    f"""
CREATE OR REPLACE FUNCTION nudge_event_counts() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM nudge_count(OLD.sequence_id, 0, 'events.' || OLD.kind, -1);
        PERFORM nudge_engage(OLD.sequence_id, OLD.enrollment_id, OLD.kind, 0, -1);
        PERFORM nudge_engage(OLD.sequence_id, OLD.enrollment_id, OLD.kind, OLD.step_order, -1);
        IF OLD.kind IN ('sent', 'reply') THEN
            PERFORM nudge_count_at(OLD.sequence_id, OLD.occurred_at, {_timeline_name("OLD")}, -1);
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM nudge_count(NEW.sequence_id, 0, 'events.' || NEW.kind, 1);
        PERFORM nudge_engage(NEW.sequence_id, NEW.enrollment_id, NEW.kind, 0, 1);
        PERFORM nudge_engage(NEW.sequence_id, NEW.enrollment_id, NEW.kind, NEW.step_order, 1);
        IF NEW.kind IN ('sent', 'reply') THEN
            PERFORM nudge_count_at(NEW.sequence_id, NEW.occurred_at, {_timeline_name("NEW")}, 1);
        END IF;
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql""",
    f"""
CREATE OR REPLACE FUNCTION nudge_step_counts() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status IN ({_EXECUTED}) THEN
        PERFORM nudge_count((SELECT sequence_id FROM sequences_app_enrollment WHERE id = OLD.enrollment_id),
                            OLD."order", 'executed', -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status IN ({_EXECUTED}) THEN
        PERFORM nudge_count((SELECT sequence_id FROM sequences_app_enrollment WHERE id = NEW.enrollment_id),
                            NEW."order", 'executed', 1);
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql""",
    """
CREATE OR REPLACE FUNCTION nudge_task_counts() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'done' THEN
        PERFORM nudge_count((SELECT sequence_id FROM sequences_app_enrollment WHERE id = OLD.enrollment_id),
                            OLD.step_order, 'tasks_done', -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status = 'done' THEN
        PERFORM nudge_count((SELECT sequence_id FROM sequences_app_enrollment WHERE id = NEW.enrollment_id),
                            NEW.step_order, 'tasks_done', 1);
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql""",
]

# (trigger name stem, table, function, columns whose change moves a count)
_TRIGGERS = [
    ("enrollment", "sequences_app_enrollment", "nudge_enrollment_counts", ("status", "sequence_id", "enrolled_at")),
    ("event", "sequences_app_emailevent", "nudge_event_counts",
     ("kind", "sequence_id", "enrollment_id", "step_order", "occurred_at")),
    ("step", "sequences_app_enrollmentstep", "nudge_step_counts", ("status", "order", "enrollment_id")),
    ("task", "sequences_app_task", "nudge_task_counts", ("status", "step_order", "enrollment_id")),
]


def _pg_triggers() -> list[str]:
    statements = []
    for stem, table, function, columns in _TRIGGERS:
        changed = " OR ".join(f'OLD."{c}" IS DISTINCT FROM NEW."{c}"' for c in columns)
        statements += [
            f"CREATE TRIGGER {stem}_counts_write AFTER INSERT OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}()",
            f"CREATE TRIGGER {stem}_counts_update AFTER UPDATE ON {table} "
            f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION {function}()",
        ]
    return statements


# --- SQLite: the same, statement by statement ----------------------------------------------------------


def _sqlite_count(seq: str, step: str, name: str, delta: int, when: str = "1") -> str:
    return (
        f"INSERT INTO {COUNTS} (sequence_id, step_order, name, value) SELECT {seq}, {step}, {name}, {delta} "
        f"WHERE {seq} IS NOT NULL AND {step} IS NOT NULL AND ({when}) "
        f"ON CONFLICT (sequence_id, step_order, name) DO UPDATE SET value = value + excluded.value;"
    )


def _sqlite_engage(row: str, step: str, delta: int) -> str:
    key = (f"sequence_id = {row}.sequence_id AND enrollment_id = {row}.enrollment_id AND kind = {row}.kind "
           f"AND step_order = {step}")
    applies = (f"{row}.sequence_id IS NOT NULL AND {row}.enrollment_id IS NOT NULL AND {step} IS NOT NULL "
               f"AND {row}.kind IN ({_KINDS})")
    if delta > 0:
        move = (
            f"INSERT INTO {ENGAGEMENT} (sequence_id, enrollment_id, kind, step_order, events) "
            f"SELECT {row}.sequence_id, {row}.enrollment_id, {row}.kind, {step}, 1 WHERE {applies} "
            f"ON CONFLICT (sequence_id, enrollment_id, kind, step_order) DO UPDATE SET events = events + 1;"
        )
        crossed = 1
    else:
        move = f"UPDATE {ENGAGEMENT} SET events = events - 1 WHERE {applies} AND {key};"
        crossed = 0
    return move + _sqlite_count(
        f"{row}.sequence_id", step, f"'engaged.' || {row}.kind", delta,
        when=f"{applies} AND (SELECT events FROM {ENGAGEMENT} WHERE {key}) = {crossed}",
    )


def _sqlite_count_at(seq: str, at: str, name: str, delta: int, when: str = "1") -> str:
    return (
        f"INSERT INTO {TIMELINE} (sequence_id, bucket, name, value) SELECT {seq}, {_sqlite_bucket(at)}, {name}, "
        f"{delta} WHERE {seq} IS NOT NULL AND {at} IS NOT NULL AND ({when}) "
        f"ON CONFLICT (sequence_id, bucket, name) DO UPDATE SET value = value + excluded.value;"
    )


def _sqlite_bodies(row: str, delta: int) -> dict[str, str]:
    sequence_of = f"(SELECT sequence_id FROM sequences_app_enrollment WHERE id = {row}.enrollment_id)"
    return {
        "enrollment": (
            _sqlite_count(f"{row}.sequence_id", "0", f"'status.' || {row}.status", delta)
            + _sqlite_count_at(f"{row}.sequence_id", f"{row}.enrolled_at", "'enrolled'", delta)
        ),
        "event": (
            _sqlite_count(f"{row}.sequence_id", "0", f"'events.' || {row}.kind", delta)
            + _sqlite_engage(row, "0", delta)
            + _sqlite_engage(row, f"{row}.step_order", delta)
            + _sqlite_count_at(f"{row}.sequence_id", f"{row}.occurred_at", _timeline_name(row), delta,
                               when=f"{row}.kind IN ('sent', 'reply')")
        ),
        "step": _sqlite_count(sequence_of, f'{row}."order"', "'executed'", delta,
                              when=f"{row}.status IN ({_EXECUTED})"),
        "task": _sqlite_count(sequence_of, f"{row}.step_order", "'tasks_done'", delta,
                              when=f"{row}.status = 'done'"),
    }


def _sqlite_triggers() -> list[str]:
    statements = []
    old, new = _sqlite_bodies("OLD", -1), _sqlite_bodies("NEW", 1)
    for stem, table, _, columns in _TRIGGERS:
        changed = " OR ".join(f'OLD."{c}" IS NOT NEW."{c}"' for c in columns)
        statements += [
            f"CREATE TRIGGER {stem}_counts_insert AFTER INSERT ON {table} BEGIN {new[stem]} END",
            f"CREATE TRIGGER {stem}_counts_delete AFTER DELETE ON {table} BEGIN {old[stem]} END",
            f"CREATE TRIGGER {stem}_counts_update AFTER UPDATE ON {table} WHEN {changed} "
            f"BEGIN {old[stem]} {new[stem]} END",
        ]
    return statements


# --- Installing, recounting, reading --------------------------------------------------------------------


def _expected_triggers(vendor: str) -> set[str]:
    suffixes = ("write", "update") if vendor == "postgresql" else ("insert", "delete", "update")
    return {f"{stem}_counts_{suffix}" for stem, _, _, _ in _TRIGGERS for suffix in suffixes}


def _installed_triggers(cursor, vendor: str) -> set[str]:
    if vendor == "postgresql":
        cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE '%_counts_%'")
    else:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%_counts_%'")
    return {row[0] for row in cursor.fetchall()}


def counters_ensure(db=None) -> bool:
    """Install the triggers if any is missing, then recount; True when it had to.

    Run by the migration and after every `migrate` (post_migrate): SQLite
    rebuilds a table to alter it, which drops the table's triggers, so a
    later migration of one of the four tables would otherwise stop the counts.
    """
    db = db or connection
    vendor = db.vendor
    if vendor not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"sequence counts need triggers written for {vendor}")
    with transaction.atomic(using=db.alias), db.cursor() as cursor:
        if _installed_triggers(cursor, vendor) == _expected_triggers(vendor):
            return False
        if vendor == "postgresql":
            # Writers wait while the triggers go in and the counts are rebuilt: none is missed.
            cursor.execute(f"LOCK TABLE {', '.join(TABLES)} IN SHARE ROW EXCLUSIVE MODE")
            for function in _PG_FUNCTIONS:
                cursor.execute(function)
        _drop_triggers(cursor, vendor)
        for statement in _pg_triggers() if vendor == "postgresql" else _sqlite_triggers():
            cursor.execute(statement)
        sequence_counts_rebuild(using=db)
    return True


def counters_uninstall(db=None) -> None:
    db = db or connection
    with db.cursor() as cursor:
        _drop_triggers(cursor, db.vendor)
        if db.vendor == "postgresql":
            cursor.execute(
                "DROP FUNCTION IF EXISTS nudge_enrollment_counts(), nudge_event_counts(), nudge_step_counts(), "
                "nudge_task_counts(), nudge_engage(bigint, bigint, text, integer, integer), "
                "nudge_count_at(bigint, timestamptz, text, bigint), "
                "nudge_count(bigint, integer, text, bigint)"
            )


def _drop_triggers(cursor, vendor: str) -> None:
    for stem, table, _, _ in _TRIGGERS:
        for suffix in ("write", "insert", "delete", "update"):
            on = f" ON {table}" if vendor == "postgresql" else ""
            cursor.execute(f"DROP TRIGGER IF EXISTS {stem}_counts_{suffix}{on}")


def sequence_counts_rebuild(*, using=None) -> None:
    """Recount every figure from the rows themselves (what the triggers keep, from scratch)."""
    db = using or connection
    with transaction.atomic(using=db.alias), db.cursor() as cursor:
        cursor.execute(f"DELETE FROM {COUNTS}")
        cursor.execute(f"DELETE FROM {ENGAGEMENT}")
        cursor.execute(f"DELETE FROM {TIMELINE}")
        bucket = _pg_bucket if db.vendor == "postgresql" else _sqlite_bucket
        cursor.execute(
            f"INSERT INTO {TIMELINE} (sequence_id, bucket, name, value) "
            f"SELECT sequence_id, {bucket('enrolled_at')}, 'enrolled', COUNT(*) FROM sequences_app_enrollment "
            f"GROUP BY sequence_id, {bucket('enrolled_at')}"
        )
        cursor.execute(
            f"INSERT INTO {TIMELINE} (sequence_id, bucket, name, value) "
            f"SELECT sequence_id, {bucket('occurred_at')}, {_timeline_name('e')}, COUNT(*) "
            "FROM sequences_app_emailevent e WHERE sequence_id IS NOT NULL AND kind IN ('sent', 'reply') "
            f"GROUP BY sequence_id, {bucket('occurred_at')}, kind"
        )
        cursor.execute(
            f"INSERT INTO {COUNTS} (sequence_id, step_order, name, value) "
            "SELECT sequence_id, 0, 'status.' || status, COUNT(*) FROM sequences_app_enrollment "
            "GROUP BY sequence_id, status"
        )
        cursor.execute(
            f"INSERT INTO {COUNTS} (sequence_id, step_order, name, value) "
            "SELECT sequence_id, 0, 'events.' || kind, COUNT(*) FROM sequences_app_emailevent "
            "WHERE sequence_id IS NOT NULL GROUP BY sequence_id, kind"
        )
        for step, by_step in (("0", ""), ("step_order", ", step_order")):
            cursor.execute(
                f"INSERT INTO {ENGAGEMENT} (sequence_id, enrollment_id, kind, step_order, events) "
                f"SELECT sequence_id, enrollment_id, kind, {step}, COUNT(*) FROM sequences_app_emailevent "
                f"WHERE sequence_id IS NOT NULL AND enrollment_id IS NOT NULL AND {step} IS NOT NULL "
                f"AND kind IN ({_KINDS}) GROUP BY sequence_id, enrollment_id, kind{by_step}"
            )
        cursor.execute(
            f"INSERT INTO {COUNTS} (sequence_id, step_order, name, value) "
            f"SELECT sequence_id, step_order, 'engaged.' || kind, COUNT(*) FROM {ENGAGEMENT} "
            "GROUP BY sequence_id, step_order, kind"
        )
        cursor.execute(
            f"INSERT INTO {COUNTS} (sequence_id, step_order, name, value) "
            "SELECT e.sequence_id, s.\"order\", 'executed', COUNT(*) FROM sequences_app_enrollmentstep s "
            f"JOIN sequences_app_enrollment e ON e.id = s.enrollment_id WHERE s.status IN ({_EXECUTED}) "
            "GROUP BY e.sequence_id, s.\"order\""
        )
        cursor.execute(
            f"INSERT INTO {COUNTS} (sequence_id, step_order, name, value) "
            "SELECT e.sequence_id, t.step_order, 'tasks_done', COUNT(*) FROM sequences_app_task t "
            "JOIN sequences_app_enrollment e ON e.id = t.enrollment_id "
            "WHERE t.status = 'done' AND t.step_order IS NOT NULL GROUP BY e.sequence_id, t.step_order"
        )


def sequence_counts(sequence_ids: Iterable[int]) -> dict[int, dict[tuple[int, str], int]]:
    """{sequence id: {(step_order, name): value}} for these sequences, in one indexed query (zeros left out)."""
    from sequences_app.models import SequenceCount

    counts: dict[int, dict[tuple[int, str], int]] = defaultdict(dict)
    rows = SequenceCount.objects.filter(sequence_id__in=list(sequence_ids)).exclude(value=0)
    for sequence_id, step_order, name, value in rows.values_list("sequence_id", "step_order", "name", "value"):
        counts[sequence_id][(step_order, name)] = value
    return counts
