"""Enrollments, tasks and meetings over the API: lists, visibility, pause/resume/unenroll, pause-all."""
from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from accounts_app.models import PortalSettings
from sequences_app.models import Enrollment, SequenceStep, StepType
from sequences_app.services.enrollments import enrollment_create
from tests.factories import (
    CompanyFactory,
    ContactFactory,
    EnrollmentFactory,
    MailboxFactory,
    SeatFactory,
    SequenceFactory,
    TaskFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _portal(db):
    PortalSettings.objects.update_or_create(pk=1, defaults={"time_zone": "Europe/Helsinki"})


def other_rep():
    user = UserFactory(can_bulk_enroll=True)
    SeatFactory(user=user)
    MailboxFactory(owner=user)
    return user


def enrolled(sender, *, steps=None, company=None):
    sequence = SequenceFactory(owner=sender, visibility="everyone")
    for order, step in enumerate(steps or [{"type": StepType.TODO, "title": "Say hi"},
                                           {"type": StepType.TODO, "title": "Again", "delay_days": 2}], start=1):
        SequenceStep.objects.create(sequence=sequence, order=order, **step)
    contact = ContactFactory(company=company)
    result = enrollment_create(sequence=sequence, caller=sender, contact_ids=[contact.pk])
    return Enrollment.objects.get(pk=result.enrolled[0].id)


def test_a_rep_sees_only_the_enrollments_they_sent(api, rep):
    mine = enrolled(rep)
    theirs = enrolled(other_rep())
    body = api.get("/api/v1/enrollments/").json()
    assert [item["id"] for item in body["results"]] == [mine.pk]
    assert api.get(f"/api/v1/enrollments/{theirs.pk}/").status_code == 404


def test_an_admin_sees_every_enrollment(admin_user, rep):
    enrolled(rep)
    enrolled(other_rep())
    client = APIClient()
    client.force_authenticate(admin_user)
    assert client.get("/api/v1/enrollments/").json()["count"] == 2


def test_the_enrollment_shape_matches_the_contract(api, rep):
    enrollment = enrolled(rep)
    body = api.get(f"/api/v1/enrollments/{enrollment.pk}/").json()
    for key in ("id", "sequence", "contact", "sender", "mailbox", "status", "reason", "time_zone",
                "current_step", "enrolled_at", "next_action_at", "steps"):
        assert key in body
    assert body["steps"][0].keys() >= {"order", "type", "status", "scheduled_for", "done_at", "detail", "message_id"}
    assert body["next_action_at"].endswith("Z")


def test_enrollments_filter_by_sequence_contact_status_and_sender(api, rep):
    first, second = enrolled(rep), enrolled(rep)
    assert [e["id"] for e in api.get(f"/api/v1/enrollments/?sequence={first.sequence_id}").json()["results"]] == [
        first.pk
    ]
    assert [e["id"] for e in api.get(f"/api/v1/enrollments/?contact={second.contact_id}").json()["results"]] == [
        second.pk
    ]
    assert api.get("/api/v1/enrollments/?status=finished").json()["count"] == 0
    assert api.get(f"/api/v1/enrollments/?sender={rep.pk}").json()["count"] == 2
    response = api.get("/api/v1/enrollments/?status=sideways")
    assert (response.status_code, response.json()["code"]) == (400, "VALIDATION_ERROR")
    assert api.get("/api/v1/enrollments/?sequence=abc").status_code == 400


def test_pause_resume_and_unenroll_change_the_status_and_refuse_what_they_cannot(api, rep):
    enrollment = enrolled(rep)
    base = f"/api/v1/enrollments/{enrollment.pk}"
    assert api.post(f"{base}/pause/").json()["status"] == "paused"
    response = api.post(f"{base}/pause/")
    assert (response.status_code, response.json()["code"]) == (409, "INVALID_STATE")
    assert api.post(f"{base}/resume/").json()["status"] == "active"
    body = api.post(f"{base}/unenroll/").json()
    assert (body["status"], body["reason"]) == ("unenrolled", "MANUAL")
    assert all(step["status"] == "skipped" for step in body["steps"][1:])
    for action in ("pause", "resume", "unenroll"):
        response = api.post(f"{base}/{action}/")
        assert (response.status_code, response.json()["code"]) == (409, "INVALID_STATE")


def test_another_reps_enrollment_can_not_be_paused(api):
    theirs = enrolled(other_rep())
    assert api.post(f"/api/v1/enrollments/{theirs.pk}/pause/").status_code == 404
    assert Enrollment.objects.get(pk=theirs.pk).status == "active"


def test_pause_all_and_resume_all_touch_only_the_callers_enrollments(api, rep):
    with time_machine.travel("2026-11-23T09:00:00+02:00", tick=False) as traveller:
        mine = [enrolled(rep), enrolled(rep)]
        theirs = enrolled(other_rep())
        Enrollment.objects.filter(pk=mine[0].pk).update(next_action_at=timezone.now() + timedelta(days=2))
        assert api.post("/api/v1/users/me/pause-all/").json() == {"paused": 2}
        assert Enrollment.objects.get(pk=theirs.pk).status == "active"
        traveller.shift(timedelta(days=5))
        assert api.post("/api/v1/users/me/resume-all/").json() == {"resumed": 2}
        resumed = Enrollment.objects.get(pk=mine[0].pk)
        # Its first step hasn't run and is two days ahead: it is scheduled again, with the delay that was left.
        assert resumed.status == "scheduled"
        assert resumed.next_action_at == timezone.now() + timedelta(days=2)
        assert Enrollment.objects.get(pk=mine[1].pk).status == "active"


def test_pausing_a_sequence_pauses_only_what_the_caller_sent_of_it(api, rep):
    mine = enrolled(rep)
    assert api.post(f"/api/v1/sequences/{mine.sequence_id}/pause/").json() == {"paused": 1}
    assert api.post(f"/api/v1/sequences/{mine.sequence_id}/resume/").json() == {"resumed": 1}
    assert api.post("/api/v1/sequences/987654/pause/").status_code == 404


def test_tasks_list_shows_the_callers_tasks_with_filters(api, rep):
    TaskFactory(owner=rep, title="Mine")
    TaskFactory(owner=rep, title="Done", status="done")
    TaskFactory(owner=other_rep(), title="Theirs")
    body = api.get("/api/v1/tasks/?status=open").json()
    assert [task["title"] for task in body["results"]] == ["Mine"]
    assert body["results"][0].keys() >= {"id", "title", "type", "priority", "notes", "due_at", "contact",
                                         "enrollment", "step_order", "status", "completed_at"}
    assert api.get("/api/v1/tasks/?status=later").status_code == 400


def test_completing_a_task_is_idempotent_and_only_for_its_owner(api, rep):
    task = TaskFactory(owner=rep)
    first = api.post(f"/api/v1/tasks/{task.pk}/complete/").json()
    second = api.post(f"/api/v1/tasks/{task.pk}/complete/").json()
    assert first["status"] == second["status"] == "done"
    assert first["completed_at"] == second["completed_at"]
    theirs = TaskFactory(owner=other_rep())
    assert api.post(f"/api/v1/tasks/{theirs.pk}/complete/").status_code == 404


def test_a_meeting_unenrolls_the_contact_and_account_based_the_company(api, rep):
    company = CompanyFactory()
    booked = enrolled(rep, company=company)
    colleague = enrolled(rep, company=company)
    sequence = booked.sequence
    sequence.account_based = True
    sequence.save()
    snapshot = booked.snapshot
    snapshot["settings"]["account_based"] = True
    Enrollment.objects.filter(pk=booked.pk).update(snapshot=snapshot)

    response = api.post("/api/v1/meetings/", {"contact": booked.contact_id, "starts_at": "2026-01-01T10:00:00Z"},
                        format="json")

    assert response.status_code == 201
    assert response.json()["user"] == rep.pk
    booked.refresh_from_db()
    colleague.refresh_from_db()
    assert (booked.status, booked.reason) == ("unenrolled", "MEETING_BOOKED")
    assert (colleague.status, colleague.reason) == ("unenrolled", "COMPANY_MEETING_BOOKED")


def test_a_meeting_without_unenroll_on_meeting_leaves_the_enrollment_running(api, rep):
    enrollment = enrolled(rep)
    snapshot = enrollment.snapshot
    snapshot["settings"]["unenroll_on_meeting"] = False
    Enrollment.objects.filter(pk=enrollment.pk).update(snapshot=snapshot)
    api.post("/api/v1/meetings/", {"contact": enrollment.contact_id, "starts_at": "2026-12-01T10:00:00Z"},
             format="json")
    assert Enrollment.objects.get(pk=enrollment.pk).status == "active"


def test_a_rep_records_meetings_only_for_themselves(api, rep):
    """A meeting ends enrollments: recording one for another user ended theirs (the probe's finding)."""
    colleague = other_rep()
    theirs = enrolled(colleague)
    response = api.post("/api/v1/meetings/", {"contact": theirs.contact_id, "user": colleague.pk,
                                              "starts_at": "2026-12-01T10:00:00Z"}, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "PERMISSION_DENIED")
    assert Enrollment.objects.get(pk=theirs.pk).status == "active"
    assert not theirs.contact.meetings.exists()
    mine = api.post("/api/v1/meetings/", {"contact": theirs.contact_id, "user": rep.pk,
                                          "starts_at": "2026-12-01T10:00:00Z"}, format="json")
    assert mine.status_code == 201


def test_an_admin_records_a_meeting_for_anyone(admin_user, rep):
    theirs = enrolled(rep)
    client = APIClient()
    client.force_authenticate(admin_user)
    response = client.post("/api/v1/meetings/", {"contact": theirs.contact_id, "user": rep.pk,
                                                 "starts_at": "2026-12-01T10:00:00Z"}, format="json")
    assert response.status_code == 201
    assert response.json()["user"] == rep.pk
    assert Enrollment.objects.get(pk=theirs.pk).reason == "MEETING_BOOKED"


@pytest.mark.parametrize(
    "payload",
    [{}, {"contact": "x", "starts_at": "2026-12-01T10:00:00Z"}, {"contact": 987654, "starts_at": "2026-12-01"},
     {"contact": 1, "starts_at": "soon"}, [], "meeting"],
)
def test_a_bad_meeting_is_a_validation_error(api, payload):
    response = api.post("/api/v1/meetings/", payload, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"


def test_unauthenticated_calls_get_not_authenticated():
    client = APIClient()
    for path in ("/api/v1/enrollments/", "/api/v1/tasks/"):
        response = client.get(path)
        assert (response.status_code, response.json()["code"]) == (401, "NOT_AUTHENTICATED")
    enrollment = EnrollmentFactory()
    assert client.post(f"/api/v1/enrollments/{enrollment.pk}/pause/").status_code == 401
