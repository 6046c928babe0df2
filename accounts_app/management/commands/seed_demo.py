"""Seed an idempotent demo portal: run it as often as you like, nothing is duplicated."""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts_app.models import Notification, PortalSettings, Seat, Team, User
from contacts_app.models import (
    Company,
    Contact,
    ContactList,
    CustomObject,
    Deal,
    ListMembership,
    ObjectSchema,
    Ticket,
)
from mailboxes_app.models import Mailbox, Security
from sequences_app.models import Enrollment, Priority, Sequence, SequenceStep, Snippet, StepType, Task

DEMO_PASSWORD = "nudge-demo"  # noqa: S105  (a published demo login, not a secret)
# Where devtools/mailcatcher.py listens by default (loopback only).
MAIL_CATCHER_HOST = "127.0.0.1"

USERS = [
    # username, first, last, is_staff, seat tier
    ("admin", "Ada", "Admin", True, Seat.Tier.ENTERPRISE),
    ("alice", "Alice", "Anders", False, Seat.Tier.PROFESSIONAL),
    ("bob", "Bob", "Berg", False, Seat.Tier.ENTERPRISE),
]
COMPANIES = [
    ("Acme Oy", "acme.example"), ("Globex", "globex.example"), ("Initech", "initech.example"),
    ("Umbrella", "umbrella.example"), ("Hooli", "hooli.example"), ("Vandelay Industries", "vandelay.example"),
    ("Stark Oy", "stark.example"), ("Wayne Ab", "wayne.example"), ("Nokkela Oy", "nokkela.example"),
    ("Tyrell", "tyrell.example"),
]
# More contacts, so bulk enrollment has something to pick from: 6 at each company (~60 in all).
CROWD_FIRST = ("Aino", "Eero", "Liisa", "Mikko", "Sanna", "Ville")
CROWD_LAST = ("Korhonen", "Nieminen", "Laine", "Heikkinen", "Koskinen", "Järvinen")
CROWD_TITLES = ("Head of Sales", "CFO", "Engineer", "Marketing Manager", "Buyer", "CEO")
CROWD_STAGES = ("lead", "lead", "subscriber", "opportunity", "marketingqualifiedlead", "customer")
CONTACTS = [
    # email, first, last, title, company index, lifecycle stage, time zone
    ("maria@acme.example", "Maria", "Mäkinen", "CTO", 0, "lead", "Europe/Helsinki"),
    ("jussi@acme.example", "Jussi", "Virtanen", "Head of Sales", 0, "lead", "Europe/Helsinki"),
    ("hank@globex.example", "Hank", "Scorpio", "CEO", 1, "opportunity", "America/New_York"),
    ("frank@globex.example", "Frank", "Grimes", "Engineer", 1, "subscriber", "America/Chicago"),
    ("peter@initech.example", "Peter", "Gibbons", "Programmer", 2, "lead", "America/Los_Angeles"),
    ("joanna@initech.example", "Joanna", "", "Server", 2, "lead", ""),
    ("sam@nocompany.example", "Sam", "Solo", "Consultant", None, "customer", "Europe/London"),
]

INTRO_STEPS = [
    {
        "order": 1,
        "type": StepType.AUTOMATED_EMAIL,
        "delay_days": 0,
        "subject": "Great meeting you, {{ contact.first_name }}",
        "body_html": "<p>Hi {{ contact.first_name }},</p><p>Thanks for stopping by our booth. "
        "How is {{ company.name }} handling follow-ups today?</p><p>{{ sender.first_name }}</p>",
    },
    {
        "order": 2,
        "type": StepType.CALL,
        "delay_days": 2,
        "title": "Call {{ contact.first_name }} about the demo",
        "notes": "Ask about their current tooling.",
        "priority": Priority.HIGH,
    },
    {
        "order": 3,
        "type": StepType.AUTOMATED_EMAIL,
        "delay_days": 3,
        "subject": "",
        "body_html": "<p>Hi {{ contact.first_name }}, just bumping this up in your inbox.</p>",
    },
]
NURTURE_STEPS = [
    {
        "order": 1,
        "type": StepType.AUTOMATED_EMAIL,
        "delay_days": 0,
        "subject": "A guide for {{ company.name }}",
        "body_html": "<p>Hello {{ contact.first_name }}, here is the guide we talked about.</p>",
    },
    {
        "order": 2,
        "type": StepType.LINKEDIN_CONNECT,
        "delay_days": 1,
        "title": "Connect with {{ contact.first_name }} on LinkedIn",
        "priority": Priority.MEDIUM,
        "continue_without_completion": True,
    },
    {
        "order": 3,
        "type": StepType.AUTOMATED_EMAIL,
        "delay_days": 4,
        "subject": "Any questions, {{ contact.first_name }}?",
        "body_html": "<p>Happy to walk you through it.</p>",
    },
]


