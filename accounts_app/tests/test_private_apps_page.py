"""Settings → Private apps: make a token (shown once), list and revoke them; admins see everyone's."""
from __future__ import annotations

import re

import pytest

from accounts_app.models import PrivateApp
from accounts_app.private_apps import READ_SEQUENCES, WRITE_ENROLLMENTS, private_app_authenticate, private_app_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PAGE = "/settings/?tab=private-apps"


@pytest.fixture
def rep_client(client, rep):
    client.force_login(rep)
    return client


def test_creating_a_token_shows_it_on_that_answer_only(rep_client, rep):
    response = rep_client.post("/settings/private-apps/", {"name": "Zapier", "scopes": [READ_SEQUENCES,
                                                                                         WRITE_ENROLLMENTS]})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    token = re.search(r'value="(pat-nudge-[^"]+)"', page).group(1)
    app = private_app_authenticate(token)
    assert (app.user, app.name, app.scopes) == (rep, "Zapier", [READ_SEQUENCES, WRITE_ENROLLMENTS])
    later = rep_client.get(PAGE).content.decode()
    assert "Zapier" in later
    assert token not in later
    assert app.token_prefix in later


def test_a_token_without_a_name_or_scope_is_refused_with_the_reason(rep_client):
    response = rep_client.post("/settings/private-apps/", {"name": "", "scopes": []})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Give the token a name." in page
    assert 'aria-invalid="true"' in page
    assert not PrivateApp.objects.exists()


def test_a_rep_lists_and_revokes_only_their_own(rep_client, rep):
    mine, token = private_app_create(user=rep, name="Mine", scopes=[READ_SEQUENCES])
    theirs, _ = private_app_create(user=UserFactory(), name="Colleague's", scopes=[READ_SEQUENCES])
    page = rep_client.get(PAGE).content.decode()
    assert "Mine" in page
    assert "Colleague" not in page
    assert rep_client.post(f"/settings/private-apps/{theirs.pk}/revoke/").status_code == 404
    response = rep_client.post(f"/settings/private-apps/{mine.pk}/revoke/", follow=True)
    assert "Token Mine revoked" in response.content.decode()
    assert private_app_authenticate(token) is None
    assert PrivateApp.objects.filter(pk=theirs.pk).exists()


def test_an_admin_sees_everyones_tokens_with_their_owner_and_may_revoke_them(client, admin_user, rep):
    theirs, _ = private_app_create(user=rep, name="Rep's sync", scopes=[READ_SEQUENCES])
    client.force_login(admin_user)
    page = client.get(PAGE).content.decode()
    assert "Rep&#x27;s sync" in page
    assert rep.email in page
    client.post(f"/settings/private-apps/{theirs.pk}/revoke/")
    assert not PrivateApp.objects.exists()


def test_the_list_costs_the_same_few_queries_for_many_tokens(client, admin_user, django_assert_max_num_queries):
    private_app_create(user=UserFactory(), name="First", scopes=[READ_SEQUENCES])
    client.force_login(admin_user)
    # 10: one is the portal's time zone and language, for a user who chose neither.
    with django_assert_max_num_queries(10):
        assert client.get(PAGE).status_code == 200
    for n in range(12):
        private_app_create(user=UserFactory(), name=f"App {n}", scopes=[READ_SEQUENCES])
    # 10: one is the portal's time zone and language, for a user who chose neither.
    with django_assert_max_num_queries(10):
        assert client.get(PAGE).status_code == 200


def test_times_are_shown_with_the_portal_zone(rep_client, rep):
    private_app_create(user=rep, name="Sync", scopes=[READ_SEQUENCES])
    assert "UTC" in rep_client.get(PAGE).content.decode()
