"""Sending and reading with XOAUTH2: a local OAuth 2.0 server, an SMTP server that accepts only XOAUTH2
and checks each token with it, and Dovecot whose IMAP does the same (skipped where Dovecot is missing).

Refresh before expiry, one refresh when the provider ends a token early,
invalid_grant → disconnected and the email waits, reconnect → it goes once,
Microsoft's rotating refresh tokens, parallel workers refreshing once.
"""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts_app.models import Notification, PortalSettings
from mailboxes_app.models import Mailbox, OutboundMessage
from mailboxes_app.oauth.tokens import OAuthRevoked, OAuthUnavailable, access_token
from mailboxes_app.services import mailbox_set_primary
from mailboxes_app.sync.imap import mailbox_sync
from mailboxes_app.tests.sync.helpers import EMAIL_1, EMAIL_2, START, eml, make_sequence, rfc2822
from sequences_app.models import Enrollment
from sequences_app.services.enrollments import enrollment_create
from sequences_app.tests.scheduler_helpers import run_scheduler
from tests.factories import CompanyFactory, ContactFactory

from .oauth_helpers import connect, use_local_mail_servers

ADDRESS = "rep@acme.example"
LATER = "2026-11-23T09:30:00+02:00"


@pytest.fixture
def portal(db) -> PortalSettings:
    portal, _ = PortalSettings.objects.update_or_create(
        pk=1, defaults={"time_zone": "Europe/Helsinki", "holiday_country": "FI"}
    )
    return portal


@pytest.fixture
def browser(rep) -> Client:
    client = Client()
    client.force_login(rep)
    return client


@pytest.fixture
def google(settings, oauth_providers, xoauth2_smtp, portal):
    use_local_mail_servers(settings, xoauth2_smtp)
    return oauth_providers


def _connect(browser: Client, oauth, run_tasks, *, provider: str = "google") -> Mailbox:
    with time_machine.travel(START, tick=False):
        answer = connect(browser, oauth, run_tasks, provider=provider, login=ADDRESS)
    assert answer.status_code == 302, answer.content[:400]
    mailbox = Mailbox.objects.get(email=ADDRESS)
    assert mailbox.is_connected, mailbox.status_detail
    mailbox_set_primary(mailbox=mailbox)
    return mailbox


def _enroll(rep, mailbox: Mailbox) -> Enrollment:
    contact = ContactFactory(
        email="maria@acme-customer.example", first_name="Maria", last_name="Virtanen",
        company=CompanyFactory(name="Acme Customer", domain="acme-customer.example"), time_zone="Europe/Helsinki",
    )
    with time_machine.travel(START, tick=False):
        result = enrollment_create(
            sequence=make_sequence(rep, EMAIL_1, EMAIL_2), caller=rep, contact_ids=[contact.pk], mailbox=mailbox,
            time_zone="Europe/Helsinki",
        )
    assert not result.rejected, result.rejected
    return Enrollment.objects.get(pk=result.enrolled[0].id)


def _send(at: str = START) -> None:
    with time_machine.travel(at, tick=False):
        run_scheduler()


@pytest.mark.django_db
def test_an_email_goes_out_over_xoauth2_as_the_mailboxs_address(google, browser, rep, xoauth2_smtp, run_tasks):
    mailbox = _connect(browser, google, run_tasks)
    enrollment = _enroll(rep, mailbox)

    _send()

    [sent] = xoauth2_smtp.received
    assert sent["From"].addresses[0].addr_spec == ADDRESS
    assert sent["To"].addresses[0].addr_spec == "maria@acme-customer.example"
    assert enrollment.messages.get().state == OutboundMessage.State.SENT
    assert xoauth2_smtp.logins[-1] == (ADDRESS, True)
    assert google.refreshes() == 0  # the token from the connect was still good


