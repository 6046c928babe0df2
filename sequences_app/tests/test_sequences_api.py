"""`/api/v1/sequences/`: create with steps in one payload, read, edit, delete, and who may do which."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts_app.models import User
from sequences_app.models import Enrollment, Sequence, SequenceStep
from tests.factories import (
    ContactFactory,
    EnrollmentFactory,
    SequenceFactory,
    SequenceStepFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/sequences/"

# The example of API.md, "Sequences", verbatim.
EXAMPLE: dict[str, Any] = {
    "name": "Post-conference follow-up",
    "sharing": {"visibility": "private", "users": [], "teams": []},
    "settings": {
        "follow_up_days": "BUSINESS_DAYS",
        "send_window": {"start_minute": 480, "end_minute": 1080},
        "threaded_follow_ups": True,
        "unenroll_on_reply": True,
        "unenroll_on_meeting": True,
        "account_based": False,
        "task_reminders": True,
    },
    "steps": [
        {
            "order": 1,
            "type": "automated_email",
            "delay_days": 0,
            "subject": "Great meeting you, {{ contact.first_name }}",
            "body_html": "<p>...</p>",
        },
        {
            "order": 2,
            "type": "call",
            "delay_days": 2,
            "title": "Call {{ contact.first_name }}",
            "notes": "",
            "priority": "high",
            "create_task_immediately": False,
            "continue_without_completion": False,
        },
        {"order": 3, "type": "automated_email", "delay_days": 3, "subject": "", "body_html": "<p>...</p>"},
    ],
}
STEP_KEYS = {
    "id",
    "order",
    "type",
    "delay_days",
    "subject",
    "body_html",
    "title",
    "notes",
    "priority",
    "create_task_immediately",
    "continue_without_completion",
}
DEFAULT_SETTINGS = {
    "follow_up_days": "BUSINESS_DAYS",
    "send_window": None,
    "threaded_follow_ups": True,
    "unenroll_on_reply": True,
    "unenroll_on_meeting": True,
    "account_based": False,
    "task_reminders": True,
}




def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def documented(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings API.md names (the answer may add more)."""
    return {key: settings[key] for key in DEFAULT_SETTINGS}


