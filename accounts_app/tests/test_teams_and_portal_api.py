"""`/api/v1/teams/` (admins write, everybody reads) and `/api/v1/portal/` (admins only)."""
from __future__ import annotations

import pytest

from accounts_app.models import PortalSettings, Team
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_an_admin_creates_a_team_with_members(admin_api, rep):
    answer = admin_api.post("/api/v1/teams/", {"name": "Nordics", "members": [rep.pk]}, format="json")
    assert answer.status_code == 201
    assert answer.json() == {"id": answer.json()["id"], "name": "Nordics", "members": [rep.pk]}


def test_team_names_are_unique_whatever_the_case(admin_api):
    TeamFactory(name="Nordics")
    answer = admin_api.post("/api/v1/teams/", {"name": "nordics"}, format="json")
    assert answer.status_code == 400
    assert "name" in answer.json()["fields"]


def test_patching_members_replaces_them(admin_api, rep):
    team = TeamFactory()
    team.members.add(UserFactory())
    answer = admin_api.patch(f"/api/v1/teams/{team.pk}/", {"members": [rep.pk]}, format="json")
    assert answer.json()["members"] == [rep.pk]


def test_an_unknown_member_is_refused(admin_api):
    answer = admin_api.post("/api/v1/teams/", {"name": "X", "members": [424242]}, format="json")
    assert answer.status_code == 400
    assert "members" in answer.json()["fields"]


def test_a_rep_reads_teams_but_cannot_change_them(api):
    team = TeamFactory(name="Sales")
    assert api.get("/api/v1/teams/").json()["results"][0]["name"] == "Sales"
    for answer in (
        api.post("/api/v1/teams/", {"name": "Mine"}, format="json"),
        api.patch(f"/api/v1/teams/{team.pk}/", {"name": "Renamed"}, format="json"),
        api.delete(f"/api/v1/teams/{team.pk}/"),
    ):
        assert answer.status_code == 403
        assert answer.json()["code"] == "PERMISSION_DENIED"
    assert Team.objects.get(pk=team.pk).name == "Sales"


def test_an_admin_deletes_a_team(admin_api):
    team = TeamFactory()
    assert admin_api.delete(f"/api/v1/teams/{team.pk}/").status_code == 204
    assert not Team.objects.filter(pk=team.pk).exists()


# --- Portal ---------------------------------------------------------------------------------------


def test_an_admin_reads_the_portal_settings(admin_api):
    assert admin_api.get("/api/v1/portal/").json() == {
        "time_zone": "UTC",
        "language": "en",
        "holiday_country": "",
        "send_limits": {"professional": 500, "enterprise": 1000},
        "out_of_office_default_days": 7,
    }


def test_an_admin_changes_time_zone_holidays_and_limits(admin_api):
    answer = admin_api.patch("/api/v1/portal/", {
        "time_zone": "Europe/Helsinki", "holiday_country": "fi", "send_limits": {"enterprise": 800},
        "out_of_office_default_days": 10,
    }, format="json")

    assert answer.status_code == 200
    assert answer.json() == {
        "time_zone": "Europe/Helsinki",
        "language": "en",
        "holiday_country": "FI",
        "send_limits": {"professional": 500, "enterprise": 800},
        "out_of_office_default_days": 10,
    }
    portal = PortalSettings.load()
    assert (portal.time_zone, portal.holiday_country, portal.enterprise_send_limit) == ("Europe/Helsinki", "FI", 800)


def test_a_blank_holiday_country_turns_holidays_off(admin_api):
    PortalSettings.objects.update_or_create(pk=1, defaults={"holiday_country": "FI"})
    assert admin_api.patch("/api/v1/portal/", {"holiday_country": ""}, format="json").json()["holiday_country"] == ""


@pytest.mark.parametrize(("body", "field"), [
    ({"time_zone": "Mars/Olympus"}, "time_zone"),
    ({"time_zone": "EET DST"}, "time_zone"),
    ({"holiday_country": "XX"}, "holiday_country"),
    ({"holiday_country": "FIN"}, "holiday_country"),
    ({"send_limits": {"professional": -1}}, "send_limits.professional"),
    ({"send_limits": {"enterprise": "lots"}}, "send_limits.enterprise"),
    ({"send_limits": {"enterprise": 10**12}}, "send_limits.enterprise"),
    ({"send_limits": "500"}, "send_limits"),
    ({"out_of_office_default_days": 0}, "out_of_office_default_days"),
])
def test_bad_portal_settings_are_refused_field_by_field(admin_api, body, field):
    answer = admin_api.patch("/api/v1/portal/", body, format="json")
    assert answer.status_code == 400
    assert answer.json()["code"] == "VALIDATION_ERROR"
    assert field in answer.json()["fields"]
    assert PortalSettings.load().time_zone == "UTC"


def test_a_send_limit_of_zero_is_allowed(admin_api):
    answer = admin_api.patch("/api/v1/portal/", {"send_limits": {"professional": 0}}, format="json")
    assert answer.json()["send_limits"]["professional"] == 0


def test_a_rep_cannot_read_or_change_portal_settings(api):
    for answer in (api.get("/api/v1/portal/"), api.patch("/api/v1/portal/", {"time_zone": "UTC"}, format="json")):
        assert answer.status_code == 403
        assert answer.json()["code"] == "PERMISSION_DENIED"


def test_the_portal_is_not_replaced_whole(admin_api):
    answer = admin_api.put("/api/v1/portal/", {"time_zone": "UTC"}, format="json")
    assert answer.status_code == 405
    assert answer.json()["code"] == "METHOD_NOT_ALLOWED"
