"""Failed logins are counted per username and per client address, in the database (every process shares the
count), for the login page and POST /api/v1/auth/token/ alike; successful logins are never limited."""
from __future__ import annotations

import pytest
from axes.models import AccessAttempt

from tests.factories import UserFactory
from tests.fixtures_api import api_client

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-1"  # UserFactory's


@pytest.fixture(autouse=True)
def _limit(settings):
    settings.AXES_FAILURE_LIMIT = 5


def _page(client, username, password, address="198.51.100.1", **headers):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address, **headers)


def _token(username, password, address="198.51.100.1", **headers):
    return api_client().post("/api/v1/auth/token/", {"username": username, "password": password}, format="json",
                             REMOTE_ADDR=address, **headers)


def test_the_login_page_locks_a_username_out_after_the_limit_even_for_the_right_password(client):
    UserFactory(username="ann")
    for _ in range(4):
        assert _page(client, "ann", "wrong").status_code == 200  # the form again, with its error

    locked = _page(client, "ann", "wrong")
    again = _page(client, "ann", PASSWORD)

    assert locked.status_code == 429
    assert again.status_code == 429
    assert "Too many failed logins for this username or from this address" in again.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_count_follows_the_username_across_addresses(client):
    UserFactory(username="ann")
    for index in range(5):
        _page(client, "ann", "wrong", address=f"198.51.100.{index + 10}")
    assert _page(client, "ann", PASSWORD, address="203.0.113.99").status_code == 429


def test_the_count_follows_the_address_across_usernames(client):
    UserFactory(username="ann")
    for index in range(5):
        _page(client, f"nobody-{index}", "wrong", address="198.51.100.7")
    assert _page(client, "ann", PASSWORD, address="198.51.100.7").status_code == 429
    assert _page(client, "ann", PASSWORD, address="198.51.100.8").status_code == 302


def test_the_api_answers_a_lockout_with_its_own_code_in_the_error_envelope():
    UserFactory(username="ann")
    for _ in range(4):
        assert _token("ann", "wrong").status_code == 400
    assert _token("ann", "wrong").status_code == 429  # the failure that reaches the limit

    answer = _token("ann", PASSWORD)

    assert answer.status_code == 429
    body = answer.json()
    assert body["code"] == "LOGIN_LOCKED_OUT"
    assert "Too many failed logins" in body["message"]
    assert int(answer.headers["Retry-After"]) == 15 * 60


def test_page_and_api_share_one_count_kept_in_the_database(client):
    UserFactory(username="ann")
    for _ in range(3):
        _page(client, "ann", "wrong")
    for _ in range(2):
        _token("ann", "wrong")

    assert AccessAttempt.objects.filter(username="ann").exists()  # the database, not a process's memory
    assert _token("ann", PASSWORD).status_code == 429
    assert _page(client, "ann", PASSWORD).status_code == 429


def test_successful_logins_are_never_limited():
    users = [UserFactory(username=f"provisioned-{index}") for index in range(12)]
    for _ in range(3):
        for user in users:
            assert _token(user.username, PASSWORD).status_code == 200


def test_a_success_clears_the_usernames_earlier_failures(client):
    UserFactory(username="ann")
    for _ in range(4):
        _page(client, "ann", "wrong")
    assert _page(client, "ann", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        _page(client, "ann", "wrong")
    assert _page(client, "ann", PASSWORD).status_code == 302


def test_x_forwarded_for_is_not_believed_without_a_proxy():
    UserFactory(username="ann")
    for index in range(5):
        _token(f"nobody-{index}", "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{index}")
    # Every guess came from one address, whatever the header claimed.
    assert _token("ann", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.200").status_code == 429


def test_behind_the_proxy_the_address_it_saw_counts_not_what_the_client_wrote(settings):
    settings.NUM_PROXIES = 1
    UserFactory(username="ann")
    for index in range(5):
        # The client writes its own first entry; the proxy appends the real address (always the same).
        _token(f"nobody-{index}", "wrong", address="10.0.0.2", HTTP_X_FORWARDED_FOR=f"192.0.2.{index}, 203.0.113.5")
    assert _token("ann", PASSWORD, address="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.5").status_code == 429
    assert _token("ann", PASSWORD, address="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.6").status_code == 200
