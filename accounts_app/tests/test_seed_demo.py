from __future__ import annotations

import pytest
from django.apps import apps
from django.core.management import call_command

pytestmark = pytest.mark.django_db

PROJECT_APPS = ("accounts_app", "contacts_app", "mailboxes_app", "sequences_app", "workflows_app")


def _row_counts() -> dict[str, int]:
    counts = {}
    for app_label in PROJECT_APPS:
        for model in apps.get_app_config(app_label).get_models():
            counts[model._meta.label] = model.objects.count()
            for field in model._meta.many_to_many:
                through = getattr(model, field.name).through
                counts[through._meta.label] = through.objects.count()
    return counts


def test_the_demo_seed_can_run_twice_without_duplicating_anything():
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    first = _row_counts()
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert _row_counts() == first


def test_the_demo_portal_has_what_a_newcomer_needs():
    from accounts_app.models import User
    from contacts_app.models import ContactList, Deal, Ticket
    from mailboxes_app.models import Mailbox
    from sequences_app.models import Sequence

    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    reps = User.objects.filter(is_staff=False, can_bulk_enroll=True, seat__tier__in=["professional", "enterprise"])
    assert reps.count() == 2
    assert User.objects.filter(is_staff=True).exists()
    assert Mailbox.objects.filter(status="connected", is_primary=True).count() == 3
    assert Deal.objects.get().contacts.count() == 2
    assert Ticket.objects.get().contacts.count() == 1
    assert set(ContactList.objects.values_list("kind", flat=True)) == {"static", "active"}
    for sequence in Sequence.objects.all():
        types = set(sequence.steps.values_list("type", flat=True))
        assert "automated_email" in types
        assert types - {"automated_email"}, "each demo sequence has a task step too"


def test_the_demo_portal_has_enough_crm_to_try_bulk_enrollment_imports_and_workflows():
    from contacts_app.models import Company, Contact, CustomObject
    from workflows_app.models import Workflow

    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert Contact.objects.count() >= 60
    assert Company.objects.count() >= 10
    assert all(company.contacts.count() >= 6 for company in Company.objects.all())
    record = CustomObject.objects.select_related("schema").get()
    assert record.schema.name == "subscriptions"
    assert record.contacts.count() == 1
    workflow = Workflow.objects.get()
    assert (workflow.trigger_type, workflow.actions[0]["type"]) == ("list_joined", "enroll_in_sequence")
