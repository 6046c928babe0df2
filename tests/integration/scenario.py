"""Seeds and inspects a stack's database from outside the test process.

The process tests run a real Celery worker and beat against their own
database; this script is how the test writes scenarios into that database
and reads back what happened, through the app's own services:

    python -m tests.integration.scenario seed SMTP_PORT KIND [COUNT]
    python -m tests.integration.scenario complete-tasks
    python -m tests.integration.scenario verify-mailboxes
    python -m tests.integration.scenario state

Every command prints one JSON object.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.db.models import Count  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts_app.models import PortalSettings, Seat, User  # noqa: E402
from contacts_app.models import Company, Contact  # noqa: E402
from mailboxes_app.models import Mailbox, OutboundMessage, Security  # noqa: E402
from mailboxes_app.services import mailbox_verify  # noqa: E402
from sequences_app.models import Enrollment, EnrollmentStep, Sequence, SequenceStep, StepType, Task  # noqa: E402
from sequences_app.services.enrollments import enrollment_create  # noqa: E402
from sequences_app.services.tasks import task_complete  # noqa: E402

EMAIL = {"type": StepType.AUTOMATED_EMAIL, "subject": "Hello {{ contact.first_name }}", "body_html": "<p>Hi</p>"}
FOLLOW_UP = {"type": StepType.AUTOMATED_EMAIL, "delay_days": 0, "subject": "", "body_html": "<p>Bump</p>"}
CALL = {"type": StepType.CALL, "delay_days": 0, "title": "Call {{ contact.first_name }}"}


def _rep(name: str, port: int, *, tier: str = "enterprise", daily_limit: int | None = None) -> User:
    user, _ = User.objects.get_or_create(
        username=name, defaults={"email": f"{name}@nudge.example", "first_name": name.title(), "can_bulk_enroll": True}
    )
    Seat.objects.get_or_create(user=user, defaults={"hub": "sales", "tier": tier})
    Mailbox.objects.get_or_create(
        owner=user,
        email=user.email,
        defaults={
            "is_primary": True,
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_security": Security.NONE,
            "smtp_username": user.email,
            "smtp_password": "secret",
            "status": Mailbox.Status.CONNECTED,
            "daily_limit": daily_limit,
        },
    )
    return user


def _sequence(owner: User, *steps: dict[str, Any]) -> Sequence:
    # Every day, so a run on a weekend doesn't wait for Monday.
    sequence = Sequence.objects.create(
        name=f"Scenario {Sequence.objects.count() + 1}", owner=owner, follow_up_days="EVERYDAY"
    )
    for order, step in enumerate(steps, start=1):
        SequenceStep.objects.create(sequence=sequence, order=order, **step)
    return sequence


def _contacts(count: int, prefix: str) -> list[Contact]:
    company, _ = Company.objects.get_or_create(name="Acme Oy", domain="acme.example")
    return [
        Contact.objects.create(email=f"{prefix}{n}@acme.example", first_name=f"Person{n}", company=company)
        for n in range(count)
    ]


def _enroll(sequence: Sequence, sender: User, contacts: list[Contact], *, bulk: bool) -> list[int]:
    batches = [contacts] if bulk else [[contact] for contact in contacts]
    ids = []
    for batch in batches:
        result = enrollment_create(sequence=sequence, caller=sender, contact_ids=[c.pk for c in batch])
        assert not result.rejected, [r.code for r in result.rejected]
        ids += [item.id for item in result.enrolled]
    return ids


def seed(port: int, kind: str, count: int) -> dict[str, Any]:
    PortalSettings.objects.update_or_create(pk=1, defaults={"time_zone": "UTC", "enterprise_send_limit": 100_000})
    if kind == "journey":  # email → call task → (complete) → threaded follow-up
        rep = _rep("journey", port)
        ids = _enroll(_sequence(rep, EMAIL, CALL, FOLLOW_UP), rep, _contacts(1, "journey"), bulk=False)
    elif kind == "bulk":
        rep = _rep("bulk", port)
        ids = _enroll(_sequence(rep, EMAIL), rep, _contacts(count, "bulk"), bulk=True)
    elif kind == "limit":
        # The sender's limit is `count`; count - 1 emails went out 24 h minus 45 s ago. The first
        # email of the new enrollment takes the last slot; its follow-up meets a full window and is
        # deferred until the old emails leave it, 45 s from now (room for a loaded machine).
        rep = _rep("limit", port, daily_limit=count)
        then = timezone.now() - timedelta(hours=24) + timedelta(seconds=45)
        old_sequence = _sequence(rep, EMAIL)
        [old_contact] = _contacts(1, "earlier")
        old = Enrollment.objects.create(
            sequence=old_sequence,
            contact=old_contact,
            sender=rep,
            mailbox=rep.mailboxes.get(),
            time_zone="UTC",
            status="finished",
            snapshot={"steps": [], "settings": {}},
            ended_at=then,
        )
        for order in range(1, count):
            OutboundMessage.objects.create(
                enrollment=old,
                step_order=order,
                sender=rep,
                mailbox=old.mailbox,
                message_id=f"<earlier.{order}@nudge.example>",
                from_email=rep.email,
                to_email=old_contact.email,
                state="sent",
                sent_at=then,
            )
        ids = _enroll(_sequence(rep, EMAIL, FOLLOW_UP), rep, _contacts(1, "limit"), bulk=False)
    elif kind == "errors":  # contacts whose addresses the test server answers with 4xx / 5xx
        rep = _rep("errors", port)
        contacts = [
            Contact.objects.create(email=f"{name}@acme.example", first_name=name.title())
            for name in ("tempfail", "permfail")
        ]
        sequence = _sequence(rep, {**EMAIL, "subject": "Hello"})
        ids = _enroll(sequence, rep, contacts, bulk=False)
    elif kind == "auth":
        rep = _rep("authfail", port)
        ids = _enroll(_sequence(rep, {**EMAIL, "subject": "Hello"}), rep, _contacts(1, "auth"), bulk=False)
    elif kind == "chaos":
        reps = [_rep(f"chaos{n}", port) for n in range(5)]
        contacts = _contacts(count, "chaos")
        sequences = {rep.pk: _sequence(rep, EMAIL) for rep in reps}
        ids = []
        for index, contact in enumerate(contacts):
            rep = reps[index % len(reps)]
            ids += _enroll(sequences[rep.pk], rep, [contact], bulk=False)
    else:
        raise SystemExit(f"unknown scenario {kind}")
    return {"enrollments": ids}


def complete_tasks() -> dict[str, Any]:
    done = 0
    for task in Task.objects.filter(status="open").select_related("owner"):
        task_complete(task=task, user=task.owner)
        done += 1
    return {"completed": done}


def verify_mailboxes() -> dict[str, Any]:
    return {"verified": [mailbox_verify(mailbox=m).status for m in Mailbox.objects.all()]}


def state() -> dict[str, Any]:
    return {
        "messages": dict(OutboundMessage.objects.values_list("state").annotate(n=Count("id"))),
        "enrollments": dict(Enrollment.objects.values_list("status").annotate(n=Count("id"))),
        "reasons": dict(Enrollment.objects.exclude(reason=None).values_list("reason").annotate(n=Count("id"))),
        "steps": dict(EnrollmentStep.objects.values_list("status").annotate(n=Count("id"))),
        "tasks": dict(Task.objects.values_list("status").annotate(n=Count("id"))),
        "mailboxes": dict(Mailbox.objects.values_list("status").annotate(n=Count("id"))),
        "step_details": list(
            EnrollmentStep.objects.exclude(detail="").values_list("detail", flat=True).distinct()[:20]
        ),
        "message_ids": dict(OutboundMessage.objects.values_list("message_id", "state")),
        "by_contact": {
            enrollment.contact.email: {
                "status": enrollment.status,
                "reason": enrollment.reason,
                "steps": [step.status for step in enrollment.steps.order_by("order")],
            }
            for enrollment in Enrollment.objects.select_related("contact")[:100]
            if enrollment.contact is not None
        },
    }


def main(argv: list[str]) -> None:
    command = argv[1]
    if command == "seed":
        out = seed(int(argv[2]), argv[3], int(argv[4]) if len(argv) > 4 else 1)
    elif command == "complete-tasks":
        out = complete_tasks()
    elif command == "verify-mailboxes":
        out = verify_mailboxes()
    elif command == "state":
        out = state()
    else:
        raise SystemExit(f"unknown command {command}")
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv)
