""""Exists but not yours" answers exactly like "does not exist" (API.md: a user sees only what they may).

Before, another rep's private sequence answered 403 SEQUENCE_NOT_SHARED to
an enrollment and 200 {"paused": 0} to pause/resume, and another user's
mailbox "The mailbox is not one of the sender's" — each told the caller the
id exists.
"""
from __future__ import annotations

import pytest

from config.errors import ValidationFailed
from sequences_app.models import Enrollment, SequenceStep, StepType
from sequences_app.selectors import sequence_is_shared_with
from sequences_app.services.enrollments import enrollment_create
from tests.factories import ContactFactory, EnrollmentFactory, MailboxFactory, SequenceFactory, UserFactory

pytestmark = pytest.mark.django_db
MISSING = 999_999


@pytest.fixture
def hidden(db):
    """Another rep's private sequence."""
    sequence = SequenceFactory(owner=UserFactory(), visibility="private")
    SequenceStep.objects.create(sequence=sequence, order=1, type=StepType.TODO, title="Hi")
    return sequence


def answer(response) -> tuple[int, dict]:
    return response.status_code, response.json()


@pytest.mark.parametrize("path", ["enrollments/", "pause/", "resume/"])
def test_another_reps_private_sequence_answers_like_one_that_does_not_exist(api, hidden, path):
    body = {"contacts": [ContactFactory().pk]} if path == "enrollments/" else {}
    theirs = api.post(f"/api/v1/sequences/{hidden.pk}/{path}", body, format="json")
    missing = api.post(f"/api/v1/sequences/{MISSING}/{path}", body, format="json")
    assert answer(theirs) == answer(missing) == (404, {"code": "NOT_FOUND", "message": "Not found."})


def test_pausing_and_resuming_leave_another_reps_enrollments_alone(api, hidden):
    live = EnrollmentFactory(sequence=hidden, sender=hidden.owner, status="active")
    api.post(f"/api/v1/sequences/{hidden.pk}/pause/")
    live.refresh_from_db()
    assert live.status == "active"


def test_a_rep_still_pauses_their_own_enrollments_of_a_sequence_no_longer_shared_with_them(api, rep, hidden):
    mine = EnrollmentFactory(sequence=hidden, sender=rep, status="active")
    assert not sequence_is_shared_with(hidden, rep)
    assert api.post(f"/api/v1/sequences/{hidden.pk}/pause/").json() == {"paused": 1}
    assert Enrollment.objects.get(pk=mine.pk).status == "paused"
    assert api.post(f"/api/v1/sequences/{hidden.pk}/resume/").json() == {"resumed": 1}


def test_another_users_mailbox_answers_like_one_that_does_not_exist(api, sequence):
    theirs = MailboxFactory(owner=UserFactory())
    body = {"contacts": [ContactFactory().pk], "time_zone": "Europe/Helsinki"}
    url = f"/api/v1/sequences/{sequence.pk}/enrollments/"
    mine = answer(api.post(url, {**body, "mailbox": theirs.pk}, format="json"))
    missing = answer(api.post(url, {**body, "mailbox": MISSING}, format="json"))
    assert mine[0] == missing[0] == 400
    assert mine[1]["fields"] == {"mailbox": [f"No mailbox with id {theirs.pk}."]}
    assert mine[1]["message"] == missing[1]["message"]
    assert not Enrollment.objects.exists()


def test_the_enrollment_service_answers_the_same_for_every_entry_point(rep, sequence):
    """The pages and HubSpot's API come through the service: it, too, hides whose mailbox an id is."""
    theirs = MailboxFactory(owner=UserFactory())
    with pytest.raises(ValidationFailed) as refused:
        enrollment_create(sequence=sequence, caller=rep, contact_ids=[ContactFactory().pk], mailbox=theirs)
    assert refused.value.extra["fields"] == {"mailbox": [f"No mailbox with id {theirs.pk}."]}
