"""A mailbox's stored password never follows a change of server: a new host, port or username forgets it.

Otherwise anyone who may edit the mailbox (an admin, a stolen session or
token) could point it at their own server, press verify and collect the real
password. The rule is mailbox_update's, so the API, the pages and the admin
all hold it.
"""
from __future__ import annotations

import pytest
from django.forms.models import model_to_dict

from mailboxes_app.models import Mailbox
from mailboxes_app.services import mailbox_update
from tests.factories import MailboxFactory

pytestmark = pytest.mark.django_db

SMTP_SECRET = "smtp-Real-Secret-1"
IMAP_SECRET = "imap-Real-Secret-2"


@pytest.fixture
def mailbox(rep) -> Mailbox:
    return MailboxFactory(
        owner=rep, is_primary=False, email="box@nudge.example", smtp_host="smtp.nudge.example", smtp_port=587,
        smtp_username="box@nudge.example", smtp_password=SMTP_SECRET, imap_host="imap.nudge.example",
        imap_port=993, imap_username="box@nudge.example", imap_password=IMAP_SECRET,
    )


def _stored(mailbox: Mailbox) -> tuple[str, str]:
    fresh = Mailbox.objects.get(pk=mailbox.pk)
    return fresh.smtp_password, fresh.imap_password


@pytest.mark.parametrize(
    "change",
    [{"smtp_host": "smtp.attacker.example"}, {"smtp_port": 2525}, {"smtp_username": "someone@attacker.example"}],
)
def test_a_new_smtp_server_or_username_forgets_the_smtp_password(api, mailbox, change):
    answer = api.patch(f"/api/v1/mailboxes/{mailbox.pk}/", change, format="json")

    assert answer.status_code == 200
    assert _stored(mailbox) == ("", IMAP_SECRET)


@pytest.mark.parametrize(
    "change",
    [{"imap_host": "imap.attacker.example"}, {"imap_port": 143}, {"imap_username": "someone@attacker.example"}],
)
def test_a_new_imap_server_or_username_forgets_the_imap_password(api, mailbox, change):
    assert api.patch(f"/api/v1/mailboxes/{mailbox.pk}/", change, format="json").status_code == 200
    assert _stored(mailbox) == (SMTP_SECRET, "")


def test_a_new_server_with_a_new_password_in_the_same_request_keeps_the_new_one(api, mailbox):
    change = {"smtp_host": "smtp.elsewhere.example", "smtp_password": "the-new-one-3"}
    assert api.patch(f"/api/v1/mailboxes/{mailbox.pk}/", change, format="json").status_code == 200
    assert _stored(mailbox) == ("the-new-one-3", IMAP_SECRET)


def test_other_edits_keep_both_passwords(api, mailbox):
    change = {"display_name": "Renamed", "daily_limit": 40, "smtp_host": "smtp.nudge.example"}
    assert api.patch(f"/api/v1/mailboxes/{mailbox.pk}/", change, format="json").status_code == 200
    assert _stored(mailbox) == (SMTP_SECRET, IMAP_SECRET)


def test_the_mailbox_page_forgets_the_password_when_the_host_changes(client, rep, mailbox):
    client.force_login(rep)
    form = {
        "email": mailbox.email, "smtp_host": "smtp.attacker.example", "smtp_port": "587", "smtp_security": "starttls",
        "smtp_username": mailbox.smtp_username, "smtp_password": "", "imap_host": mailbox.imap_host,
        "imap_port": "993", "imap_security": "ssl", "imap_username": mailbox.imap_username, "imap_password": "",
    }
    assert client.post(f"/mailboxes/{mailbox.pk}/edit/", form).status_code == 302
    assert _stored(mailbox) == ("", IMAP_SECRET)


def test_the_admin_forgets_the_password_when_the_host_changes(client, admin_user, mailbox):
    client.force_login(admin_user)
    form = {key: value for key, value in model_to_dict(mailbox).items() if value is not None}
    form.update({"smtp_host": "smtp.attacker.example", "smtp_password": "", "imap_password": ""})
    form.pop("owner", None)

    answer = client.post(f"/admin/mailboxes_app/mailbox/{mailbox.pk}/change/", form)

    assert answer.status_code == 302, answer.content.decode()[:2000]
    assert _stored(mailbox) == ("", IMAP_SECRET)
    assert Mailbox.objects.get(pk=mailbox.pk).status == Mailbox.Status.DISCONNECTED


def test_the_admin_keeps_the_password_when_only_the_name_changes(client, admin_user, mailbox):
    client.force_login(admin_user)
    form = {key: value for key, value in model_to_dict(mailbox).items() if value is not None}
    form.update({"display_name": "Renamed", "smtp_password": "", "imap_password": ""})
    form.pop("owner", None)

    assert client.post(f"/admin/mailboxes_app/mailbox/{mailbox.pk}/change/", form).status_code == 302
    assert _stored(mailbox) == (SMTP_SECRET, IMAP_SECRET)
    assert Mailbox.objects.get(pk=mailbox.pk).display_name == "Renamed"


def test_the_service_itself_forgets_it(mailbox):
    mailbox_update(mailbox=mailbox, data={"smtp_port": 465})
    assert _stored(mailbox) == ("", IMAP_SECRET)
