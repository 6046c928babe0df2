"""Email standing (bounced, unsubscribed, unsubscribed from sales, marked spam) is the contact's doing.

The probe: any rep could `PATCH /contacts/{id}/` with `unsubscribed: false`
(or clear a bounce or a complaint) and the next enrollment emailed the person
who asked not to be emailed. Now nothing clears a flag except an admin's
audited re-permission ("the contact asked again"), the same service for the
API and the contact page; the importer and workflows never clear one.
"""
from __future__ import annotations

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from contacts_app.models import Contact, Repermission
from contacts_app.services import STANDING_FLAGS, contact_create
from tests.factories import ContactFactory
from workflows_app.models import WorkflowHistory
from workflows_app.tests.helpers import drain, workflow

pytestmark = pytest.mark.django_db


def opted_out(**flags) -> Contact:
    values = flags or dict.fromkeys(STANDING_FLAGS, True)
    return ContactFactory(email="ann@example.com", bounce_reason="550 mailbox full" if values.get(
        "email_bounced") else "", **values)


@pytest.mark.parametrize("flag", STANDING_FLAGS)
@pytest.mark.parametrize("method", ["patch", "put"])
def test_nobody_clears_a_flag_by_editing_the_contact(api, admin_api, flag, method):
    contact = opted_out(**{flag: True})
    for client in (api, admin_api):
        answer = getattr(client, method)(f"/api/v1/contacts/{contact.pk}/", {"email": contact.email, flag: False},
                                         format="json")
        assert answer.status_code == 403
        assert answer.json()["code"] == "EMAIL_STANDING_READ_ONLY"
        assert set(answer.json()["fields"]) == {flag}
    contact.refresh_from_db()
    assert getattr(contact, flag) is True


def test_sending_back_the_values_a_contact_has_is_not_clearing(api):
    contact = opted_out(unsubscribed=True)
    answer = api.patch(f"/api/v1/contacts/{contact.pk}/", {"unsubscribed": True, "marked_spam": False,
                                                         "first_name": "Ann"}, format="json")
    assert answer.status_code == 200
    assert answer.json()["first_name"] == "Ann"


@time_machine.travel("2026-12-01 10:00+00:00", tick=False)
def test_an_admin_re_permissions_a_contact_with_the_reason_and_it_is_recorded(admin_api, admin_user):
    contact = opted_out()
    answer = admin_api.post(f"/api/v1/contacts/{contact.pk}/repermission/",
                            {"reason": "Phoned on 30 Nov asking for the newsletter again."}, format="json")
    assert answer.status_code == 200
    body = answer.json()
    assert body["cleared"] == list(STANDING_FLAGS)
    assert (body["by"], body["at"], body["bounce_reason"]) == (admin_user.pk, "2026-12-01T10:00:00Z",
                                                               "550 mailbox full")
    contact.refresh_from_db()
    assert not any(getattr(contact, flag) for flag in STANDING_FLAGS)
    assert contact.bounce_reason == ""
    record = Repermission.objects.get()
    assert (record.contact, record.by, record.reason) == (contact, admin_user,
                                                          "Phoned on 30 Nov asking for the newsletter again.")


def test_an_admin_may_clear_only_some_flags(admin_api):
    contact = opted_out(unsubscribed=True, unsubscribed_sales=True)
    answer = admin_api.post(f"/api/v1/contacts/{contact.pk}/repermission/",
                            {"reason": "Asked for sales email again", "flags": ["unsubscribed_sales"]}, format="json")
    assert answer.status_code == 200
    contact.refresh_from_db()
    assert (contact.unsubscribed, contact.unsubscribed_sales) == (True, False)


def test_a_rep_cannot_re_permission_a_contact(api):
    contact = opted_out()
    answer = api.post(f"/api/v1/contacts/{contact.pk}/repermission/", {"reason": "she asked"}, format="json")
    assert (answer.status_code, answer.json()["code"]) == (403, "PERMISSION_DENIED")
    contact.refresh_from_db()
    assert all(getattr(contact, flag) for flag in STANDING_FLAGS)
    assert not Repermission.objects.exists()


