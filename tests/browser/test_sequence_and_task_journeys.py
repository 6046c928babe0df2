"""Chromium journeys: build a sequence in the editor; complete a task and watch the sequence move on."""
from __future__ import annotations

import pytest

from sequences_app.models import Enrollment, EnrollmentStep, Sequence, StepType, Task
from sequences_app.services.enrollments import enrollment_create
from sequences_app.tests.scheduler_helpers import run_scheduler
from tests.browser.conftest import shot
from tests.factories import (
    ContactFactory,
    MailboxFactory,
    SeatFactory,
    SequenceFactory,
    SequenceStepFactory,
    UserFactory,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def seller(transactional_db):
    user = UserFactory(first_name="Alice", last_name="Anders", can_bulk_enroll=True)
    SeatFactory(user=user)
    MailboxFactory(owner=user)
    return user


def test_create_a_sequence_with_an_email_and_a_task_step(login, seller):
    page = login(seller)
    page.goto("/sequences/new/")
    page.get_by_label("Sequence name").fill("Webinar follow-up")
    page.get_by_role("button", name="Save sequence").click()
    # The service refuses an empty first email: the errors show next to the inputs.
    page.get_by_text("The first email needs a subject").wait_for()
    page.get_by_text("An automated email needs a body.").wait_for()
    shot(page, "sequence-editor-errors")
    page.get_by_label("Subject").first.fill("Thanks for joining, ")
    page.get_by_label("Insert a personalisation token into Body of step 1").select_option("contact.first_name")
    page.locator(".ql-editor").first.click()
    page.keyboard.type("Here are the slides.")
    page.get_by_role("button", name="+ Task").click()
    page.get_by_label("Task title").last.fill("Call {{ contact.first_name }}")
    page.get_by_label("Priority").last.select_option("high")
    page.get_by_label("Days after the previous step").last.fill("3")
    shot(page, "sequence-editor")
    page.get_by_role("button", name="Save sequence").click()
    page.get_by_text("Sequence “Webinar follow-up” created.").wait_for()
    shot(page, "sequence-detail")
    sequence = Sequence.objects.get(name="Webinar follow-up")
    steps = list(sequence.steps.order_by("order"))
    assert [s.type for s in steps] == [StepType.AUTOMATED_EMAIL, StepType.CALL]
    assert "Here are the slides." in steps[0].body_html
    assert steps[1].delay_days == 3
    assert steps[1].priority == "high"


def test_complete_a_task_and_the_sequence_moves_on(login, seller, monkeypatch):
    sequence = SequenceFactory(owner=seller, name="Call first")
    SequenceStepFactory(
        sequence=sequence, order=1, type=StepType.CALL, title="Call {{ contact.first_name }}", subject="", body_html=""
    )
    SequenceStepFactory(sequence=sequence, order=2, delay_days=0, subject="After our call")
    contact = ContactFactory(first_name="Peter", last_name="Gibbons")
    enrollment_create(sequence=sequence, caller=seller, contact_ids=[contact.pk])
    run_scheduler()
    task = Task.objects.get(contact=contact)
    page = login(seller)
    page.goto("/tasks/")
    page.get_by_role("button", name=f"Complete {task.title}").click()
    page.locator(f"#task-{task.pk}").get_by_text("Done").wait_for()
    shot(page, "tasks-completed")
    enrollment = Enrollment.objects.get(contact=contact)
    assert enrollment.current_step == 2
    run_scheduler()
    page.goto(f"/contacts/{contact.pk}/")
    page.get_by_text("1. Task done").wait_for()
    shot(page, "contact-after-task")
    assert EnrollmentStep.objects.get(enrollment=enrollment, order=2).status != EnrollmentStep.Status.PENDING
