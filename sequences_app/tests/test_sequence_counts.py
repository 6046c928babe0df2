"""A sequence's running counts stay exactly what counting its rows says, through every way rows change.

The counts are kept by database triggers (sequences_app.counters); each test
drives a real path (a service, a bulk UPDATE, a delete) and compares the
counts with a recount from the rows, and with the figures the pages show.
"""
from __future__ import annotations

from datetime import datetime

import pytest
from django.db import connection

from accounts_app.models import PortalSettings
from mailboxes_app.models import OutboundMessage
from sequences_app.analytics import sequence_performance
from sequences_app.counters import counters_ensure, sequence_counts, sequence_counts_rebuild
from sequences_app.models import EmailEvent, Enrollment, EnrollmentStep, Task
from sequences_app.page_selectors import sequence_list_stats
from sequences_app.services.engagement import message_clicked, message_opened
from sequences_app.services.enrollment_state import enrollment_pause, enrollment_unenroll
from sequences_app.services.enrollments import enrollment_create
from sequences_app.services.stops import reply_record
from sequences_app.services.tasks import task_complete
from tests.factories import CompanyFactory, ContactFactory, OutboundMessageFactory, TaskFactory

pytestmark = pytest.mark.django_db


def counts(sequence) -> dict:
    return dict(sequence_counts([sequence.pk]).get(sequence.pk, {}))


def recounted(sequence) -> dict:
    """What the counts would be if recounted from the rows now (then put back as they were)."""
    kept = counts(sequence)
    sequence_counts_rebuild()
    fresh = counts(sequence)
    assert fresh == kept, "the running counts drifted from the rows"
    return fresh


def enroll(sequence, rep, n: int) -> list[Enrollment]:
    contacts = ContactFactory.create_batch(n, company=CompanyFactory())
    enrolled = enrollment_create(sequence=sequence, caller=rep, contact_ids=[c.pk for c in contacts]).enrolled
    assert len(enrolled) == n
    return list(Enrollment.objects.filter(pk__in=[e.id for e in enrolled]).order_by("pk"))


def sent(enrollment: Enrollment, step_order: int = 1) -> OutboundMessage:
    message = OutboundMessageFactory(enrollment=enrollment, step_order=step_order)
    EmailEvent.of_message(message, EmailEvent.Kind.SENT, message.created_at).save()
    return message


def test_enrolling_counts_each_enrollment_by_status(sequence, rep):
    enroll(sequence, rep, 3)
    statuses = {name: n for (step, name), n in recounted(sequence).items() if name.startswith("status.")}
    assert sum(statuses.values()) == 3
    assert sequence_list_stats([sequence.pk])[sequence.pk]["enrolled"] == 3


def test_opens_count_each_enrollment_once_however_often_it_opens(sequence, rep):
    first, second, _ = enroll(sequence, rep, 3)
    one, two = sent(first), sent(second)
    message_opened(message=one)
    message_opened(message=one)
    message_opened(message=two)
    message_clicked(message=one, url="https://nudge.example/guide")

    figures = recounted(sequence)
    assert (figures[(0, "engaged.open")], figures[(1, "engaged.open")], figures[(0, "events.open")]) == (2, 2, 3)
    assert figures[(0, "engaged.click")] == 1
    stats = sequence_list_stats([sequence.pk])[sequence.pk]
    assert (stats["opened"], stats["opened_rate"]) == (2, 67)
    assert sequence_performance(sequence=sequence)["opened"] == 2


def test_a_reply_counts_the_reply_and_moves_the_enrollment_to_unenrolled(sequence, rep):
    first, _ = enroll(sequence, rep, 2)
    before = sequence_performance(sequence=sequence)["active"]
    reply_record(message=sent(first), occurred_at=first.enrolled_at)

    figures = recounted(sequence)
    assert (figures[(0, "engaged.reply")], figures[(0, "status.unenrolled")]) == (1, 1)
    performance = sequence_performance(sequence=sequence)
    assert (performance["replied"], performance["unenrolled"], performance["active"]) == (1, 1, before - 1)