def payload(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(EXAMPLE)
    data.update(changes)
    return data


def with_step(index: int, **changes: Any) -> dict[str, Any]:
    data = payload()
    data["steps"][index].update(changes)
    return data


def post(client: APIClient, data: Any) -> Any:
    return client.post(URL, data, format="json")


def saved_sequence(owner: Any, **kwargs: Any) -> Sequence:
    sequence = SequenceFactory(owner=owner, **kwargs)
    SequenceStepFactory(sequence=sequence, order=1)
    return sequence


def assert_refused(response: Any, *fields: str) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert body["message"]
    for field in fields:
        assert field in body["fields"], body["fields"]


# --- Create ---------------------------------------------------------------------------------------------


def test_the_api_example_creates_a_sequence_with_its_steps_in_one_call(rep):
    response = post(client_for(rep), EXAMPLE)

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= {"id", "name", "owner", "sharing", "settings", "steps", "created_at", "updated_at"}
    assert body["name"] == "Post-conference follow-up"
    assert body["owner"] == rep.pk
    assert body["sharing"] == {"visibility": "private", "users": [], "teams": []}
    assert documented(body["settings"]) == {
        **DEFAULT_SETTINGS,
        "send_window": {"start_minute": 480, "end_minute": 1080},
    }
    assert [step["order"] for step in body["steps"]] == [1, 2, 3]
    assert all(set(step) == STEP_KEYS for step in body["steps"])
    call = body["steps"][1]
    assert call["type"] == "call"
    assert call["title"] == "Call {{ contact.first_name }}"
    assert call["priority"] == "high"
    assert call["delay_days"] == 2
    assert body["steps"][2]["subject"] == ""
    sequence = Sequence.objects.get(pk=body["id"])
    assert list(sequence.steps.values_list("id", flat=True)) == [step["id"] for step in body["steps"]]
    assert sequence.send_window_start_minute == 480
    assert sequence.send_window_end_minute == 1080


def test_settings_left_out_take_the_documented_defaults(rep):
    data = payload()
    del data["settings"], data["sharing"]

    body = post(client_for(rep), data).json()

    assert documented(body["settings"]) == DEFAULT_SETTINGS
    assert body["sharing"] == {"visibility": "private", "users": [], "teams": []}


def test_a_send_window_may_be_null(rep):
    data = payload()
    data["settings"]["send_window"] = None

    assert post(client_for(rep), data).json()["settings"]["send_window"] is None


def test_the_first_steps_delay_is_ignored(rep):
    body = post(client_for(rep), with_step(0, delay_days=9)).json()

    assert body["steps"][0]["delay_days"] == 0


def test_steps_may_come_in_any_order_and_are_stored_by_order(rep):
    data = payload()
    data["steps"].reverse()

    body = post(client_for(rep), data).json()

    assert [step["order"] for step in body["steps"]] == [1, 2, 3]
    assert body["steps"][0]["subject"].startswith("Great meeting you")


def test_orders_default_to_the_position_in_the_list(rep):
    data = payload()
    for step in data["steps"]:
        del step["order"]

    body = post(client_for(rep), data).json()

    assert [step["type"] for step in body["steps"]] == ["automated_email", "call", "automated_email"]


def test_a_follow_up_email_may_leave_its_subject_empty_to_reply_in_thread(rep):
    assert post(client_for(rep), EXAMPLE).json()["steps"][2]["subject"] == ""


def test_fields_a_step_type_does_not_use_are_stored_empty(rep):
    data = with_step(0, title="stray", priority="high")
    data["steps"][1].update(subject="stray", body_html="<p>stray</p>")

    body = post(client_for(rep), data).json()

    assert body["steps"][0]["title"] == ""
    assert body["steps"][0]["priority"] == "none"
    assert body["steps"][1]["subject"] == ""
    assert body["steps"][1]["body_html"] == ""


def test_a_manual_email_task_keeps_its_draft(rep):
    data = payload()
    data["steps"][1] = {
        "order": 2,
        "type": "manual_email",
        "title": "Write to {{ contact.first_name }}",
        "subject": "Quick question",
        "body_html": "<p>Hi</p>",
    }

    body = post(client_for(rep), data).json()

    assert body["steps"][1]["subject"] == "Quick question"
    assert body["steps"][1]["body_html"] == "<p>Hi</p>"


def test_email_bodies_are_sanitised_and_keep_their_tokens(rep):
    body_html = (
        '<p onclick="steal()">Hi {{ contact.first_name }}<script>alert(1)</script></p>'
        '<a href="javascript:alert(1)">bad</a> <a href="https://example.com/?u={{ contact.email }}">good</a>'
        '<img src="https://example.com/x.png" onerror="steal()"><table><tr><td>cell</td></tr></table>'
    )

    body = post(client_for(rep), with_step(0, body_html=body_html)).json()

    stored = body["steps"][0]["body_html"]
    assert "script" not in stored
    assert "onclick" not in stored
    assert "onerror" not in stored
    assert "javascript:" not in stored
    assert "{{ contact.first_name }}" in stored
    assert 'href="https://example.com/?u={{ contact.email }}' in stored
    assert '<img src="https://example.com/x.png">' in stored
    assert "<td>cell</td>" in stored


def test_a_custom_contact_property_is_a_known_token_once_some_contact_has_it(rep):
    data = with_step(0, body_html="<p>How is {{ contact.favourite_band }}?</p>")
    assert_refused(post(client_for(rep), data), "steps.0.body_html")

    ContactFactory(properties={"favourite_band": "Nightwish"})

    assert post(client_for(rep), data).status_code == 201


def test_sharing_with_users_and_teams(rep):
    colleague, team = UserFactory(), TeamFactory()
    data = payload(sharing={"visibility": "specific", "users": [colleague.pk], "teams": [team.pk]})

    body = post(client_for(rep), data).json()

    assert body["sharing"] == {"visibility": "specific", "users": [colleague.pk], "teams": [team.pk]}


# --- Validation: every rule, 400 VALIDATION_ERROR under the field's name, nothing written ---------------

INVALID = [
    pytest.param({"name": None}, "name", id="name-missing"),
    pytest.param({"name": "   "}, "name", id="name-blank"),
    pytest.param({"name": "x" * 256}, "name", id="name-too-long"),
    pytest.param({"name": 42}, "name", id="name-not-text"),
    pytest.param({"name": "a\x00b"}, "name", id="name-with-nul"),
    pytest.param({"steps": None}, "steps", id="steps-missing"),
    pytest.param({"steps": []}, "steps", id="no-steps"),
    pytest.param({"steps": "three"}, "steps", id="steps-not-a-list"),
    pytest.param({"steps": [7]}, "steps.0", id="step-not-an-object"),
    pytest.param({"settings": "fast"}, "settings", id="settings-not-an-object"),
    pytest.param({"settings": {"follow_up_days": "SOMETIMES"}}, "settings.follow_up_days", id="follow-up-days"),
    pytest.param({"settings": {"send_window": {"start_minute": 900, "end_minute": 600}}}, "settings.send_window"),
    pytest.param({"settings": {"send_window": {"start_minute": 0, "end_minute": 1441}}}, "settings.send_window"),
    pytest.param({"settings": {"send_window": "9-17"}}, "settings.send_window", id="window-not-an-object"),
    pytest.param({"settings": {"threaded_follow_ups": "yes"}}, "settings.threaded_follow_ups", id="setting-bool"),
    pytest.param({"settings": {"speed": "ludicrous"}}, "settings.speed", id="unknown-setting"),
    pytest.param({"sharing": "everyone"}, "sharing", id="sharing-not-an-object"),
    pytest.param({"sharing": {"visibility": "team"}}, "sharing.visibility", id="visibility"),
    pytest.param({"sharing": {"visibility": "specific", "users": [987654]}}, "sharing.users", id="unknown-user"),
    pytest.param({"sharing": {"visibility": "specific", "teams": [987654]}}, "sharing.teams", id="unknown-team"),
    pytest.param({"sharing": {"visibility": "specific", "users": ["1"]}}, "sharing.users", id="user-id-text"),
    pytest.param({"sharing": {"visibility": "specific", "teams": 3}}, "sharing.teams", id="teams-not-a-list"),
    pytest.param({"sharing": {"visibility": "specific", "users": [10**30]}}, "sharing.users", id="user-id-huge"),
]


@pytest.mark.parametrize(("changes", "field"), INVALID)
def test_invalid_sequences_are_refused_with_the_field_named(rep, changes, field):
    assert_refused(post(client_for(rep), payload(**changes)), field)
    assert not Sequence.objects.exists()
    assert not SequenceStep.objects.exists()


INVALID_STEP = [
    pytest.param(0, {"type": "fax"}, "steps.0.type", id="unknown-type"),
    pytest.param(0, {"type": None}, "steps.0.type", id="no-type"),
    pytest.param(1, {"delay_days": -1}, "steps.1.delay_days", id="negative-delay"),
    pytest.param(1, {"delay_days": 366}, "steps.1.delay_days", id="delay-over-a-year"),
    pytest.param(1, {"delay_days": "2"}, "steps.1.delay_days", id="delay-as-text"),
    pytest.param(1, {"delay_days": 2.5}, "steps.1.delay_days", id="delay-fractional"),
    pytest.param(1, {"delay_days": True}, "steps.1.delay_days", id="delay-bool"),
    pytest.param(0, {"order": 0}, "steps.0.order", id="order-zero"),
    pytest.param(0, {"order": "1"}, "steps.0.order", id="order-as-text"),
    pytest.param(1, {"order": 1}, "steps.1.order", id="order-duplicate"),
    pytest.param(2, {"order": 4}, "steps", id="order-gap"),
    pytest.param(0, {"body_html": ""}, "steps.0.body_html", id="email-without-body"),
    pytest.param(0, {"body_html": "<p><br></p>"}, "steps.0.body_html", id="email-with-an-empty-editor-body"),
    pytest.param(2, {"body_html": None}, "steps.2.body_html", id="follow-up-without-body"),
    pytest.param(0, {"subject": ""}, "steps.0.subject", id="first-email-without-subject"),
    pytest.param(0, {"subject": "Hi\r\nBcc: everyone@example.com"}, "steps.0.subject", id="subject-header-injection"),
    pytest.param(0, {"subject": "x" * 999}, "steps.0.subject", id="subject-too-long"),
    pytest.param(0, {"subject": ["Hi"]}, "steps.0.subject", id="subject-not-text"),
    pytest.param(0, {"subject": "Hi\x00"}, "steps.0.subject", id="subject-with-nul"),
    pytest.param(0, {"body_html": "<p>\x00</p>"}, "steps.0.body_html", id="body-with-nul"),
    pytest.param(0, {"body_html": "x" * 200_001}, "steps.0.body_html", id="body-too-long"),
    pytest.param(1, {"title": ""}, "steps.1.title", id="task-without-title"),
    pytest.param(1, {"title": "x" * 256}, "steps.1.title", id="title-too-long"),
    pytest.param(1, {"priority": "urgent"}, "steps.1.priority", id="priority"),
    pytest.param(1, {"notes": {"a": 1}}, "steps.1.notes", id="notes-not-text"),
    pytest.param(1, {"create_task_immediately": "yes"}, "steps.1.create_task_immediately", id="flag-as-text"),
    pytest.param(1, {"continue_without_completion": 1}, "steps.1.continue_without_completion", id="flag-as-1"),
    pytest.param(0, {"subject": "Hi {{ ''.__class__ }}"}, "steps.0.subject", id="token-expression"),
    pytest.param(0, {"subject": "{{ contact.first_name|upper }}"}, "steps.0.subject", id="token-filter"),
    pytest.param(0, {"body_html": "<p>{% load static %}</p>"}, "steps.0.body_html", id="template-tag"),
    pytest.param(0, {"body_html": "<p>{# hidden #}hi</p>"}, "steps.0.body_html", id="template-comment"),
    pytest.param(0, {"body_html": "<p>{{ settings.SECRET_KEY }}</p>"}, "steps.0.body_html", id="unknown-object"),
    pytest.param(0, {"body_html": "<p>{{ contact.shoe_size }}</p>"}, "steps.0.body_html", id="unknown-property"),
    pytest.param(0, {"body_html": "<p>{{ sender.password }}</p>"}, "steps.0.body_html", id="sender-secret"),
    pytest.param(1, {"title": "Call {{ contact.nickname }}"}, "steps.1.title", id="unknown-token-in-title"),
    pytest.param(1, {"notes": "{{ contact.__dict__ }}"}, "steps.1.notes", id="dunder-in-notes"),
    # A tag the sanitiser strips must not glue a forbidden expression together.
    pytest.param(0, {"body_html": "{<x></x>{ ''.__class__ }}"}, "steps.0.body_html", id="token-split-by-a-tag"),
]


@pytest.mark.parametrize(("index", "changes", "field"), INVALID_STEP)
def test_invalid_steps_are_refused_with_the_step_and_field_named(rep, index, changes, field):
    assert_refused(post(client_for(rep), with_step(index, **changes)), field)
    assert not Sequence.objects.exists()
    assert not SequenceStep.objects.exists()


def test_more_than_fifty_steps_are_refused(rep):
    steps = [{"order": n, "type": "todo", "title": f"Step {n}"} for n in range(1, 52)]

    assert_refused(post(client_for(rep), payload(steps=steps)), "steps")


def test_fifty_steps_are_fine(rep):
    steps = [{"order": n, "type": "todo", "title": f"Step {n}"} for n in range(1, 51)]

    assert post(client_for(rep), payload(steps=steps)).status_code == 201


def test_a_huge_step_list_is_refused_without_reading_each_step(rep, django_assert_max_num_queries):
    steps = [{"order": "x", "type": object.__name__}] * 20_000

    with django_assert_max_num_queries(2):
        assert_refused(post(client_for(rep), payload(steps=steps)), "steps")


def test_every_problem_is_reported_in_one_answer(rep):
    data = payload(name="", settings={"follow_up_days": "never"})
    data["steps"][0]["subject"] = "{{ contact.nope }}"
    data["steps"][1]["priority"] = "urgent"

    body = post(client_for(rep), data).json()

    assert {"name", "settings.follow_up_days", "steps.0.subject", "steps.1.priority"} <= set(body["fields"])


@pytest.mark.parametrize("body", [[], [EXAMPLE], "sequence", 42, None, True])
def test_a_body_that_is_not_an_object_is_refused(rep, body):
    response = client_for(rep).post(URL, json.dumps(body), content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"


def test_malformed_json_is_refused(rep):
    response = client_for(rep).post(URL, '{"name": "x", "steps": [', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"


GARBAGE = [None, True, 0, -1, 2.5, 10**30, "", "x" * 5000, "\x00", [], [None], {}, {"a": {"b": []}}]


@pytest.mark.parametrize("value", GARBAGE, ids=repr)
def test_garbage_anywhere_never_causes_a_server_error(rep, value):
    client = client_for(rep)
    for key in ("name", "sharing", "settings", "steps"):
        assert post(client, payload(**{key: value})).status_code in (201, 400), key
    for key in ("visibility", "users", "teams"):
        assert post(client, payload(sharing={"visibility": "specific", key: value})).status_code in (201, 400)
    for key in [*EXAMPLE["settings"], "unknown"]:
        assert post(client, payload(settings={key: value})).status_code in (201, 400), key
    for key in [*sorted(STEP_KEYS), "unknown"]:
        for index in (0, 1):
            response = post(client, with_step(index, **{key: value}))
            assert response.status_code in (201, 400), (key, index, response.content[:300])


def test_unauthenticated_callers_get_401():
    response = APIClient().get(URL)

    assert response.status_code == 401
    assert response.json()["code"] == "NOT_AUTHENTICATED"


# --- Reading and sharing -------------------------------------------------------------------------------


def test_the_list_is_paginated_and_shows_whole_sequences(rep):
    post(client_for(rep), EXAMPLE)

    body = client_for(rep).get(URL).json()

    assert set(body) == {"count", "count_capped", "next", "previous", "results"}
    assert body["count"] == 1
    assert body["results"][0]["steps"][1]["title"] == "Call {{ contact.first_name }}"


def test_a_rep_cannot_read_another_reps_private_sequence(rep):
    private = saved_sequence(UserFactory(), visibility="private")

    assert client_for(rep).get(f"{URL}{private.pk}/").status_code == 404
    assert client_for(rep).get(URL).json()["count"] == 0


def test_a_rep_reads_a_sequence_shared_with_everyone(rep):
    shared = saved_sequence(UserFactory(), visibility="everyone")

    assert client_for(rep).get(f"{URL}{shared.pk}/").status_code == 200
    assert [s["id"] for s in client_for(rep).get(URL).json()["results"]] == [shared.pk]


def test_a_rep_reads_a_sequence_shared_with_their_team(rep):
    team = TeamFactory()
    team.members.add(rep)
    shared = saved_sequence(UserFactory(), visibility="specific")
    shared.shared_teams.add(team)
    other_team = saved_sequence(UserFactory(), visibility="specific")
    other_team.shared_teams.add(TeamFactory())

    assert client_for(rep).get(f"{URL}{shared.pk}/").status_code == 200
    assert client_for(rep).get(f"{URL}{other_team.pk}/").status_code == 404


def test_a_rep_reads_a_sequence_shared_with_them_by_name(rep):
    shared = saved_sequence(UserFactory(), visibility="specific")
    shared.shared_users.add(rep)

    assert client_for(rep).get(f"{URL}{shared.pk}/").status_code == 200


def test_users_named_on_a_sequence_that_is_not_specific_gain_nothing(rep):
    private = saved_sequence(UserFactory(), visibility="private")
    private.shared_users.add(rep)

    assert client_for(rep).get(f"{URL}{private.pk}/").status_code == 404


def test_an_admin_reads_every_sequence(admin_user):
    private = saved_sequence(UserFactory(), visibility="private")

    assert client_for(admin_user).get(f"{URL}{private.pk}/").status_code == 200


def test_the_list_filters_by_name_and_owner(rep):
    other = UserFactory()
    mine = saved_sequence(rep, name="Webinar follow-up")
    saved_sequence(rep, name="Cold outreach")
    theirs = saved_sequence(other, name="Webinar nurture", visibility="everyone")
    client = client_for(rep)

    assert {s["id"] for s in client.get(URL, {"search": "webinar"}).json()["results"]} == {mine.pk, theirs.pk}
    assert [s["id"] for s in client.get(URL, {"owner": other.pk}).json()["results"]] == [theirs.pk]


@pytest.mark.parametrize("owner", ["abc", "-1", "1.5", str(10**30)])
def test_a_malformed_owner_filter_is_a_validation_error(rep, owner):
    response = client_for(rep).get(URL, {"owner": owner})

    assert_refused(response, "owner")


def test_listing_costs_the_same_queries_for_3_or_30_sequences(rep, django_assert_max_num_queries):
    team = TeamFactory()
    colleagues = User.objects.bulk_create(User(username=f"colleague{n}") for n in range(30))
    for n, colleague in enumerate(colleagues):
        sequence = saved_sequence(rep, visibility="specific")
        SequenceStepFactory(sequence=sequence, order=2)
        sequence.shared_users.add(colleague)
        sequence.shared_teams.add(team)
        if n == 2:
            with django_assert_max_num_queries(5):
                few = client_for(rep).get(URL)
    with django_assert_max_num_queries(5):
        many = client_for(rep).get(URL)

    assert few.json()["count"] == 3
    assert many.json()["count"] == 30
    assert all(len(s["steps"]) == 2 and len(s["sharing"]["users"]) == 1 for s in many.json()["results"])


@pytest.mark.parametrize("path", ["abc/", "0/", f"{10**30}/"])
def test_unknown_ids_and_other_owners_paths_are_not_found_here(rep, path):
    saved_sequence(rep)

    assert client_for(rep).get(f"{URL}{path}").status_code == 404


@pytest.mark.parametrize("action", ["enrollments/", "pause/", "resume/"])
def test_the_enrollment_actions_under_a_sequence_take_only_post(rep, action):
    sequence = saved_sequence(rep)

    response = client_for(rep).get(f"{URL}{sequence.pk}/{action}")
    assert (response.status_code, response.json()["code"]) == (405, "METHOD_NOT_ALLOWED")


def test_a_deleted_sequence_is_gone_for_everyone(rep, admin_user):
    sequence = saved_sequence(rep)
    client_for(rep).delete(f"{URL}{sequence.pk}/")

    for user in (rep, admin_user):
        assert client_for(user).get(f"{URL}{sequence.pk}/").status_code == 404
        assert client_for(user).get(URL).json()["count"] == 0


# --- Editing -------------------------------------------------------------------------------------------


def test_patch_changes_only_the_fields_given(rep):
    created = post(client_for(rep), EXAMPLE).json()

    response = client_for(rep).patch(f"{URL}{created['id']}/", {"name": "Renamed"}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Renamed"
    assert body["steps"] == created["steps"]
    assert body["settings"] == created["settings"]


def test_patch_merges_settings_onto_the_current_ones(rep):
    data = payload()
    data["settings"]["account_based"] = True
    created = post(client_for(rep), data).json()

    body = client_for(rep).patch(f"{URL}{created['id']}/", {"settings": {"send_window": None}}, format="json").json()

    assert body["settings"]["send_window"] is None
    assert body["settings"]["account_based"] is True


def test_patch_with_steps_replaces_the_whole_step_list(rep):
    created = post(client_for(rep), EXAMPLE).json()
    steps = [{"order": 1, "type": "todo", "title": "Research {{ company.name }}"}]

    body = client_for(rep).patch(f"{URL}{created['id']}/", {"steps": steps}, format="json").json()

    assert [(s["order"], s["type"]) for s in body["steps"]] == [(1, "todo")]
    assert SequenceStep.objects.filter(sequence_id=created["id"]).count() == 1


def test_echoing_steps_back_with_their_ids_is_accepted(rep):
    created = post(client_for(rep), EXAMPLE).json()
    steps = created["steps"]
    steps[1]["priority"] = "low"

    body = client_for(rep).patch(f"{URL}{created['id']}/", {"steps": steps}, format="json").json()

    assert body["steps"][1]["priority"] == "low"


def test_put_replaces_everything_and_resets_what_it_leaves_out(rep):
    data = payload(sharing={"visibility": "everyone"})
    data["settings"]["account_based"] = True
    created = post(client_for(rep), data).json()
    replacement = {"name": "Fresh", "steps": [{"order": 1, "type": "call", "title": "Call"}]}

    body = client_for(rep).put(f"{URL}{created['id']}/", replacement, format="json").json()

    assert body["name"] == "Fresh"
    assert documented(body["settings"]) == DEFAULT_SETTINGS
    assert body["sharing"]["visibility"] == "private"
    assert [s["type"] for s in body["steps"]] == ["call"]


def test_put_needs_a_name_and_steps(rep):
    created = post(client_for(rep), EXAMPLE).json()

    response = client_for(rep).put(f"{URL}{created['id']}/", {"settings": {}}, format="json")

    assert_refused(response, "name", "steps")


def test_an_invalid_edit_changes_nothing(rep):
    created = post(client_for(rep), EXAMPLE).json()
    bad_steps = [{"order": 1, "type": "automated_email", "subject": "{{ x.y }}", "body_html": "<p>x</p>"}]

    response = client_for(rep).patch(f"{URL}{created['id']}/", {"name": "Renamed", "steps": bad_steps}, format="json")

    assert_refused(response, "steps.0.subject")
    assert client_for(rep).get(f"{URL}{created['id']}/").json() == created


def test_an_edit_reaches_the_sequence_rows_only_not_enrollment_snapshots(rep):
    created = post(client_for(rep), EXAMPLE).json()
    snapshot = {"sequence_name": "Post-conference follow-up", "settings": {}, "steps": created["steps"]}
    enrollment = EnrollmentFactory(sequence_id=created["id"], sender=rep, snapshot=snapshot)
    steps = [{"order": 1, "type": "automated_email", "subject": "New", "body_html": "<p>New</p>"}]

    client_for(rep).patch(f"{URL}{created['id']}/", {"name": "Renamed", "steps": steps}, format="json")

    enrollment.refresh_from_db()
    assert enrollment.snapshot == snapshot
    assert enrollment.status == Enrollment.Status.ACTIVE


def test_someone_who_can_see_but_does_not_own_a_sequence_may_not_edit_it(rep):
    shared = saved_sequence(UserFactory(), visibility="everyone", name="Theirs")
    client = client_for(rep)

    for response in (
        client.patch(f"{URL}{shared.pk}/", {"name": "Mine now"}, format="json"),
        client.put(f"{URL}{shared.pk}/", payload(), format="json"),
        client.delete(f"{URL}{shared.pk}/"),
    ):
        assert response.status_code == 403
        assert response.json()["code"] == "PERMISSION_DENIED"
    shared.refresh_from_db()
    assert shared.name == "Theirs"
    assert shared.deleted_at is None


def test_someone_who_cannot_see_a_sequence_gets_404_on_edits(rep):
    private = saved_sequence(UserFactory(), visibility="private")
    client = client_for(rep)

    assert client.patch(f"{URL}{private.pk}/", {"name": "x"}, format="json").status_code == 404
    assert client.delete(f"{URL}{private.pk}/").status_code == 404


def test_an_admin_may_edit_and_delete_anyones_sequence(admin_user):
    theirs = saved_sequence(UserFactory(), visibility="private")
    client = client_for(admin_user)

    assert client.patch(f"{URL}{theirs.pk}/", {"name": "Fixed"}, format="json").json()["name"] == "Fixed"
    assert client.delete(f"{URL}{theirs.pk}/").status_code == 204


def test_the_owner_stays_the_owner_when_an_admin_edits(admin_user):
    owner = UserFactory()
    theirs = saved_sequence(owner)

    body = client_for(admin_user).patch(f"{URL}{theirs.pk}/", {"name": "Fixed"}, format="json").json()

    assert body["owner"] == owner.pk


@pytest.mark.parametrize("body", [[], "x", 1])
def test_an_edit_with_a_body_that_is_not_an_object_is_refused(rep, body):
    sequence = saved_sequence(rep)

    response = client_for(rep).patch(f"{URL}{sequence.pk}/", json.dumps(body), content_type="application/json")

    assert response.status_code == 400


# --- Deleting ------------------------------------------------------------------------------------------


def test_delete_soft_deletes_and_unenrolls_live_enrollments(rep):
    sequence = saved_sequence(rep)
    live = [EnrollmentFactory(sequence=sequence, status=status) for status in ("scheduled", "active", "paused")]
    finished = EnrollmentFactory(sequence=sequence, status="finished")

    response = client_for(rep).delete(f"{URL}{sequence.pk}/")

    assert response.status_code == 204
    sequence.refresh_from_db()
    assert sequence.deleted_at is not None
    for enrollment in live:
        enrollment.refresh_from_db()
        assert (enrollment.status, enrollment.reason) == ("unenrolled", "SEQUENCE_DELETED")
    finished.refresh_from_db()
    assert (finished.status, finished.reason) == ("finished", None)


def test_deleting_leaves_other_sequences_enrollments_alone(rep):
    sequence, other = saved_sequence(rep), saved_sequence(rep)
    bystander = EnrollmentFactory(sequence=other)

    client_for(rep).delete(f"{URL}{sequence.pk}/")

    bystander.refresh_from_db()
    assert bystander.status == "active"


def test_deleting_twice_is_not_found_the_second_time(rep):
    sequence = saved_sequence(rep)

    assert client_for(rep).delete(f"{URL}{sequence.pk}/").status_code == 204
    assert client_for(rep).delete(f"{URL}{sequence.pk}/").status_code == 404
