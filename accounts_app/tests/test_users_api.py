"""`/api/v1/users/`: admins manage users, seats, permissions and teams; everybody reads `/users/me/`."""
from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.test import RequestFactory

from accounts_app import services
from accounts_app.models import PortalSettings, Seat, User
from tests.factories import (
    EnrollmentFactory,
    OutboundMessageFactory,
    SeatFactory,
    SequenceFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

USER_KEYS = {
    "id", "username", "email", "first_name", "last_name", "is_staff", "is_active", "seat", "can_bulk_enroll",
    "teams", "daily_send_limit", "time_zone", "language",
}
STRONG = "Velvet-Otter-Runs-42"


def test_an_admin_creates_a_user_with_seat_teams_and_a_hashed_password(admin_api):
    team = TeamFactory()

    answer = admin_api.post("/api/v1/users/", {
        "username": "carla", "email": "carla@nudge.example", "first_name": "Carla", "last_name": "Cruz",
        "password": STRONG, "seat": {"hub": "sales", "tier": "professional"}, "can_bulk_enroll": True,
        "teams": [team.pk],
    }, format="json")

    assert answer.status_code == 201
    body = answer.json()
    assert set(body) == USER_KEYS
    assert body["seat"] == {"hub": "sales", "tier": "professional"}
    assert body["teams"] == [team.pk]
    assert body["daily_send_limit"] == 500
    assert body["can_bulk_enroll"] is True
    user = User.objects.get(username="carla")
    assert user.password != STRONG
    assert authenticate(RequestFactory().post("/login/"), username="carla", password=STRONG) == user


def test_a_user_created_without_a_password_cannot_log_in(admin_api):
    admin_api.post("/api/v1/users/", {"username": "nopass"}, format="json")
    assert not User.objects.get(username="nopass").has_usable_password()


def test_a_weak_password_is_refused_with_the_rule_it_breaks(admin_api):
    answer = admin_api.post("/api/v1/users/", {"username": "weak", "password": "12345"}, format="json")
    assert answer.status_code == 400
    assert answer.json()["code"] == "VALIDATION_ERROR"
    assert "password" in answer.json()["fields"]
    assert not User.objects.filter(username="weak").exists()


def test_a_taken_username_is_a_validation_error(admin_api, rep):
    answer = admin_api.post("/api/v1/users/", {"username": rep.username}, format="json")
    assert answer.status_code == 400
    assert "username" in answer.json()["fields"]


def test_passwords_are_never_in_any_answer(admin_api, rep):
    created = admin_api.post("/api/v1/users/", {"username": "dora", "password": STRONG}, format="json")
    updated = admin_api.patch(f"/api/v1/users/{rep.pk}/", {"password": STRONG + "x"}, format="json")
    listed = admin_api.get("/api/v1/users/")
    for answer in (created, updated, listed):
        assert STRONG not in answer.content.decode()
        assert '"password"' not in answer.content.decode()


def test_changing_the_password_lets_the_user_log_in_with_the_new_one(admin_api, rep):
    admin_api.patch(f"/api/v1/users/{rep.pk}/", {"password": STRONG}, format="json")
    assert authenticate(RequestFactory().post("/login/"), username=rep.username, password=STRONG) == rep


def test_patching_only_the_tier_keeps_the_hub(admin_api):
    user = UserFactory()
    SeatFactory(user=user, hub="service", tier="starter")

    answer = admin_api.patch(f"/api/v1/users/{user.pk}/", {"seat": {"tier": "enterprise"}}, format="json")

    assert answer.json()["seat"] == {"hub": "service", "tier": "enterprise"}
    assert answer.json()["daily_send_limit"] == 1000


def test_a_new_seat_needs_a_hub(admin_api):
    user = UserFactory()
    answer = admin_api.patch(f"/api/v1/users/{user.pk}/", {"seat": {"tier": "enterprise"}}, format="json")
    assert answer.status_code == 400
    assert answer.json()["fields"] == {"seat.hub": ["This field is required."]}


def test_an_unknown_tier_is_named_by_its_path(admin_api, rep):
    answer = admin_api.patch(f"/api/v1/users/{rep.pk}/", {"seat": {"hub": "sales", "tier": "gold"}}, format="json")
    assert answer.status_code == 400
    assert list(answer.json()["fields"]) == ["seat.tier"]


def test_writing_a_null_seat_removes_it_through_seat_remove(admin_api, rep, monkeypatch):
    calls = []
    original = services.seat_remove
    monkeypatch.setattr(services, "seat_remove", lambda *, user: calls.append(user.pk) or original(user=user))

    answer = admin_api.patch(f"/api/v1/users/{rep.pk}/", {"seat": None}, format="json")

    assert answer.status_code == 200
    assert answer.json()["seat"] is None
    assert answer.json()["daily_send_limit"] == 0
    assert calls == [rep.pk]
    assert not Seat.objects.filter(user=rep).exists()


def test_the_daily_send_limit_follows_the_portal_settings(admin_api, rep):
    PortalSettings.objects.update_or_create(pk=1, defaults={"professional_send_limit": 250})
    assert admin_api.get(f"/api/v1/users/{rep.pk}/").json()["daily_send_limit"] == 250


def test_the_daily_send_limit_is_read_only(admin_api, rep):
    admin_api.patch(f"/api/v1/users/{rep.pk}/", {"daily_send_limit": 5}, format="json")
    assert admin_api.get(f"/api/v1/users/{rep.pk}/").json()["daily_send_limit"] == 500


def test_teams_are_set_by_id_and_an_unknown_id_is_refused(admin_api, rep):
    first, second = TeamFactory(), TeamFactory()

    answer = admin_api.patch(f"/api/v1/users/{rep.pk}/", {"teams": [second.pk, first.pk]}, format="json")
    assert sorted(answer.json()["teams"]) == sorted([first.pk, second.pk])

    refused = admin_api.patch(f"/api/v1/users/{rep.pk}/", {"teams": [first.pk, 99999]}, format="json")
    assert refused.status_code == 400
    assert "99999" in refused.json()["fields"]["teams"][0]
    assert set(rep.teams.values_list("pk", flat=True)) == {first.pk, second.pk}


def test_everybody_reads_their_own_full_record_at_me(api, rep):
    body = api.get("/api/v1/users/me/").json()
    assert set(body) == USER_KEYS
    assert body["id"] == rep.pk
    assert body["seat"] == {"hub": "sales", "tier": "professional"}


def test_a_rep_lists_colleagues_with_public_fields_only(api, rep, admin_user):
    results = {row["id"]: row for row in api.get("/api/v1/users/").json()["results"]}
    assert set(results[rep.pk]) == USER_KEYS
    assert set(results[admin_user.pk]) == {"id", "username", "email", "first_name", "last_name", "is_staff", "teams"}


@pytest.mark.parametrize(("method", "path", "body"), [
    ("post", "/api/v1/users/", {"username": "x"}),
    ("patch", "/api/v1/users/{rep}/", {"can_bulk_enroll": False}),
    ("put", "/api/v1/users/{rep}/", {"username": "x"}),
    ("delete", "/api/v1/users/{other}/", None),
])
def test_a_rep_cannot_write_users(api, rep, method, path, body):
    other = UserFactory()
    answer = getattr(api, method)(path.format(rep=rep.pk, other=other.pk), body, format="json")
    assert answer.status_code == 403
    assert answer.json()["code"] == "PERMISSION_DENIED"
    assert User.objects.filter(pk=other.pk).exists()


def test_the_last_admin_cannot_be_demoted(admin_api, admin_user):
    answer = admin_api.patch(f"/api/v1/users/{admin_user.pk}/", {"is_staff": False}, format="json")
    assert answer.status_code == 409
    assert answer.json()["code"] == "LAST_ADMIN"
    admin_user.refresh_from_db()
    assert admin_user.is_staff


def test_an_admin_can_be_demoted_when_another_remains(admin_api, admin_user):
    UserFactory(is_staff=True)
    answer = admin_api.patch(f"/api/v1/users/{admin_user.pk}/", {"is_staff": False}, format="json")
    assert answer.status_code == 200
    assert answer.json()["is_staff"] is False


def test_an_admin_cannot_delete_themselves(admin_api, admin_user):
    answer = admin_api.delete(f"/api/v1/users/{admin_user.pk}/")
    assert answer.status_code == 409
    assert answer.json()["code"] == "CANNOT_DELETE_SELF"


def test_a_user_with_history_is_deactivated_instead_of_deleted(admin_api):
    owner = UserFactory()
    SequenceFactory(owner=owner)

    answer = admin_api.delete(f"/api/v1/users/{owner.pk}/")

    assert answer.status_code == 409
    assert answer.json()["code"] == "USER_HAS_HISTORY"
    deactivated = admin_api.patch(f"/api/v1/users/{owner.pk}/", {"is_active": False}, format="json")
    assert deactivated.json()["is_active"] is False


def test_a_user_without_history_is_deleted(admin_api):
    user = UserFactory()
    assert admin_api.delete(f"/api/v1/users/{user.pk}/").status_code == 204
    assert not User.objects.filter(pk=user.pk).exists()


def test_search_finds_users_by_name_or_email(api):
    UserFactory(first_name="Zelda", email="zelda@nudge.example")
    UserFactory(first_name="Mario")
    names = [row["first_name"] for row in api.get("/api/v1/users/?search=zeld").json()["results"]]
    assert names == ["Zelda"]


def test_listing_users_costs_the_same_few_queries_for_many_users(admin_api, django_assert_max_num_queries):
    teams = TeamFactory.create_batch(3)
    for index in range(40):
        user = UserFactory()
        if index % 2:
            SeatFactory(user=user)
        user.teams.set(teams)
    PortalSettings.load()
    # count, page, teams, portal settings
    with django_assert_max_num_queries(4):
        answer = admin_api.get("/api/v1/users/?page_size=200")
    assert answer.json()["count"] == 41


def test_deactivating_a_user_ends_their_live_enrollments_and_cancels_their_queued_emails(admin_api, rep):
    running = EnrollmentFactory(sender=rep, sequence=SequenceFactory(owner=rep))
    queued = OutboundMessageFactory(enrollment=running, state="queued")
    finished = EnrollmentFactory(sender=rep, sequence=SequenceFactory(owner=rep), status="finished")

    answer = admin_api.patch(f"/api/v1/users/{rep.pk}/", {"is_active": False}, format="json")

    assert answer.status_code == 200
    running.refresh_from_db()
    assert (running.status, running.reason) == ("unenrolled", "SENDER_DEACTIVATED")
    queued.refresh_from_db()
    assert queued.state == "cancelled"
    finished.refresh_from_db()
    assert (finished.status, finished.reason) == ("finished", None)


def test_an_inactive_user_saved_again_stops_nothing_more(admin_api, rep):
    services.user_update(user=rep, data={"is_active": False})
    later = EnrollmentFactory(sender=rep, sequence=SequenceFactory(owner=rep))  # e.g. restored by hand
    admin_api.patch(f"/api/v1/users/{rep.pk}/", {"first_name": "Renamed"}, format="json")
    later.refresh_from_db()
    assert later.status == "active"
