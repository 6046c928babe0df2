"""Every answer of the four calls validates against HubSpot's spec, on both path families."""
from __future__ import annotations

import pytest
import time_machine

from hubspot_api.shapes import DATED, INT32_MAX
from hubspot_api.tests.conftest import HubSpotClient, token_for
from hubspot_api.tests.spec import assert_matches_spec
from sequences_app.models import Enrollment
from tests.factories import ContactFactory, EnrollmentFactory, SequenceFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_sequence_list_matches_the_spec(hub, rep, sequence):
    response = hub.get("", {"userId": rep.pk})
    assert response.status_code == 200
    body = assert_matches_spec(response, family=hub.family, method="GET", template="")
    assert body["total"] == 1
    assert body["results"] == [
        {
            "id": str(sequence.pk),
            "name": "Post-conference follow-up",
            "userId": str(rep.pk),
            "createdAt": body["results"][0]["createdAt"],
            "updatedAt": body["results"][0]["updatedAt"],
        }
    ]
    assert "paging" not in body


def test_a_sequence_answers_with_hubspot_steps_dependencies_and_settings(hub, rep, sequence):
    response = hub.get(f"/{sequence.pk}", {"userId": rep.pk})
    assert response.status_code == 200
    body = assert_matches_spec(response, family=hub.family, method="GET", template="/{sequenceId}")
    steps = body["steps"]
    assert [(s["stepOrder"], s["actionType"]) for s in steps] == [
        (0, "EMAIL"), (1, "TASK"), (2, "EMAIL"), (3, "TASK"), (4, "FINISH_ENROLLMENT")
    ]
    assert [s["delayMillis"] for s in steps[:3]] == [0, 2 * 86_400_000, 3 * 86_400_000]
    assert "threadEmailToStepOrder" not in steps[0]["emailPattern"]
    assert steps[2]["emailPattern"]["threadEmailToStepOrder"] == 0
    assert steps[1]["taskPattern"] | {} == steps[1]["taskPattern"]
    call = steps[1]["taskPattern"]
    assert (call["taskType"], call["taskPriority"], call["subject"], call["notes"]) == (
        "CALL", "HIGH", "Call {{ contact.first_name }}", "Ask about the demo"
    )
    assert steps[3]["taskPattern"]["taskType"] == "LINKED_IN_MESSAGE"
    # The call holds the next email; the LinkedIn task lets the sequence go on.
    assert [(d["dependencyType"], d["reliesOnStepOrder"], d["requiredByStepOrder"]) for d in body["dependencies"]] == [
        ("TASK_COMPLETION", 1, 2)
    ]
    assert body["dependencies"][0]["reliesOnSequenceStepId"] == steps[1]["id"]
    assert body["settings"] | {"createdAt": None, "updatedAt": None} == {
        "id": str(sequence.pk),
        "eligibleFollowUpDays": "BUSINESS_DAYS",
        "sendWindowStartMinute": 480,
        "sendWindowEndMinute": 1080,
        "individualTaskRemindersEnabled": True,
        "taskReminderMinute": 0,
        "sellingStrategy": "LEAD_BASED",
        "createdAt": None,
        "updatedAt": None,
    }


def test_thirty_days_is_exact_on_v4_and_capped_to_int32_on_the_dated_api(hub, rep, sequence):
    body = hub.get(f"/{sequence.pk}", {"userId": rep.pk}).json()
    expected = INT32_MAX if hub.family == DATED else 30 * 86_400_000
    assert body["steps"][3]["delayMillis"] == expected


def test_a_sequence_without_window_or_steps_answers_the_whole_day_and_a_lone_finish(hub, rep):
    bare = SequenceFactory(owner=rep, account_based=True, threaded_follow_ups=False)
    response = hub.get(f"/{bare.pk}", {"userId": rep.pk})
    body = assert_matches_spec(response, family=hub.family, method="GET", template="/{sequenceId}")
    assert (body["settings"]["sendWindowStartMinute"], body["settings"]["sendWindowEndMinute"]) == (0, 1440)
    assert body["settings"]["sellingStrategy"] == "ACCOUNT_BASED"
    assert [s["actionType"] for s in body["steps"]] == ["FINISH_ENROLLMENT"]


@time_machine.travel("2026-12-01 09:00+02:00", tick=False)
def test_enrolling_a_contact_answers_the_lite_enrollment(hub, rep, sequence):
    contact = ContactFactory(email="ada@example.com")
    response = hub.post(
        f"/enrollments?userId={rep.pk}",
        {"contactId": str(contact.pk), "sequenceId": str(sequence.pk), "senderEmail": rep.email.upper(),
         "unknownField": {"ignored": True}},
    )
    assert response.status_code == 200, response.content
    body = assert_matches_spec(response, family=hub.family, method="POST", template="/enrollments")
    enrollment = Enrollment.objects.get(contact=contact)
    assert body == {
        "id": str(enrollment.pk),
        "toEmail": "ada@example.com",
        "enrolledAt": "2026-12-01T07:00:00.000Z",
        "updatedAt": "2026-12-01T07:00:00.000Z",
    }
    assert enrollment.sender == rep
    assert enrollment.enrolled_by == rep
    assert enrollment.mailbox.email == rep.email
    assert enrollment.status == Enrollment.Status.ACTIVE


