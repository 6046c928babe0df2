"""List and record pages cost a fixed number of queries however many rows they show (no N+1)."""
from __future__ import annotations

import pytest

from contacts_app.models import ContactList, ListMembership
from sequences_app.models import EmailEvent, Enrollment, EnrollmentStep, Meeting, Sequence, StepType
from tests.factories import (
    CompanyFactory,
    ContactFactory,
    EnrollmentFactory,
    SequenceFactory,
    SequenceStepFactory,
    TaskFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

# 50 rows on screen (a full page); the bounds hold for 1 row as for 50.
ROWS = 55


@pytest.fixture
def crowd(rep):
    contacts = ContactFactory.create_batch(ROWS, owner=rep)
    sequence = SequenceFactory(owner=rep, visibility="everyone")
    SequenceStepFactory(sequence=sequence, order=1)
    SequenceStepFactory(sequence=sequence, order=2, type=StepType.CALL, title="Call", subject="", body_html="")
    for contact in contacts[:30]:
        enrollment = EnrollmentFactory(sequence=sequence, contact=contact, sender=rep)
        EnrollmentStep.objects.create(enrollment=enrollment, order=1, type=StepType.AUTOMATED_EMAIL)
        TaskFactory(owner=rep, contact=contact, enrollment=enrollment, step_order=2, title=f"Call {contact.pk}")
    return {"contacts": contacts, "sequence": sequence}


def test_contacts_index(rep_client, crowd, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        response = rep_client.get("/contacts/")
    assert response.context["page"].items.__len__() == 50


def test_contacts_select_all_review_of_fifty(rep_client, crowd, django_assert_max_num_queries):
    with django_assert_max_num_queries(40):
        response = rep_client.get(f"/enroll/?sequence={crowd['sequence'].pk}&source=contacts&scope=all")
    assert response.status_code == 200


def test_a_list_page(rep_client, rep, crowd, django_assert_max_num_queries):
    contact_list = ContactList.objects.create(name="All", kind="static", created_by=rep)
    ListMembership.objects.bulk_create(ListMembership(contact_list=contact_list, contact=c) for c in crowd["contacts"])
    with django_assert_max_num_queries(12):
        assert rep_client.get(f"/lists/{contact_list.pk}/").status_code == 200
    with django_assert_max_num_queries(8):
        assert rep_client.get("/lists/").status_code == 200


def test_the_contact_record(rep_client, rep, crowd, django_assert_max_num_queries):
    contact = crowd["contacts"][0]
    sequence = crowd["sequence"]
    for _ in range(10):
        old = EnrollmentFactory(sequence=sequence, contact=contact, sender=rep, status=Enrollment.Status.FINISHED)
        EnrollmentStep.objects.create(enrollment=old, order=1, type=StepType.AUTOMATED_EMAIL, status="sent")
        EmailEvent.objects.create(kind="sent", sequence=sequence, contact=contact, enrollment=old,
                                  occurred_at=old.enrolled_at)
        Meeting.objects.create(contact=contact, user=rep, starts_at=old.enrolled_at)
    # 21: one is the portal's time zone and language, for a user who chose neither.
    with django_assert_max_num_queries(21):
        assert rep_client.get(f"/contacts/{contact.pk}/").status_code == 200


def test_the_sequences_list(rep_client, rep, crowd, django_assert_max_num_queries):
    for index in range(ROWS):
        sequence = SequenceFactory(owner=rep, name=f"Seq {index:02d}")
        SequenceStepFactory(sequence=sequence, order=1)
    with django_assert_max_num_queries(14):
        response = rep_client.get("/sequences/")
    assert len(response.context["page"].items) == 50


def test_the_sequence_page(rep_client, crowd, django_assert_max_num_queries):
    with django_assert_max_num_queries(18):
        assert rep_client.get(f"/sequences/{crowd['sequence'].pk}/").status_code == 200


def test_the_tasks_queue(rep_client, rep, crowd, django_assert_max_num_queries):
    TaskFactory.create_batch(ROWS, owner=rep)
    # 11: one of them is the portal's language and time zone for a user who chose neither.
    with django_assert_max_num_queries(11):
        response = rep_client.get("/tasks/")
    assert len(response.context["page"].items) == 50


def test_an_unshared_sequences_page_costs_the_same_few_queries_for_any_number_of_enrollments(
    rep_client, rep, crowd, django_assert_max_num_queries
):
    sequence = crowd["sequence"]
    owner = UserFactory()
    Sequence.objects.filter(pk=sequence.pk).update(owner=owner, visibility="private")
    # 10: one is the portal's time zone and language, for a user who chose neither.
    with django_assert_max_num_queries(10):
        response = rep_client.get(f"/sequences/{sequence.pk}/")
    assert response.status_code == 200
    assert "no longer shared" in response.content.decode()


def test_the_import_pages_cost_a_fixed_number_of_queries(rep_client, rep, django_assert_max_num_queries):
    from contacts_app.models import ContactImport

    for n in range(12):
        ContactImport.objects.create(created_by=rep, file_name=f"f{n}.csv", header=["Email"], mapping=["email"],
                                     status="done", errors=[{"row": 2, "message": "bad"}] * 200)
    job = ContactImport.objects.create(
        created_by=rep, file_name="big.csv", header=["Email", "Name"], mapping=["email", "property"],
        text="Email,Name\n" + "".join(f"p{n}@x.example,P{n}\n" for n in range(500)), total_rows=500)
    with django_assert_max_num_queries(8):
        assert rep_client.get("/contacts/import/").status_code == 200
    with django_assert_max_num_queries(8):
        assert rep_client.get(f"/contacts/import/{job.pk}/").status_code == 200
    with django_assert_max_num_queries(8):
        assert rep_client.get(f"/contacts/import/{job.pk - 1}/").status_code == 200


def test_the_record_forms_cost_a_fixed_number_of_queries(rep_client, django_assert_max_num_queries):
    CompanyFactory.create_batch(30)
    with django_assert_max_num_queries(8):
        assert rep_client.get("/new/contact/").status_code == 200
