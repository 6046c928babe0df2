"""Every page and form path through the Django test client: success, refusals and bad input (never a 500)."""
from __future__ import annotations

import pytest
from django.urls import reverse

from accounts_app.models import PortalSettings, Team
from mailboxes_app.models import Mailbox
from sequences_app.models import Enrollment, Meeting, Sequence, SequenceStep, Task
from sequences_app.services.enrollments import enrollment_create
from tests.factories import (
    ContactFactory,
    EnrollmentFactory,
    SeatFactory,
    SequenceFactory,
    SequenceStepFactory,
    TaskFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def html(response) -> str:
    return response.content.decode()


# --- Shell -------------------------------------------------------------------------------------


def test_strangers_are_sent_to_the_login_page(client):
    response = client.get("/contacts/")
    assert response.status_code == 302
    assert response.url.startswith("/login/")


def test_login_shows_an_error_for_a_wrong_password_and_logs_in_with_the_right_one(client, rep):
    bad = client.post("/login/", {"username": rep.username, "password": "nope"})
    assert bad.status_code == 200
    assert "Please enter a correct username and password" in html(bad)
    good = client.post("/login/", {"username": rep.username, "password": "pw-for-tests-1"})
    assert good.status_code == 302
    assert client.get(good.url, follow=True).status_code == 200


def test_logout_asks_on_get_and_logs_out_on_post(rep_client):
    assert "Log out of Nudge?" in html(rep_client.get("/logout/"))
    assert rep_client.post("/logout/").status_code == 302
    assert rep_client.get("/contacts/").status_code == 302


def test_home_goes_to_the_sequences(rep_client):
    assert rep_client.get("/").url == reverse("sequences:index")


def test_the_shell_shows_the_user_and_the_unread_badge(rep_client, rep):
    rep.notifications.create(kind="task", message="Call Ann is due")
    page = html(rep_client.get("/sequences/"))
    assert rep.get_full_name() in page
    assert 'data-testid="unread-count">1<' in page
    rep_client.post("/notifications/")
    assert "unread-count" not in html(rep_client.get("/sequences/"))


def test_unknown_pages_get_the_product_404_and_the_api_keeps_json(rep_client):
    page = rep_client.get("/no/such/page/")
    assert page.status_code == 404
    assert "Page not found" in html(page)
    assert "nudge.css" in html(page)
    api = rep_client.get("/api/v1/no-such-endpoint/")
    assert api.status_code == 404
    assert api.json()["code"] == "NOT_FOUND"


def test_settings_other_than_private_apps_are_for_admins_only(rep_client):
    for tab in ("users", "teams", "portal"):
        response = rep_client.get(f"/settings/?tab={tab}")
        assert response.status_code == 403
        assert "You can't open this page" in html(response)
    own = rep_client.get("/settings/")
    assert own.status_code == 200
    assert "New private app token" in html(own)
    assert "Users and seats" not in html(own)


# --- CRM pages -----------------------------------------------------------------------------------


def test_contacts_index_searches_and_filters(rep_client, portal):
    ContactFactory(first_name="Zed", lifecycle_stage="customer")
    page = html(rep_client.get("/contacts/?stage=customer"))
    assert "Zed" in page
    assert portal["contacts"][0].email not in page
    assert "Zed" not in html(rep_client.get("/contacts/?q=nobody-matches"))


def test_a_contact_record_logs_a_meeting_that_unenrolls_the_contact(rep_client, rep, portal):
    contact = portal["contacts"][1]
    enrollment_create(sequence=portal["sequence"], caller=rep, contact_ids=[contact.pk])
    response = rep_client.post(f"/contacts/{contact.pk}/meetings/", {"title": "Demo", "starts_at": "2026-12-01T10:00"})
    assert response.status_code == 302
    assert Meeting.objects.filter(contact=contact).exists()
    assert Enrollment.objects.get(contact=contact).reason == "MEETING_BOOKED"
    bad = rep_client.post(f"/contacts/{contact.pk}/meetings/", {"starts_at": "soon"}, follow=True)
    assert "Enter the meeting&#x27;s date and time." in html(bad)


def test_pause_resume_and_unenroll_swap_the_enrollment_card(rep_client, rep, portal):
    contact = portal["contacts"][0]
    enrollment_create(sequence=portal["sequence"], caller=rep, contact_ids=[contact.pk])
    enrollment = Enrollment.objects.get(contact=contact)
    url = f"/enrollments/{enrollment.pk}/"
    assert "Resume" in html(rep_client.post(url + "pause/", HTTP_HX_REQUEST="true"))
    assert "Pause" in html(rep_client.post(url + "resume/"))
    assert "Unenrolled" in html(rep_client.post(url + "unenroll/"))
    again = html(rep_client.post(url + "pause/"))
    assert "can&#x27;t be paused" in again
    assert rep_client.post(url + "explode/").status_code == 404


def test_a_record_without_associated_contacts_says_it_cannot_enroll(rep_client):
    from tests.factories import DealFactory, TicketFactory

    deal = DealFactory(name="Lonely deal")
    assert "has no associated contacts" in html(rep_client.get(f"/deals/{deal.pk}/"))
    ticket = TicketFactory()
    assert "has no associated contacts" in html(rep_client.get(f"/tickets/{ticket.pk}/"))


def test_custom_object_pages(rep_client):
    from tests.factories import CustomObjectFactory

    record = CustomObjectFactory()
    record.contacts.add(ContactFactory())
    schema = record.schema.name
    assert rep_client.get(f"/objects/{schema}/").status_code == 200
    assert "Enroll a contact" in html(rep_client.get(f"/objects/{schema}/{record.pk}/"))
    assert rep_client.get(f"/objects/{schema}/{record.pk + 99}/").status_code == 404


# --- Enrollment flow -------------------------------------------------------------------------------


def _review(client, portal, **extra):
    data = {"sequence": portal["sequence"].pk, "contacts": [c.pk for c in portal["contacts"]], "focus": "all"}
    data.update(extra)
    return client.post("/enroll/preview/", data)


def test_the_review_is_a_dry_run_that_writes_nothing(rep_client, portal):
    page = html(_review(rep_client, portal))
    assert "3 of 3 contacts ready" in page
    assert not Enrollment.objects.exists()


def test_starting_at_a_threaded_follow_up_says_which_subject_its_email_carries(rep_client, portal):
    sequence = portal["sequence"]
    SequenceStep.objects.filter(sequence=sequence, order=1).update(subject="Hello {{ contact.first_name }}")
    SequenceStepFactory(sequence=sequence, order=3, delay_days=1, subject="", body_html="<p>Any news?</p>")
    page = html(_review(rep_client, portal, start_step=3))
    assert "it is sent with the subject of the sequence's first email, “Hello {{ contact.first_name }}”" in page
    assert "subject of the sequence" not in html(_review(rep_client, portal, start_step=1))


def test_remove_contact_leaves_the_selection(rep_client, portal):
    removed = portal["contacts"][0]
    page = html(_review(rep_client, portal, remove=removed.pk))
    assert "2 of 2 contacts ready" in page
    assert f'name="contacts" value="{removed.pk}"' not in page


def test_enrolling_more_than_fifty_is_refused_with_a_clear_message(rep_client, rep, portal):
    for _ in range(48):
        ContactFactory(owner=rep)
    page = html(rep_client.get(f"/enroll/?sequence={portal['sequence'].pk}&source=contacts&scope=all"))
    assert "You can enroll at most 50 contacts at a time" in page


def test_bulk_without_the_permission_is_refused(client, portal):
    user = UserFactory(can_bulk_enroll=False)
    SeatFactory(user=user)
    from tests.factories import MailboxFactory

    MailboxFactory(owner=user)
    portal["sequence"].visibility = Sequence.Visibility.EVERYONE
    portal["sequence"].save()
    client.force_login(user)
    assert "needs the “Bulk enroll sequences” permission" in html(_review(client, portal))


def test_a_send_later_time_in_the_past_is_refused_and_a_missing_one_is_asked_for(rep_client, portal):
    past = html(_review(rep_client, portal, send="later", send_date="2001-01-01", send_time="09:00"))
    assert "is already past" in past
    missing = html(_review(rep_client, portal, send="later"))
    assert "Choose the date and time to send at" in missing


def test_submit_enrolls_and_lists_rejections_with_reasons(rep_client, portal):
    bounced = portal["contacts"][2]
    bounced.email_bounced = True
    bounced.bounce_reason = "mailbox full"
    bounced.save()
    data = {"sequence": portal["sequence"].pk, "contacts": [c.pk for c in portal["contacts"]]}
    response = rep_client.post("/enroll/submit/", data)
    assert response.status_code == 201
    page = html(response)
    assert "2 enrolled, 1 not enrolled" in page
    assert "mailbox full" in page
    assert Enrollment.objects.count() == 2


def test_enroll_one_contact_at_a_time_returns_to_the_review(rep_client, portal):
    first = portal["contacts"][0]
    data = {"sequence": portal["sequence"].pk, "contacts": [c.pk for c in portal["contacts"]], "focus": first.pk,
            "only": "1"}
    page = html(rep_client.post("/enroll/submit/", data))
    assert "is enrolled" in page
    assert "2 of 2 contacts ready" in page
    assert list(Enrollment.objects.values_list("contact_id", flat=True)) == [first.pk]


def test_per_contact_and_all_edits_reach_the_service(rep_client, portal):
    first, second = portal["contacts"][:2]
    data = {
        "sequence": portal["sequence"].pk, "contacts": [first.pk, second.pk],
        "so.1.subject": "For everyone", f"co.{first.pk}.1.subject": "Just for you", "so.2.delay_days": "5",
    }
    assert rep_client.post("/enroll/submit/", data).status_code == 201
    overrides = {e.contact_id: e.step_overrides for e in Enrollment.objects.all()}
    assert overrides[first.pk]["1"]["subject"] == "Just for you"
    assert overrides[second.pk]["1"]["subject"] == "For everyone"
    assert overrides[second.pk]["2"]["delay_days"] == 5


def test_the_pick_panel_keeps_ticked_contacts(rep_client, portal):
    ticked = portal["contacts"][0]
    page = html(rep_client.post("/enroll/contacts/", {"contacts": [ticked.pk], "q": "zzz-nobody"}))
    assert f'value="{ticked.pk}" checked' in page


def test_review_without_a_sequence_is_a_404(rep_client):
    assert rep_client.get("/enroll/").status_code == 404


# --- Sequences ------------------------------------------------------------------------------------


def _sequence_form(**extra):
    data = {
        "name": "Webinar", "follow_up_days": "BUSINESS_DAYS", "visibility": "private",
        "steps-0-type": "automated_email", "steps-0-subject": "Hi {{ contact.first_name }}",
        "steps-0-body_html": "<p>Hello</p>", "steps-0-delay_days": "0",
        "steps-1-type": "call", "steps-1-title": "Call", "steps-1-priority": "high", "steps-1-delay_days": "2",
        "threaded_follow_ups": "on", "unenroll_on_reply": "on",
    }
    data.update(extra)
    return data


def test_create_a_sequence_and_see_validation_errors_next_to_inputs(rep_client, rep):
    bad = rep_client.post("/sequences/new/", _sequence_form(**{"name": "", "steps-0-body_html": "<p><br></p>",
                                                               "steps-1-title": ""}))
    assert bad.status_code == 400
    page = html(bad)
    assert "An automated email needs a body." in page
    assert "This field may not be blank." in page or "This field is required." in page
    good = rep_client.post("/sequences/new/", _sequence_form())
    assert good.status_code == 302
    sequence = Sequence.objects.get(name="Webinar")
    assert [s.type for s in sequence.steps.order_by("order")] == ["automated_email", "call"]
    assert sequence.send_window_start_minute is None


def test_an_unknown_token_is_refused(rep_client):
    page = html(rep_client.post("/sequences/new/", _sequence_form(**{"steps-0-subject": "Hi {{ contact.shoe_size }}"})))
    assert "Unknown token contact.shoe_size" in page


def test_edit_share_and_delete_a_sequence(rep_client, portal):
    sequence = portal["sequence"]
    assert rep_client.post(f"/sequences/{sequence.pk}/edit/", _sequence_form(name="Renamed")).status_code == 302
    sequence.refresh_from_db()
    assert sequence.name == "Renamed"
    team = Team.objects.create(name="Nordics")
    rep_client.post(f"/sequences/{sequence.pk}/sharing/", {"visibility": "specific", "shared_teams": [team.pk]})
    assert list(sequence.shared_teams.all()) == [team]
    rep_client.post(f"/sequences/{sequence.pk}/delete/")
    sequence.refresh_from_db()
    assert sequence.is_deleted


def test_someone_elses_sequence_cannot_be_edited(client, portal):
    other = UserFactory()
    portal["sequence"].visibility = "everyone"
    portal["sequence"].save()
    client.force_login(other)
    assert client.get(f"/sequences/{portal['sequence'].pk}/edit/").status_code == 302
    response = client.post(f"/sequences/{portal['sequence'].pk}/edit/", _sequence_form(name="Hijacked"))
    assert "Only the sequence&#x27;s owner or an admin may change it." in html(response)


def test_performance_tab_draws_the_chart(rep_client, portal):
    page = html(rep_client.get(f"/sequences/{portal['sequence'].pk}/performance/"))
    assert "<polyline" in page
    assert "Last 30 days" in page


# --- Tasks, mailboxes, settings --------------------------------------------------------------------


def test_completing_a_task_returns_the_done_row(rep_client, portal):
    task = portal["task"]
    page = html(rep_client.post(f"/tasks/{task.pk}/complete/", HTTP_HX_REQUEST="true"))
    assert "Done" in page
    task.refresh_from_db()
    assert task.status == Task.Status.DONE
    assert "Call Ann" in html(rep_client.get("/tasks/?status=done"))


def test_a_per_minute_cap_of_zero_is_refused_on_the_mailbox_form(rep_client, rep):
    mailbox = rep.mailboxes.get()
    data = {"email": mailbox.email, "smtp_host": mailbox.smtp_host, "smtp_port": "587", "imap_port": "993",
            "minute_limit": "0"}
    answer = rep_client.post(f"/mailboxes/{mailbox.pk}/edit/", data)
    assert answer.status_code == 400
    assert "Enter a whole number from 1" in html(answer)
    mailbox.refresh_from_db()
    assert mailbox.minute_limit is None


def test_someone_elses_task_is_not_found(rep_client):
    task = TaskFactory()
    assert rep_client.post(f"/tasks/{task.pk}/complete/").status_code == 404


def test_connect_a_mailbox_with_errors_then_for_real_and_passwords_stay_hidden(rep_client, rep, run_tasks):
    bad = rep_client.post("/mailboxes/new/", {"email": "", "smtp_host": "", "smtp_port": "x", "imap_port": "993"})
    assert bad.status_code == 400
    assert "Enter the SMTP server." in html(bad)
    data = {"email": "second@nudge.example", "smtp_host": "127.0.0.1", "smtp_port": "1", "smtp_security": "none",
            "smtp_password": "s3cret-pass", "imap_port": "993", "imap_security": "ssl", "daily_limit": "40",
            "minute_limit": "30"}
    assert rep_client.post("/mailboxes/new/", data).status_code == 302
    mailbox = Mailbox.objects.get(email="second@nudge.example")
    assert (mailbox.daily_limit, mailbox.minute_limit) == (40, 30)
    assert "30 emails / minute" in html(rep_client.get("/mailboxes/"))
    edit = html(rep_client.get(f"/mailboxes/{mailbox.pk}/edit/"))
    assert "s3cret-pass" not in edit
    with run_tasks():
        verify = html(rep_client.post(f"/mailboxes/{mailbox.pk}/verify/", follow=True))
    assert "Verifying second@nudge.example" in verify
    assert "Waiting to verify…" in verify  # the card polls until the task has answered
    state = html(rep_client.get(f"/mailboxes/{mailbox.pk}/verification/"))
    assert "refused the connection" in state
    assert "hx-trigger" not in state
    rep_client.post(f"/mailboxes/{mailbox.pk}/primary/")
    mailbox.refresh_from_db()
    assert mailbox.is_primary
    rep_client.post(f"/mailboxes/{mailbox.pk}/delete/")
    assert not Mailbox.objects.filter(pk=mailbox.pk).exists()


def test_admin_settings_change_seats_teams_and_the_portal(client, admin_user, rep):
    client.force_login(admin_user)
    for tab in ("users", "teams", "portal"):
        assert client.get(f"/settings/?tab={tab}").status_code == 200
    client.post(f"/settings/users/{rep.pk}/", {"hub": "service", "tier": "enterprise"})
    rep.refresh_from_db()
    assert rep.seat.tier == "enterprise"
    assert rep.can_bulk_enroll is False
    client.post("/settings/teams/", {"name": "Nordics", "members": [rep.pk]})
    duplicate = html(client.post("/settings/teams/", {"name": "nordics"}, follow=True))
    assert "A team with this name exists." in duplicate
    bad = client.post("/settings/portal/", {"time_zone": "Mars/Olympus", "holiday_country": "FI",
                                            "send_limit_professional": "500", "send_limit_enterprise": "x"})
    assert bad.status_code == 400
    assert "Enter a whole number." in html(bad)
    client.post("/settings/portal/", {"time_zone": "Europe/Helsinki", "holiday_country": "FI",
                                      "send_limit_professional": "400", "send_limit_enterprise": "900"})
    portal = PortalSettings.load()
    assert (portal.time_zone, portal.professional_send_limit) == ("Europe/Helsinki", 400)


def test_the_last_admin_cannot_be_demoted_from_the_page(client, admin_user):
    client.force_login(admin_user)
    page = html(client.post(f"/settings/users/{admin_user.pk}/", {"hub": "sales", "tier": "enterprise"}, follow=True))
    assert "last active admin" in page


def test_the_500_and_400_pages_have_the_product_look(rf):
    from config.views import bad_request, server_error

    page = server_error(rf.get("/contacts/"))
    assert page.status_code == 500
    assert "Something went wrong on our side" in page.content.decode()
    assert "nudge.css" in page.content.decode()
    assert bad_request(rf.get("/contacts/")).status_code == 400
    assert server_error(rf.get("/api/v1/x/"))["Content-Type"] == "application/json"


# --- A sequence that stops being shared ------------------------------------------------------------


@pytest.fixture
def unshared(rep):
    """A colleague's sequence the rep enrolled two contacts in, then made private again."""
    owner = UserFactory()
    SeatFactory(user=owner)
    sequence = SequenceFactory(owner=owner, name="Colleague's outreach", visibility="everyone")
    SequenceStepFactory(sequence=sequence, order=1, subject="Secret subject line")
    contacts = [ContactFactory(owner=rep, first_name=name) for name in ("Ann", "Bob")]
    result = enrollment_create(sequence=sequence, caller=rep, contact_ids=[contact.pk for contact in contacts])
    assert not result.rejected
    sequence.visibility = Sequence.Visibility.PRIVATE
    sequence.save()
    return sequence


def test_a_rep_whose_sequence_is_no_longer_shared_still_sees_their_enrollments_in_it(rep_client, unshared):
    response = rep_client.get(f"/sequences/{unshared.pk}/")
    assert response.status_code == 200
    page = html(response)
    assert "This sequence is no longer shared with you" in page
    for shown in ("Ann", "Bob", "Pause", "Unenroll"):
        assert shown in page
    assert "Secret subject line" not in page  # the owner's steps stay private
    assert "Enroll contacts" not in page


def test_the_reps_enrollments_in_an_unshared_sequence_can_be_paused_and_unenrolled(rep_client, unshared):
    ann, bob = Enrollment.objects.filter(sequence=unshared).order_by("contact__first_name")
    paused = html(rep_client.post(f"/enrollments/{ann.pk}/pause/", {"show": "contact"}, HTTP_HX_REQUEST="true"))
    assert "Resume" in paused
    assert "Ann" in paused  # the card still names the contact, as the sequence page shows it
    rep_client.post(f"/enrollments/{bob.pk}/unenroll/", {"show": "contact"})
    ann.refresh_from_db()
    bob.refresh_from_db()
    assert (ann.status, bob.status) == ("paused", "unenrolled")


def test_an_unshared_sequence_lists_only_the_reps_own_enrollments(rep_client, unshared):
    colleague = UserFactory()
    SeatFactory(user=colleague)
    EnrollmentFactory(sequence=unshared, sender=colleague, contact=ContactFactory(first_name="Zelda"))
    response = rep_client.get(f"/sequences/{unshared.pk}/")
    assert response.status_code == 200
    assert "Ann" in html(response)
    assert "Zelda" not in html(response)


def test_a_private_sequence_the_rep_never_enrolled_in_is_not_found(rep_client):
    other = SequenceFactory(owner=UserFactory(), visibility="private")
    assert rep_client.get(f"/sequences/{other.pk}/").status_code == 404


def test_a_deleted_sequence_is_not_found_even_with_the_reps_old_enrollments(rep_client, unshared):
    unshared.deleted_at = unshared.created_at
    unshared.save()
    assert rep_client.get(f"/sequences/{unshared.pk}/").status_code == 404
