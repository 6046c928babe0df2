"""factory_boy factories shared by every app's tests."""
from __future__ import annotations

import factory
from django.utils import timezone

from accounts_app.models import Seat, Team, User
from contacts_app.models import Company, Contact, ContactList, CustomObject, Deal, ObjectSchema, Ticket
from mailboxes_app.models import Mailbox, OutboundMessage, Security
from sequences_app.models import Enrollment, EnrollmentStep, Sequence, SequenceStep, StepType, Task


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@nudge.example")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password("pw-for-tests-1")


class SeatFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Seat

    user = factory.SubFactory(UserFactory)
    hub = Seat.Hub.SALES
    tier = Seat.Tier.PROFESSIONAL


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")


class MailboxFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Mailbox

    owner = factory.SubFactory(UserFactory)
    email = factory.LazyAttribute(lambda m: m.owner.email)
    display_name = factory.LazyAttribute(lambda m: m.owner.get_full_name())
    is_primary = True
    smtp_host = "127.0.0.1"
    smtp_port = 1025
    smtp_security = Security.NONE
    smtp_username = factory.LazyAttribute(lambda m: m.owner.email)
    smtp_password = "smtp-secret"
    status = Mailbox.Status.CONNECTED


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"Company {n}")
    domain = factory.Sequence(lambda n: f"company{n}.example")


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    email = factory.Sequence(lambda n: f"contact{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")


class DealFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Deal

    name = factory.Sequence(lambda n: f"Deal {n}")


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    subject = factory.Sequence(lambda n: f"Ticket {n}")


class ObjectSchemaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ObjectSchema

    name = factory.Sequence(lambda n: f"object{n}")
    label = factory.Sequence(lambda n: f"Object {n}")
    properties = factory.LazyFunction(lambda: [{"name": "name", "type": "string"}])


class CustomObjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomObject

    schema = factory.SubFactory(ObjectSchemaFactory)
    properties = factory.LazyFunction(lambda: {"name": "Record"})


class ContactListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactList

    name = factory.Sequence(lambda n: f"List {n}")
    kind = ContactList.Kind.STATIC


class SequenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sequence

    name = factory.Sequence(lambda n: f"Sequence {n}")
    owner = factory.SubFactory(UserFactory)


class SequenceStepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SequenceStep

    sequence = factory.SubFactory(SequenceFactory)
    order = factory.Sequence(lambda n: n + 1)
    type = StepType.AUTOMATED_EMAIL
    subject = "Hello {{ contact.first_name }}"
    body_html = "<p>Hi {{ contact.first_name }}</p>"


class EnrollmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enrollment

    sequence = factory.SubFactory(SequenceFactory)
    contact = factory.SubFactory(ContactFactory)
    sender = factory.LazyAttribute(lambda e: e.sequence.owner)
    time_zone = "Europe/Helsinki"
    status = Enrollment.Status.ACTIVE
    snapshot = factory.LazyAttribute(lambda e: {"sequence_name": e.sequence.name, "settings": {}, "steps": []})
    next_action_at = factory.LazyFunction(timezone.now)


class EnrollmentStepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EnrollmentStep

    enrollment = factory.SubFactory(EnrollmentFactory)
    order = 1
    type = StepType.AUTOMATED_EMAIL


class OutboundMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OutboundMessage

    enrollment = factory.SubFactory(EnrollmentFactory)
    step_order = 1
    sender = factory.LazyAttribute(lambda m: m.enrollment.sender)
    message_id = factory.Sequence(lambda n: f"<test-{n}@nudge.example>")
    from_email = factory.LazyAttribute(lambda m: m.sender.email)
    to_email = factory.LazyAttribute(lambda m: m.enrollment.contact.email)


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task

    owner = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Task {n}")