@pytest.mark.django_db
def test_a_token_about_to_expire_is_refreshed_before_it_is_used(google, browser, rep, xoauth2_smtp, run_tasks):
    mailbox = _connect(browser, google, run_tasks)
    enrollment = _enroll(rep, mailbox)
    old = mailbox.oauth_access_token
    with time_machine.travel(START, tick=False):
        Mailbox.objects.filter(pk=mailbox.pk).update(oauth_expires_at=timezone.now() + timedelta(minutes=2))

    _send()

    assert google.refreshes() == 1
    assert len(xoauth2_smtp.received) == 1
    assert enrollment.messages.get().state == OutboundMessage.State.SENT
    mailbox.refresh_from_db()
    assert mailbox.oauth_access_token != old
    # Stored with the new lifetime before use: the next login needs no refresh.
    assert mailbox.oauth_expires_at > timezone.now() - timedelta(days=30)
    assert [ok for _, ok in xoauth2_smtp.logins] == [True, True]


@pytest.mark.django_db
def test_the_provider_ending_a_token_early_means_one_refresh_and_the_email_sent_once(
    google, browser, rep, xoauth2_smtp, run_tasks):
    mailbox = _connect(browser, google, run_tasks)
    enrollment = _enroll(rep, mailbox)
    google.end_access_tokens(ADDRESS)

    _send()

    assert google.refreshes() == 1, enrollment.messages.get().last_error
    assert len(xoauth2_smtp.received) == 1
    # The verify's login, the refused one, then the one with the refreshed token.
    assert [ok for _, ok in xoauth2_smtp.logins] == [True, False, True]
    assert enrollment.messages.get().state == OutboundMessage.State.SENT
    mailbox.refresh_from_db()
    assert mailbox.is_connected


@pytest.mark.django_db
def test_a_revoked_grant_disconnects_the_mailbox_the_email_waits_and_a_reconnect_sends_it_once(
    google, browser, rep, xoauth2_smtp, run_tasks):
    mailbox = _connect(browser, google, run_tasks)
    enrollment = _enroll(rep, mailbox)
    google.revoke_grants(ADDRESS)  # the rep withdrew consent: tokens and refresh token die

    _send()
    _send(LATER)

    mailbox.refresh_from_db()
    enrollment.refresh_from_db()
    message = enrollment.messages.get()
    assert mailbox.status == "disconnected"
    assert mailbox.status_detail == "Google no longer accepts Nudge's access — reconnect."
    assert (mailbox.oauth_access_token, mailbox.oauth_refresh_token) == ("", "")
    assert (enrollment.status, enrollment.reason) == ("paused", "INBOX_DISCONNECTED")
    assert message.state == OutboundMessage.State.QUEUED
    assert xoauth2_smtp.received == []
    [notice] = Notification.objects.filter(user=rep, kind="inbox_disconnected")
    assert "Google no longer accepts Nudge's access" in notice.message
    page = browser.get("/mailboxes/").content.decode()
    assert "Google no longer accepts Nudge&#x27;s access — reconnect." in page
    assert 'href="/mailboxes/connect/google/"' in page
    assert ">Reconnect</a>" in page

    again = _connect(browser, google, run_tasks)
    _send(LATER)

    assert again.pk == mailbox.pk
    enrollment.refresh_from_db()
    assert enrollment.status != "paused"
    assert len(xoauth2_smtp.received) == 1
    assert enrollment.messages.get().state == OutboundMessage.State.SENT
    _send(LATER)
    assert len(xoauth2_smtp.received) == 1
    assert Notification.objects.filter(user=rep, kind="inbox_disconnected").count() == 1