class Command(BaseCommand):
    help = "Create (or complete) the demo portal: users with seats, mailboxes, CRM records, lists and sequences."

    @transaction.atomic
    def handle(self, *args: object, **options: object) -> None:
        PortalSettings.objects.update_or_create(
            pk=1, defaults={"time_zone": "Europe/Helsinki", "holiday_country": "FI"}
        )
        users = {name: self._user(name, first, last, staff, tier) for name, first, last, staff, tier in USERS}
        team, _ = Team.objects.get_or_create(name="Nordic sales")
        team.members.add(users["alice"], users["bob"])
        for user in users.values():
            self._mailbox(user)

        companies = [Company.objects.get_or_create(domain=domain, defaults={"name": name})[0]
                     for name, domain in COMPANIES]
        contacts = []
        for email, first, last, title, company_index, stage, tz in CONTACTS:
            contact, _ = Contact.objects.get_or_create(
                email=email,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "job_title": title,
                    "company": companies[company_index] if company_index is not None else None,
                    "lifecycle_stage": stage,
                    "time_zone": tz,
                    "owner": users["alice"],
                    "properties": {"source": "trade show"},
                },
            )
            contacts.append(contact)
        for company_index, company in enumerate(companies):
            for n, first in enumerate(CROWD_FIRST):
                last = CROWD_LAST[(n + company_index) % len(CROWD_LAST)]
                Contact.objects.get_or_create(
                    email=f"{first.lower()}.{company_index}@{company.domain}",
                    defaults={
                        "first_name": first, "last_name": last, "job_title": CROWD_TITLES[n], "company": company,
                        "lifecycle_stage": CROWD_STAGES[(n + company_index) % len(CROWD_STAGES)],
                        "time_zone": "Europe/Helsinki" if company.name.endswith(("Oy", "Ab")) else "Europe/London",
                        "owner": users["alice" if n % 2 == 0 else "bob"],
                        "properties": {"source": "webinar"},
                    },
                )

        deal, _ = Deal.objects.get_or_create(
            name="Acme — annual plan", defaults={"amount": 24000, "stage": "qualified", "company": companies[0]}
        )
        deal.contacts.add(contacts[0], contacts[1])
        ticket, _ = Ticket.objects.get_or_create(subject="Globex cannot log in", defaults={"status": "open"})
        ticket.contacts.add(contacts[2])

        static_list, _ = ContactList.objects.get_or_create(
            name="Trade show 2026 — hot", defaults={"kind": ContactList.Kind.STATIC, "created_by": users["alice"]}
        )
        for contact in contacts[:4]:
            ListMembership.objects.get_or_create(contact_list=static_list, contact=contact)
        ContactList.objects.get_or_create(
            name="All leads",
            defaults={
                "kind": ContactList.Kind.ACTIVE,
                "filters": [{"field": "lifecycle_stage", "operator": "eq", "value": "lead"}],
                "created_by": users["alice"],
            },
        )

        intro = self._sequence("Post-conference follow-up", users["alice"], Sequence.Visibility.EVERYONE, INTRO_STEPS)
        nurture = self._sequence("Enterprise nurture", users["bob"], Sequence.Visibility.SPECIFIC, NURTURE_STEPS)
        nurture.shared_teams.add(team)
        Snippet.objects.get_or_create(
            owner=users["alice"],
            shortcut="calendar",
            defaults={"name": "Book a time", "body_html": "<p>Pick any slot that suits you in my calendar.</p>"},
        )

        self._custom_object(contacts[0])
        self._workflow(users["admin"], static_list, intro)
        self._activity(users["alice"], intro, contacts)

        self.stdout.write(self.style.SUCCESS("Demo portal ready."))
        self.stdout.write(f"  demo logins (password {DEMO_PASSWORD!r}): " + ", ".join(users))
        catcher = f"{MAIL_CATCHER_HOST}:{settings.MAIL_CATCHER_PORT}"
        self.stdout.write(f"  mailboxes send to the local mail catcher at {catcher}")

    def _activity(self, alice: User, intro: Sequence, contacts: list[Contact]) -> None:
        """Something on the pages from the start: an enrollment, a task in the queue, a notification.

        The enrollment goes through the enrollment service like any other; it
        is made once (a contact already enrolled, or enrolled before, is left alone).
        """
        from sequences_app.services.enrollments import enrollment_create

        peter = contacts[4]
        if not Enrollment.objects.filter(contact=peter).exists():
            enrollment_create(sequence=intro, caller=alice, contact_ids=[peter.pk])
        Task.objects.get_or_create(
            owner=alice,
            title="Send Maria the pricing sheet",
            defaults={
                "contact": contacts[0],
                "type": StepType.TODO,
                "priority": Priority.HIGH,
                "due_at": timezone.now() + timedelta(days=1),
                "notes": "She asked for the annual plan in euros.",
            },
        )
        Notification.objects.get_or_create(
            user=alice,
            kind="welcome",
            defaults={"message": "Welcome to the Nudge demo: enroll a contact from Contacts or a sequence.",
                      "url": "/sequences/"},
        )

    def _custom_object(self, maria: Contact) -> None:
        """A custom object type an admin defined ("Subscriptions") with one record, through the services."""
        from contacts_app.services import custom_object_create, object_schema_create

        schema = ObjectSchema.objects.filter(name="subscriptions").first() or object_schema_create(
            name="subscriptions", label="Subscriptions",
            properties=[
                {"name": "name", "type": "string", "label": "Name"},
                {"name": "plan", "type": "enumeration", "label": "Plan", "options": ["starter", "team", "enterprise"]},
                {"name": "seats", "type": "number", "label": "Seats"},
                {"name": "renews_on", "type": "date", "label": "Renews on"},
            ],
        )
        if not CustomObject.objects.filter(schema=schema).exists():
            custom_object_create(
                schema=schema, contacts=[maria],
                properties={"name": "Acme team plan", "plan": "team", "seats": 12, "renews_on": "2027-03-01"},
            )

    def _workflow(self, admin: User, hot: ContactList, intro: Sequence) -> None:
        """A workflow (off until someone turns it on): joining the hot list enrolls in the follow-up."""
        from workflows_app.models import Workflow
        from workflows_app.services import workflow_create

        if not Workflow.objects.filter(name="Hot list → follow-up").exists():
            workflow_create(user=admin, data={
                "name": "Hot list → follow-up", "enabled": False, "trigger": {"type": "list_joined", "list": hot.pk},
                "actions": [{"type": "enroll_in_sequence", "sequence": intro.pk, "sender": "contact_owner",
                             "start_step": 1}],
            })

    def _user(self, username: str, first: str, last: str, staff: bool, tier: str) -> User:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{username}@nudge.example",
                "is_staff": staff,
                "is_superuser": staff,
                "can_bulk_enroll": True,
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        Seat.objects.get_or_create(user=user, defaults={"hub": Seat.Hub.SALES, "tier": tier})
        return user

    def _mailbox(self, user: User) -> Mailbox:
        """The user's demo mailbox, sending to this checkout's mail catcher (MAIL_CATCHER_PORT).

        A mailbox seeded earlier with another port is pointed at the current
        one, so changing MAIL_CATCHER_PORT and rerunning `make run` is enough.
        """
        mailbox, created = Mailbox.objects.get_or_create(
            owner=user,
            email=user.email,
            defaults={
                "display_name": user.get_full_name(),
                "is_primary": True,
                "smtp_host": MAIL_CATCHER_HOST,
                "smtp_port": settings.MAIL_CATCHER_PORT,
                "smtp_security": Security.NONE,
                "smtp_username": user.email,
                "smtp_password": DEMO_PASSWORD,
                "status": Mailbox.Status.CONNECTED,
                "signature_html": f"<p>— {user.get_full_name()}, Nudge demo</p>",
            },
        )
        if not created and (mailbox.smtp_host, mailbox.smtp_port) != (MAIL_CATCHER_HOST, settings.MAIL_CATCHER_PORT):
            mailbox.smtp_host, mailbox.smtp_port = MAIL_CATCHER_HOST, settings.MAIL_CATCHER_PORT
            mailbox.save(update_fields=["smtp_host", "smtp_port"])
        return mailbox

    def _sequence(self, name: str, owner: User, visibility: str, steps: list[dict[str, object]]) -> Sequence:
        sequence, created = Sequence.objects.get_or_create(
            name=name, owner=owner, defaults={"visibility": visibility}
        )
        if created:
            SequenceStep.objects.bulk_create(SequenceStep(sequence=sequence, **step) for step in steps)
        return sequence