def test_unenrolling_and_pausing_move_the_counts_between_statuses(sequence, rep):
    first, second, _ = enroll(sequence, rep, 3)
    enrollment_unenroll(enrollment=first)
    enrollment_pause(enrollment=second)

    figures = recounted(sequence)
    assert (figures[(0, "status.unenrolled")], figures[(0, "status.paused")]) == (1, 1)
    stats = sequence_list_stats([sequence.pk])[sequence.pk]
    assert (stats["enrolled"], stats["active"]) == (3, 2)  # paused is still running


def test_a_bulk_update_that_bypasses_the_services_is_counted_too(sequence, rep):
    enroll(sequence, rep, 4)
    Enrollment.objects.filter(sequence=sequence).update(status=Enrollment.Status.FINISHED)
    assert recounted(sequence)[(0, "status.finished")] == 4
    assert sequence_list_stats([sequence.pk])[sequence.pk]["active"] == 0


def test_executed_steps_and_completed_tasks_count_per_step(sequence, rep):
    first, second = enroll(sequence, rep, 2)
    EnrollmentStep.objects.filter(enrollment=first, order=1).update(status=EnrollmentStep.Status.SENT)
    EnrollmentStep.objects.filter(enrollment__in=[first, second], order=2).update(
        status=EnrollmentStep.Status.TASK_DONE
    )
    task = TaskFactory(owner=rep, enrollment=first, step_order=2, contact=first.contact)
    task_complete(task=task, user=rep)

    figures = recounted(sequence)
    assert (figures[(1, "executed")], figures[(2, "executed")], figures[(2, "tasks_done")]) == (1, 2, 1)
    steps = {row["order"]: row for row in sequence_performance(sequence=sequence)["steps"]}
    assert (steps[1]["executed"], steps[2]["executed"], steps[2]["tasks_completed"]) == (1, 2, 1)


def test_deleting_rows_takes_their_counts_away(sequence, rep):
    first, second = enroll(sequence, rep, 2)
    message = sent(first)
    message_opened(message=message)
    EmailEvent.objects.filter(kind=EmailEvent.Kind.OPEN).delete()
    Task.objects.all().delete()
    second.delete()

    figures = recounted(sequence)
    assert figures.get((0, "engaged.open"), 0) == 0
    assert sum(n for (_, name), n in figures.items() if name.startswith("status.")) == 1


def test_an_enrollment_deleted_takes_its_opens_with_it(sequence, rep):
    first, _ = enroll(sequence, rep, 2)
    message = sent(first)
    message_opened(message=message)
    message_opened(message=message)
    OutboundMessage.objects.filter(pk=message.pk).delete()
    first.delete()  # its events stay, without an enrollment (SET_NULL): no longer an engaged enrollment

    assert recounted(sequence).get((0, "engaged.open"), 0) == 0


def test_missing_triggers_are_put_back_and_the_counts_recounted(sequence, rep):
    enroll(sequence, rep, 2)
    with connection.cursor() as cursor:
        on = " ON sequences_app_enrollment" if connection.vendor == "postgresql" else ""
        cursor.execute(f"DROP TRIGGER enrollment_counts_update{on}")
    Enrollment.objects.filter(sequence=sequence).update(status=Enrollment.Status.FINISHED)  # not counted

    assert counters_ensure() is True
    assert counts(sequence)[(0, "status.finished")] == 2
    assert counters_ensure() is False


def test_the_chart_counts_days_of_a_half_hour_zone_from_quarter_hours(sequence, rep):
    PortalSettings.objects.update_or_create(pk=1, defaults={"time_zone": "Asia/Kolkata"})
    first, _ = enroll(sequence, rep, 2)
    message = sent(first)
    # 18:40 UTC is 00:10 the next day in India (+05:30); 18:20 UTC is 23:50 the day before.
    EmailEvent.objects.filter(message=message).update(occurred_at=datetime.fromisoformat("2026-03-26T18:40:00+00:00"))
    reply = EmailEvent.of_message(message, EmailEvent.Kind.REPLY, datetime.fromisoformat("2026-03-26T18:20:00+00:00"))
    reply.save()

    timeline = sequence_performance(sequence=sequence, now=datetime.fromisoformat("2026-03-27T12:00:00+00:00"))
    days = {day["date"]: day for day in timeline["timeline"]}
    assert (days["2026-03-27"]["sent"], days["2026-03-26"]["replied"]) == (1, 1)
    assert sum(day["sent"] for day in timeline["timeline"]) == 1
    recounted(sequence)