@pytest.mark.django_db
def test_a_token_endpoint_that_is_down_is_a_retry_later_never_a_disconnect(
    google, browser, rep, xoauth2_smtp, run_tasks
):
    mailbox = _connect(browser, google, run_tasks)
    enrollment = _enroll(rep, mailbox)
    google.end_access_tokens(ADDRESS)
    google.token_endpoint_down = True

    _send()

    mailbox.refresh_from_db()
    message = enrollment.messages.get()
    assert mailbox.is_connected
    assert message.state == OutboundMessage.State.RETRY
    assert "token service did not answer" in message.last_error
    assert not Notification.objects.filter(kind="inbox_disconnected").exists()

    google.token_endpoint_down = False
    with time_machine.travel(START, tick=False):
        OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    _send()
    assert len(xoauth2_smtp.received) == 1


@pytest.mark.django_db
def test_microsofts_rotating_refresh_tokens_survive_two_refreshes(google, browser, run_tasks):
    google.rotate_refresh_tokens = True
    mailbox = _connect(browser, google, run_tasks, provider="microsoft")
    first_refresh = mailbox.oauth_refresh_token
    seen = []
    for hour in (2, 4):  # each time the access token has expired
        with time_machine.travel(f"2026-11-23T{9 + hour:02d}:00:00+02:00", tick=False):
            mailbox = Mailbox.objects.get(pk=mailbox.pk)
            token = access_token(mailbox)
            assert google.active(token) is not None
        mailbox.refresh_from_db()
        seen.append(mailbox.oauth_refresh_token)

    assert google.refreshes() == 2
    assert len({first_refresh, *seen}) == 3  # rotated each time, and each rotation stored
    assert not google.grants[first_refresh].active
    assert google.grants[seen[-1]].active
    assert mailbox.is_connected


@pytest.mark.django_db(transaction=True)
def test_parallel_workers_refresh_once(google, browser, rep, run_tasks):
    if connection.vendor == "sqlite":
        pytest.skip("row locks across threads need PostgreSQL (CI runs this on PostgreSQL)")
    google.refresh_delay = 0.5  # every worker asks while the first refresh is still in flight
    mailbox = _connect(browser, google, run_tasks)
    Mailbox.objects.filter(pk=mailbox.pk).update(oauth_expires_at=timezone.now() - timedelta(minutes=1))
    tokens: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            tokens.append(access_token(Mailbox.objects.get(pk=mailbox.pk)))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert google.refreshes() == 1
    assert len(tokens) == 4
    assert len(set(tokens)) == 1


@pytest.mark.django_db
def test_without_a_refresh_token_or_after_invalid_grant_the_token_service_is_not_asked_again(
    google, browser, run_tasks
):
    mailbox = _connect(browser, google, run_tasks)
    google.revoke_grants(ADDRESS)
    with time_machine.travel("2026-11-23T12:00:00+02:00", tick=False):
        with pytest.raises(OAuthRevoked):
            access_token(Mailbox.objects.get(pk=mailbox.pk))
        with pytest.raises(OAuthRevoked):
            access_token(Mailbox.objects.get(pk=mailbox.pk))
    assert [kind for kind, _ in google.log].count("refresh-refused") == 1


@pytest.mark.django_db
def test_a_token_endpoint_that_is_down_raises_unavailable_and_changes_nothing(google, browser, run_tasks):
    mailbox = _connect(browser, google, run_tasks)
    google.token_endpoint_down = True
    with time_machine.travel("2026-11-23T12:00:00+02:00", tick=False), pytest.raises(OAuthUnavailable):
        access_token(Mailbox.objects.get(pk=mailbox.pk))
    after = Mailbox.objects.get(pk=mailbox.pk)
    assert (after.status, after.oauth_refresh_token) == ("connected", mailbox.oauth_refresh_token)


# --- IMAP with Dovecot ------------------------------------------------------------------------------


@pytest.fixture
def google_with_dovecot(settings, oauth_providers, xoauth2_smtp, dovecot, portal):
    use_local_mail_servers(settings, xoauth2_smtp, (dovecot.host, dovecot.port))
    return oauth_providers


