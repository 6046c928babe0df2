"""config.db.rows_update: many rows, each its own values, one UPDATE — on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from config.db import rows_update
from sequences_app.models import Enrollment
from tests.factories import EnrollmentFactory

pytestmark = pytest.mark.django_db
AT = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def test_each_row_gets_its_own_values_in_one_statement():
    first, second, third = (EnrollmentFactory() for _ in range(3))
    first.next_action_at, second.next_action_at, third.next_action_at = AT, AT + timedelta(hours=1), None
    first.paused_remaining, second.paused_remaining, third.paused_remaining = None, timedelta(days=2), None
    for enrollment in (first, second, third):
        enrollment.status = "active"
    versions = {e.pk: e.version for e in (first, second, third)}
    with CaptureQueriesContext(connection) as queries:
        assert rows_update([first, second, third], ["next_action_at", "paused_remaining", "status"],
                           version=F("version") + 1) == 3
    assert len(queries.captured_queries) == 1
    rows = {e.pk: e for e in Enrollment.objects.all()}
    assert rows[first.pk].next_action_at == AT
    assert rows[second.pk].next_action_at == AT + timedelta(hours=1)
    assert rows[third.pk].next_action_at is None
    assert rows[second.pk].paused_remaining == timedelta(days=2)
    assert {e.status for e in rows.values()} == {"active"}
    assert all(rows[pk].version == version + 1 for pk, version in versions.items())


def test_only_the_given_rows_change():
    chosen, other = EnrollmentFactory(), EnrollmentFactory()
    before = other.next_action_at
    chosen.next_action_at = AT
    rows_update([chosen], ["next_action_at"])
    assert Enrollment.objects.get(pk=chosen.pk).next_action_at == AT
    assert Enrollment.objects.get(pk=other.pk).next_action_at == before


def test_nothing_to_write_is_no_statement():
    with CaptureQueriesContext(connection) as queries:
        assert rows_update([], ["status"]) == 0
    assert queries.captured_queries == []