def test_a_contacts_live_enrollment_answers_the_full_enrollment(hub, rep, sequence):
    enrollment = EnrollmentFactory(sequence=sequence, sender=rep, enrolled_by=rep, mailbox=rep.mailboxes.get())
    response = hub.get(f"/enrollments/contact/{enrollment.contact_id}")
    assert response.status_code == 200
    body = assert_matches_spec(response, family=hub.family, method="GET", template="/enrollments/contact/{contactId}")
    assert body | {"enrolledAt": None, "updatedAt": None} == {
        "id": str(enrollment.pk),
        "sequenceId": str(sequence.pk),
        "sequenceName": sequence.name,
        "toEmail": enrollment.contact.email,
        "enrolledBy": str(rep.pk),
        "enrolledByEmail": rep.email,
        "enrolledAt": None,
        "updatedAt": None,
    }


def test_a_finished_enrollment_is_not_the_contacts_enrollment(hub, rep, sequence):
    enrollment = EnrollmentFactory(sequence=sequence, sender=rep, status=Enrollment.Status.FINISHED)
    response = hub.get(f"/enrollments/contact/{enrollment.contact_id}")
    assert response.status_code == 404
    body = assert_matches_spec(response, family=hub.family, method="GET", template="/enrollments/contact/{contactId}")
    assert body["category"] == "OBJECT_NOT_FOUND"


def test_cursor_paging_walks_every_sequence_once_over_several_pages(hub, rep):
    other = UserFactory()
    made = [SequenceFactory(owner=rep, name=f"Outreach {n}").pk for n in range(5)]
    SequenceFactory(owner=rep, name="Renewals")
    SequenceFactory(owner=other, name="Outreach private to someone else")
    seen: list[str] = []
    params = {"userId": rep.pk, "limit": 2, "name": "OUTREACH"}
    pages = 0
    while True:
        response = hub.get("", params)
        body = assert_matches_spec(response, family=hub.family, method="GET", template="")
        pages += 1
        assert body["total"] == 5
        seen += [row["id"] for row in body["results"]]
        if "paging" not in body:
            break
        following = body["paging"]["next"]
        assert following["link"].startswith("http://testserver" + hub.prefix + "?")
        assert f"after={following['after']}" in following["link"]
        params = {**params, "after": following["after"]}
    assert pages == 3
    assert seen == [str(pk) for pk in made]


def test_the_cursor_is_opaque_and_a_forged_one_is_a_validation_error(hub, rep):
    for forged in ("5", "abc", "czEyMw==x", "%00", "s" * 5000):
        response = hub.get("", {"userId": rep.pk, "after": forged})
        assert response.status_code == 400, forged
        body = assert_matches_spec(response, family=hub.family, method="GET", template="")
        assert body["category"] == "VALIDATION_ERROR"
        assert body["errors"][0]["in"] == "after"


def test_limit_defaults_to_100_caps_at_100_and_rejects_nonsense(hub, rep):
    for _ in range(101):
        SequenceFactory(owner=rep)
    assert len(hub.get("", {"userId": rep.pk}).json()["results"]) == 100
    assert len(hub.get("", {"userId": rep.pk, "limit": 10**30}).json()["results"]) == 100
    for bad in ("0", "-1", "ten", "1.5"):
        response = hub.get("", {"userId": rep.pk, "limit": bad})
        assert response.status_code == 400, bad
        assert_matches_spec(response, family=hub.family, method="GET", template="")


def test_a_sequence_the_user_can_not_use_is_not_found(hub, rep):
    private = SequenceFactory(owner=UserFactory(), visibility="private")
    response = hub.get(f"/{private.pk}", {"userId": rep.pk})
    assert response.status_code == 404
    body = assert_matches_spec(response, family=hub.family, method="GET", template="/{sequenceId}")
    assert body["category"] == "OBJECT_NOT_FOUND"


def test_another_users_id_answers_as_not_found_for_a_non_admin(hub, rep, sequence, family):
    colleague = UserFactory()
    for path, template in (("", ""), (f"/{sequence.pk}", "/{sequenceId}")):
        response = hub.get(path, {"userId": colleague.pk})
        assert response.status_code == 404
        body = assert_matches_spec(response, family=family, method="GET", template=template)
        assert body["category"] == "OBJECT_NOT_FOUND"
    contact = ContactFactory()
    response = hub.post(
        f"/enrollments?userId={colleague.pk}",
        {"contactId": contact.pk, "sequenceId": sequence.pk, "senderEmail": colleague.email},
    )
    assert response.status_code == 404
    assert not Enrollment.objects.exists()


def test_another_users_enrollment_of_a_contact_answers_as_not_found(hub, sequence):
    theirs = EnrollmentFactory(sequence=sequence, sender=UserFactory())
    response = hub.get(f"/enrollments/contact/{theirs.contact_id}")
    assert response.status_code == 404
    assert_matches_spec(response, family=hub.family, method="GET", template="/enrollments/contact/{contactId}")


def test_an_admin_may_act_for_another_user_and_sees_their_sequences(admin_user, rep, sequence, family):
    mine = SequenceFactory(owner=admin_user, visibility="private")
    hub = HubSpotClient(token_for(admin_user), family)
    body = assert_matches_spec(hub.get("", {"userId": rep.pk}), family=family, method="GET", template="")
    assert [row["id"] for row in body["results"]] == [str(sequence.pk)]
    assert str(mine.pk) not in [row["id"] for row in body["results"]]
    contact = ContactFactory()
    response = hub.post(
        f"/enrollments?userId={rep.pk}",
        {"contactId": contact.pk, "sequenceId": sequence.pk, "senderEmail": rep.email},
    )
    assert response.status_code == 200, response.content
    enrollment = Enrollment.objects.get(contact=contact)
    assert (enrollment.sender, enrollment.enrolled_by) == (rep, admin_user)