def _reply(enrollment: Enrollment) -> bytes:
    message = enrollment.messages.get()
    contact = enrollment.contact
    return eml(
        "reply_plain_from_contact.eml", message_id=message.message_id, contact_email=contact.email,
        contact_name=f"{contact.first_name} {contact.last_name}", rep_email=ADDRESS, rep_name="Rep",
        subject=message.subject, date=rfc2822(message.sent_at + timedelta(hours=1)),
        sent_date=rfc2822(message.sent_at),
    )


@pytest.mark.django_db
def test_a_reply_read_over_imap_with_xoauth2_unenrolls_replied(google_with_dovecot, dovecot, browser, rep, run_tasks):
    mailbox = _connect(browser, google_with_dovecot, run_tasks)
    enrollment = _enroll(rep, mailbox)
    _send()
    dovecot.deliver(ADDRESS, _reply(enrollment))

    with time_machine.travel("2026-11-23T12:00:00+02:00", tick=False):
        report = mailbox_sync(mailbox_id=mailbox.pk)

    assert report.outcome == "ok", (report.error, dovecot.log()[-2000:])
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.reason) == ("unenrolled", "REPLIED")
    assert ("introspect", "active") in google_with_dovecot.log


@pytest.mark.django_db
def test_imap_refreshes_once_when_the_provider_ended_the_token_early(
    google_with_dovecot, dovecot, browser, rep, run_tasks
):
    mailbox = _connect(browser, google_with_dovecot, run_tasks)
    google_with_dovecot.end_access_tokens(ADDRESS)

    with time_machine.travel("2026-11-23T12:00:00+02:00", tick=False):
        report = mailbox_sync(mailbox_id=mailbox.pk)

    assert report.outcome == "ok", (report.error, dovecot.log()[-2000:])
    assert google_with_dovecot.refreshes() == 1


@pytest.mark.django_db
def test_dovecot_refuses_a_token_the_provider_does_not_know(google_with_dovecot, dovecot, browser):
    from imapclient import IMAPClient
    from imapclient.exceptions import LoginError

    client = IMAPClient(dovecot.host, port=dovecot.port, ssl=False, timeout=10)
    try:
        assert b"AUTH=XOAUTH2" in client.capabilities()
        assert b"AUTH=PLAIN" not in client.capabilities()
        with pytest.raises(LoginError):
            client.oauth2_login(ADDRESS, "at-made-up")
    finally:
        client.shutdown()


@pytest.mark.django_db
def test_an_inbox_sync_while_the_token_service_is_down_backs_off_and_stays_connected(
    google_with_dovecot, dovecot, browser, run_tasks
):
    mailbox = _connect(browser, google_with_dovecot, run_tasks)
    google_with_dovecot.end_access_tokens(ADDRESS)
    google_with_dovecot.token_endpoint_down = True

    with time_machine.travel("2026-11-23T12:00:00+02:00", tick=False):
        report = mailbox_sync(mailbox_id=mailbox.pk)

    mailbox.refresh_from_db()
    assert report.outcome == "failed"
    assert "token service did not answer" in mailbox.sync_error
    assert (mailbox.status, mailbox.sync_failures) == ("connected", 1)
    assert not Notification.objects.filter(kind="inbox_disconnected").exists()


@pytest.mark.django_db
def test_an_inbox_sync_after_the_grant_was_revoked_disconnects_and_tells_the_rep_once(
    google_with_dovecot, dovecot, browser, rep, run_tasks
):
    mailbox = _connect(browser, google_with_dovecot, run_tasks)
    google_with_dovecot.revoke_grants(ADDRESS)

    with time_machine.travel("2026-11-23T12:00:00+02:00", tick=False):
        first = mailbox_sync(mailbox_id=mailbox.pk)
        second = mailbox_sync(mailbox_id=mailbox.pk)

    mailbox.refresh_from_db()
    assert (first.outcome, second.outcome) == ("disconnected", "skipped")
    assert mailbox.status_detail == "Google no longer accepts Nudge's access — reconnect."
    assert Notification.objects.filter(user=rep, kind="inbox_disconnected").count() == 1
