"""Verify (and every other connection) reaches only public mail servers unless MAILBOX_ALLOW_PRIVATE_HOSTS is on;
it runs as a task with a progress state, and never repeats what a server said."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading

import pytest

from mailboxes_app import transport
from mailboxes_app.models import Mailbox
from mailboxes_app.services import mailbox_verify
from mailboxes_app.tasks import mailbox_verify as mailbox_verify_task
from tests.factories import MailboxFactory
from tests.fixtures_mail import LOOPBACK

pytestmark = pytest.mark.django_db

PRIVATE = "is on a loopback, link-local or private network address"


@pytest.fixture
def private_hosts_refused(settings):
    settings.MAILBOX_ALLOW_PRIVATE_HOSTS = False


def _mailbox(**fields) -> Mailbox:
    return MailboxFactory(**{
        "email": f"box-{Mailbox.objects.count()}@nudge.example",
        "smtp_host": LOOPBACK, "smtp_port": 25, "smtp_security": "none", "smtp_username": "u",
        "smtp_password": "p", "imap_host": "", "status": Mailbox.Status.DISCONNECTED, **fields,
    })


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "localhost", "10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254", "[::1]",
             "fe80::1", "fd00::5", "100.64.0.1", "::ffff:127.0.0.1",
             "0.0.0.0"],  # noqa: S104
)
def test_a_private_loopback_or_link_local_smtp_host_is_refused_without_connecting(private_hosts_refused, host):
    with pytest.raises(transport.PrivateHostRefused):
        transport.refuse_private_host(host, 25)
    result = mailbox_verify(mailbox=_mailbox(smtp_host=host))
    assert result.status == "disconnected"
    assert PRIVATE in result.smtp


def test_the_imap_host_is_held_to_the_same_rule(private_hosts_refused, monkeypatch):
    monkeypatch.setattr(transport, "smtp_login_check", lambda mailbox, timeout=None: transport.OK)
    monkeypatch.setattr("mailboxes_app.services.smtp_login_check", lambda mailbox, timeout=None: transport.OK)
    result = mailbox_verify(mailbox=_mailbox(imap_host="192.168.0.10", imap_port=993))
    assert result.status == "disconnected"
    assert PRIVATE in result.imap


def test_a_name_that_resolves_to_a_private_address_is_refused(private_hosts_refused, monkeypatch):
    def resolve(host, port, *args, **kwargs):
        assert host == "mail.intranet.example"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("203.0.113.7", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(transport.PrivateHostRefused):
        transport.refuse_private_host("mail.intranet.example", 587)


def test_a_public_address_passes_the_check(private_hosts_refused):
    transport.refuse_private_host("8.8.8.8", 587)  # no network: only the address is looked at
    transport.refuse_private_host("2001:4860:4860::8888", 587)


def test_the_sender_cannot_reach_a_private_host_either(private_hosts_refused):
    with pytest.raises(transport.PrivateHostRefused):
        transport.smtp_connect(_mailbox(smtp_host="10.9.9.9"))


def test_allowing_private_hosts_lets_loopback_through(settings, smtp_server):
    settings.MAILBOX_ALLOW_PRIVATE_HOSTS = True
    mailbox = _mailbox(smtp_host=smtp_server.host, smtp_port=smtp_server.port, smtp_username=smtp_server.username,
                       smtp_password=smtp_server.password)
    assert mailbox_verify(mailbox=mailbox).status == "connected"


@pytest.mark.parametrize(("debug", "allowed"), [("1", "True"), ("0", "False")])
def test_private_hosts_are_allowed_by_default_only_with_debug(debug, allowed):
    env = {key: value for key, value in os.environ.items() if key != "MAILBOX_ALLOW_PRIVATE_HOSTS"}
    env |= {"DJANGO_DEBUG": debug, "DJANGO_SETTINGS_MODULE": "config.settings", "SECRET_KEY": "x" * 50}
    code = "import django; django.setup(); from django.conf import settings as s; print(s.MAILBOX_ALLOW_PRIVATE_HOSTS)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == allowed


def _one_shot_server(lines: list[bytes]) -> tuple[int, threading.Thread]:
    listener = socket.socket()
    listener.bind((LOOPBACK, 0))
    listener.listen(1)

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.sendall(lines[0])
            for line in lines[1:]:
                connection.recv(1024)
                connection.sendall(line)
        listener.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener.getsockname()[1], thread


def test_a_servers_banner_and_replies_are_never_echoed():
    port, thread = _one_shot_server([b"554 OpenSSH_9.6 internal-build-host.corp says go away\r\n"])
    result = mailbox_verify(mailbox=_mailbox(smtp_port=port))
    thread.join(5)

    assert result.status == "disconnected"
    assert result.smtp == f"The SMTP server at {LOOPBACK}:{port} refused the session (reply 554)."
    assert "internal-build-host" not in Mailbox.objects.get().status_detail


def test_an_imap_servers_refusal_text_is_not_echoed(smtp_server, imap_server):
    mailbox = _mailbox(
        smtp_host=smtp_server.host, smtp_port=smtp_server.port, smtp_username=smtp_server.username,
        smtp_password=smtp_server.password, imap_host=imap_server.host, imap_port=imap_server.port,
        imap_security="none", imap_username=imap_server.username, imap_password="not-it",
    )
    result = mailbox_verify(mailbox=mailbox)
    assert result.imap == "The IMAP server refused the username or password."


def test_verify_is_queued_then_run_by_the_task_which_records_its_progress(api, rep, smtp_server, run_tasks):
    mailbox = _mailbox(owner=rep, is_primary=False, smtp_host=smtp_server.host, smtp_port=smtp_server.port,
                       smtp_username=smtp_server.username, smtp_password=smtp_server.password)
    queued = api.post(f"/api/v1/mailboxes/{mailbox.pk}/verify/")  # on-commit never fires here: nothing runs
    assert queued.status_code == 202
    assert api.get(f"/api/v1/mailboxes/{mailbox.pk}/verify/").json()["verification"] == "pending"
    assert api.get(f"/api/v1/mailboxes/{mailbox.pk}/").json()["verification"] == "pending"

    mailbox_verify_task(mailbox.pk)

    mailbox.refresh_from_db()
    assert (mailbox.verification, mailbox.status, mailbox.verification_smtp) == ("done", "connected", "ok")


def test_the_task_uses_a_short_timeout(monkeypatch):
    seen = {}
    def check(mailbox, timeout=None):
        seen["t"] = timeout
        return "ok"

    monkeypatch.setattr("mailboxes_app.services.smtp_login_check", check)
    mailbox_verify_task(_mailbox().pk)
    assert seen["t"] == 10
    assert mailbox_verify_task.time_limit == 60


def test_an_edit_while_verifying_wins_and_ends_the_progress(monkeypatch):
    mailbox = _mailbox()

    def edit_meanwhile(box, timeout=None):
        Mailbox.objects.filter(pk=box.pk).update(smtp_port=2525, updated_at=box.updated_at.replace(year=2030))
        return "ok"

    monkeypatch.setattr("mailboxes_app.services.smtp_login_check", edit_meanwhile)
    mailbox_verify(mailbox=mailbox)
    mailbox.refresh_from_db()
    assert (mailbox.status, mailbox.verification) == ("disconnected", "none")


def test_the_mailbox_card_polls_while_verifying_and_stops_when_done(client, rep):
    client.force_login(rep)
    mailbox = _mailbox(owner=rep, is_primary=False, verification=Mailbox.Verification.RUNNING)
    running = client.get(f"/mailboxes/{mailbox.pk}/verification/").content.decode()
    assert 'hx-trigger="every 2s"' in running
    assert "Verifying…" in running

    Mailbox.objects.filter(pk=mailbox.pk).update(verification="done", status_detail="SMTP: it failed.")
    done = client.get(f"/mailboxes/{mailbox.pk}/verification/").content.decode()
    assert "hx-trigger" not in done
    assert "SMTP: it failed." in done


def test_someone_elses_mailbox_progress_is_not_found(client, rep, admin_user):
    client.force_login(rep)
    other = _mailbox(owner=admin_user)
    assert client.get(f"/mailboxes/{other.pk}/verification/").status_code == 404
