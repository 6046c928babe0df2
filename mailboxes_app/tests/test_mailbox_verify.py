"""Verifying a mailbox logs in to real SMTP and IMAP servers on loopback (aiosmtpd, pymap)."""
from __future__ import annotations

import socket
from email.message import EmailMessage

import pytest

from mailboxes_app import transport
from mailboxes_app.models import Mailbox
from mailboxes_app.services import IMAP_NOT_CONFIGURED, NOT_VERIFIED, mailbox_update, mailbox_verify
from tests.factories import MailboxFactory
from tests.fixtures_mail import LOOPBACK, _smtp, free_port

pytestmark = [
    pytest.mark.django_db,
    # The plain-text test server takes AUTH without TLS on purpose (loopback only).
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
]


def _mailbox(smtp, imap=None, **overrides) -> Mailbox:
    fields = {
        "email": smtp.username, "smtp_host": smtp.host, "smtp_port": smtp.port, "smtp_security": smtp.security,
        "smtp_username": smtp.username, "smtp_password": smtp.password, "status": Mailbox.Status.DISCONNECTED,
        "imap_host": "", "imap_username": "", "imap_password": "",
    }
    if imap is not None:
        fields |= {"imap_host": imap.host, "imap_port": imap.port, "imap_security": "none",
                   "imap_username": imap.username, "imap_password": imap.password}
    return MailboxFactory(**{**fields, **overrides})


def test_verify_connects_a_mailbox_whose_smtp_and_imap_logins_work(api, rep, smtp_server, imap_server, run_tasks):
    mailbox = _mailbox(smtp_server, imap_server, owner=rep, is_primary=False)

    with run_tasks():
        answer = api.post(f"/api/v1/mailboxes/{mailbox.pk}/verify/")

    assert answer.status_code == 202
    assert answer.json() == {"status": "disconnected", "verification": "pending", "smtp": "", "imap": ""}
    progress = api.get(f"/api/v1/mailboxes/{mailbox.pk}/verify/")
    assert progress.json() == {"status": "connected", "verification": "done", "smtp": "ok", "imap": "ok"}
    mailbox.refresh_from_db()
    assert (mailbox.status, mailbox.status_detail) == ("connected", "")
    assert mailbox.verified_at is not None


def test_a_refused_smtp_password_disconnects_with_the_reply_code_only(api, rep, smtp_server, imap_server, run_tasks):
    mailbox = _mailbox(smtp_server, imap_server, owner=rep, is_primary=False, smtp_password="wrong-Password-1")

    with run_tasks():
        api.post(f"/api/v1/mailboxes/{mailbox.pk}/verify/")
    body = api.get(f"/api/v1/mailboxes/{mailbox.pk}/verify/").json()

    assert body["status"] == "disconnected"
    assert body["smtp"] == "The SMTP server refused the username or password (reply 535)."
    assert body["imap"] == "ok"
    assert "wrong-Password-1" not in str(body)
    mailbox.refresh_from_db()
    assert mailbox.status_detail.startswith("SMTP: The SMTP server refused")


def test_a_refused_imap_password_disconnects(smtp_server, imap_server):
    mailbox = _mailbox(smtp_server, imap_server, imap_password="not-it")

    result = mailbox_verify(mailbox=mailbox)

    assert (result.status, result.smtp) == ("disconnected", "ok")
    assert result.imap == "The IMAP server refused the username or password."


def test_without_an_imap_server_smtp_alone_decides(smtp_server):
    result = mailbox_verify(mailbox=_mailbox(smtp_server))
    assert result.as_dict() == {"status": "connected", "smtp": "ok", "imap": IMAP_NOT_CONFIGURED}


def test_a_connected_mailbox_that_fails_verification_is_disconnected(smtp_server):
    mailbox = _mailbox(smtp_server, status=Mailbox.Status.CONNECTED, smtp_username="someone-else@nudge.example")
    assert mailbox_verify(mailbox=mailbox).status == "disconnected"