@pytest.mark.parametrize(("body", "field"), [
    ({"reason": "  "}, "reason"),
    ({"reason": "x" * 501}, "reason"),
    ({"reason": "asked", "flags": ["email_bounced"]}, "flags"),
    ({"reason": "asked", "flags": ["owner"]}, "flags.0"),
])
def test_a_re_permission_needs_a_reason_and_flags_the_contact_has(admin_api, body, field):
    contact = opted_out(unsubscribed=True)
    answer = admin_api.post(f"/api/v1/contacts/{contact.pk}/repermission/", body, format="json")
    assert (answer.status_code, answer.json()["code"]) == (400, "VALIDATION_ERROR")
    assert field in answer.json()["fields"]
    assert not Repermission.objects.exists()


def test_the_contact_page_offers_admins_the_re_permission_and_shows_the_record(client, admin_user, rep):
    contact = opted_out(unsubscribed=True)
    client.force_login(rep)
    page = client.get(f"/contacts/{contact.pk}/").content.decode()
    assert "Re-permission…" not in page
    client.post(f"/contacts/{contact.pk}/repermission/", {"reason": "asked", "flags": ["unsubscribed"]})
    contact.refresh_from_db()
    assert contact.unsubscribed

    client.force_login(admin_user)
    assert "Re-permission…" in client.get(f"/contacts/{contact.pk}/").content.decode()
    answer = client.post(f"/contacts/{contact.pk}/repermission/",
                         {"reason": "Emailed us asking to hear again", "flags": ["unsubscribed"]}, follow=True)
    page = answer.content.decode()
    assert "may be emailed again" in page
    assert "unsubscribed cleared by" in page
    assert "Emailed us asking to hear again" in page
    contact.refresh_from_db()
    assert not contact.unsubscribed


def test_an_import_never_clears_a_flag_and_says_so(api):
    contact = opted_out(unsubscribed=True)
    data = "email,first_name,unsubscribed,marked_spam\nann@example.com,Ann,false,false\nnew@example.com,New,no,\n"
    answer = api.post("/api/v1/contacts/import/", {"file": SimpleUploadedFile("c.csv", data.encode(), "text/csv")},
                      format="multipart")
    assert answer.status_code == 200
    kept = "unsubscribed kept: email standing is cleared only by an admin's re-permission (EMAIL_STANDING_READ_ONLY)."
    assert answer.json()["warnings"] == [{"row": 2, "message": kept}]
    contact.refresh_from_db()
    assert (contact.first_name, contact.unsubscribed) == ("Ann", True)


@pytest.mark.parametrize("flag", [*STANDING_FLAGS, "bounce_reason"])
def test_a_workflow_cannot_set_email_standing(admin_api, flag):
    answer = admin_api.post("/api/v1/workflows/", {
        "name": "Re-subscribe", "trigger": {"type": "contact_created"},
        "actions": [{"type": "set_property", "field": flag, "value": False}],
    }, format="json")
    assert answer.status_code == 400
    assert "EMAIL_STANDING_READ_ONLY" in answer.json()["fields"]["actions.0.field"][0]


def test_a_stored_workflow_action_that_clears_a_flag_is_refused_with_the_code(rep, monkeypatch):
    monkeypatch.setattr("workflows_app.events._enqueue", lambda event_id: None)  # drain() runs them here
    flow = workflow(rep, trigger_type="contact_created",
                    actions=[{"type": "set_property", "field": "unsubscribed", "value": False}])
    contact = contact_create(email="bob@example.com", unsubscribed=True)
    drain()
    contact.refresh_from_db()
    assert contact.unsubscribed
    assert WorkflowHistory.objects.get(workflow=flow, action="set_property").code == "EMAIL_STANDING_READ_ONLY"