def test_nothing_listening_is_reported_as_a_refused_connection(smtp_server):
    port = free_port()
    result = mailbox_verify(mailbox=_mailbox(smtp_server, smtp_port=port))
    assert result.smtp == f"The SMTP server at {LOOPBACK}:{port} refused the connection; check the host and port."


def test_a_server_that_never_answers_times_out(smtp_server, monkeypatch):
    monkeypatch.setattr(transport, "CONNECT_TIMEOUT", 1)
    with socket.socket() as silent:
        silent.bind((LOOPBACK, 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        result = mailbox_verify(mailbox=_mailbox(smtp_server, smtp_port=port))
    assert result.smtp == f"No answer from the SMTP server at {LOOPBACK}:{port} within 1 seconds."


def test_starttls_asked_of_a_server_without_it_says_so(smtp_server):
    result = mailbox_verify(mailbox=_mailbox(smtp_server, smtp_security="starttls"))
    assert "does not offer STARTTLS" in result.smtp


def test_ssl_against_a_plain_port_explains_the_mismatch(smtp_server):
    result = mailbox_verify(mailbox=_mailbox(smtp_server, smtp_security="ssl"))
    assert result.status == "disconnected"
    assert "check the port and security" in result.smtp


def test_smtp_with_starttls_logs_in(smtp_starttls_server):
    assert transport.smtp_login_check(_mailbox(smtp_starttls_server)) == "ok"


def test_smtp_over_ssl_logs_in(smtp_ssl_server):
    assert transport.smtp_login_check(_mailbox(smtp_ssl_server)) == "ok"


def test_imap_with_starttls_logs_in(smtp_server, imap_server, trust_test_ca):
    mailbox = _mailbox(smtp_server, imap_server, imap_security="starttls")
    assert transport.imap_login_check(mailbox) == "ok"


def test_a_certificate_nobody_vouches_for_is_refused(test_certificates, smtp_server):
    for server in _smtp("starttls", test_certificates):
        message = transport.smtp_login_check(_mailbox(server))
    assert "TLS certificate" in message
    assert "could not be verified" in message


def test_smtp_connect_gives_a_logged_in_connection_the_sender_can_use(smtp_server):
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = smtp_server.username, "ann@example.com", "Hello"
    message.set_content("Hi Ann")

    connection = transport.smtp_connect(_mailbox(smtp_server))
    try:
        connection.send_message(message)
    finally:
        connection.quit()

    assert [envelope.rcpt_tos for envelope in smtp_server.messages] == [["ann@example.com"]]


def test_imap_connect_gives_a_logged_in_client(smtp_server, imap_server):
    client = transport.imap_connect(_mailbox(smtp_server, imap_server))
    try:
        # The IMAP server is shared by the session: other tests may have emptied INBOX, so bring a message.
        client.append("INBOX", b"From: ann@example.com\r\nSubject: hello\r\n\r\nHi\r\n")
        assert client.select_folder("INBOX", readonly=True)[b"EXISTS"] >= 1
    finally:
        client.logout()


def test_an_edit_during_verification_wins_over_the_stale_result(smtp_server):
    mailbox = _mailbox(smtp_server)
    stale = Mailbox.objects.get(pk=mailbox.pk)
    mailbox_update(mailbox=mailbox, data={"smtp_port": smtp_server.port + 1})

    mailbox_verify(mailbox=stale)

    mailbox.refresh_from_db()
    assert (mailbox.status, mailbox.status_detail) == ("disconnected", NOT_VERIFIED)


def test_a_password_echoed_by_a_server_is_scrubbed():
    mailbox = Mailbox(smtp_password="hunter2-smtp", imap_password="hunter2-imap")
    assert transport._scrub(mailbox, "535 bad login hunter2-smtp / hunter2-imap") == "535 bad login ******** / ********"
