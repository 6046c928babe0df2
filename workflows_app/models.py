"""Workflows: a trigger and ordered actions that contacts run through on their own (Enterprise).

A `Workflow` holds its trigger and actions as validated JSON (see
`workflows_app.validation`). A contact the trigger fires for gets a
`WorkflowRun`, which walks the actions; a `delay` parks the run in the
database (`next_action_at`) until the tick claims it again. Every trigger
and action leaves a `WorkflowHistory` row with its outcome. Contact and
enrollment changes reach workflows as `WorkflowEvent` rows (an outbox),
written in the same transaction as the change and processed by workers.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q

if TYPE_CHECKING:
    from accounts_app.models import User


class TriggerType(models.TextChoices):
    CONTACT_CREATED = "contact_created", "Contact is created"
    PROPERTY_MATCHES = "property_matches", "Contact starts matching filters"
    LIST_JOINED = "list_joined", "Contact joins a list"
    SEQUENCE_ENDED = "sequence_ended", "Contact's sequence ends"


class ActionType(models.TextChoices):
    ENROLL_IN_SEQUENCE = "enroll_in_sequence", "Enroll in a sequence"
    UNENROLL_FROM_SEQUENCE = "unenroll_from_sequence", "Unenroll from a sequence"
    SET_PROPERTY = "set_property", "Set a property value"
    DELAY = "delay", "Wait"
    CREATE_TASK = "create_task", "Create a task"


class Workflow(models.Model):
    name = models.CharField(max_length=200)
    enabled = models.BooleanField(default=False)
    trigger_type = models.CharField(max_length=20, choices=TriggerType.choices)
    # property_matches (required) and contact_created (optional): the list filter language.
    trigger_filters = models.JSONField(default=list, blank=True)
    trigger_list = models.ForeignKey(
        "contacts_app.ContactList", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # sequence_ended: the sequence whose enrollments end (NULL: any sequence). PROTECT: losing the row
    # must not turn "when X ends" into "when any sequence ends" (sequences are soft-deleted anyway).
    trigger_sequence = models.ForeignKey(
        "sequences_app.Sequence", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Off: a contact runs through the workflow once, ever. On: again each time the trigger fires.
    reenroll = models.BooleanField(default=False)
    # [{"type": "enroll_in_sequence", ...}, {"type": "delay", "days": 2}, ...], in order.
    actions = models.JSONField(default=list)
    # Shown on this sequence's Automation tab.
    sequence = models.ForeignKey(
        "sequences_app.Sequence", null=True, blank=True, on_delete=models.SET_NULL, related_name="workflows"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="workflows"
    )
    # Who saved it last: the workflow acts with this user's authority (`Workflow.actor`).
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(trigger_type__in=["contact_created", "property_matches", "list_joined", "sequence_ended"]),
                name="workflow_trigger_type_valid",
            ),
        ]
        indexes = [
            # Consumer: every contact change and event asks for the enabled workflows of some trigger types.
            models.Index(fields=["trigger_type"], condition=Q(enabled=True), name="workflow_enabled_trigger_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def actor(self) -> User | None:
        """The user whose authority the workflow's actions carry: whoever saved it last.

        Rows from before `updated_by` existed fall back to their creator.
        """
        return self.updated_by if self.updated_by_id is not None else self.created_by


class WorkflowRun(models.Model):
    """One contact's way through one workflow ("enrolled in the workflow")."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"  # for next_action_at: due now, or after a delay
        PAUSED = "paused", "Paused"  # the workflow is turned off; continues when it is turned on
        DONE = "done", "Done"

    LIVE_STATUSES = ("waiting", "paused")

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="runs")
    contact = models.ForeignKey("contacts_app.Contact", on_delete=models.CASCADE, related_name="workflow_runs")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.WAITING)
    # The next action to perform (an index into workflow.actions).
    action_index = models.PositiveSmallIntegerField(default=0)
    next_action_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            # A contact is in a workflow at most once at a time, even when two events race.
            models.UniqueConstraint(
                fields=["workflow", "contact"], condition=Q(status__in=["waiting", "paused"]),
                name="one_live_run_per_workflow_contact",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["waiting", "paused", "done"]), name="workflow_run_status_valid"
            ),
        ]
        indexes = [
            # Consumer: the workflows tick, claiming runs whose next action is due.
            models.Index(fields=["next_action_at"], condition=Q(status="waiting"), name="workflow_run_due_idx"),
            # Consumer: "has this contact been through this workflow?" (once unless re-enrollment).
            models.Index(fields=["contact", "workflow"], name="workflow_run_contact_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} in workflow {self.workflow_id} [{self.status}]"


class WorkflowHistory(models.Model):
    class Outcome(models.TextChoices):
        OK = "ok", "OK"
        FAILED = "failed", "Failed"

    # `action` is an ActionType value, or "trigger" for the row that records why the contact entered.
    TRIGGER = "trigger"

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="history")
    run = models.ForeignKey(WorkflowRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="history")
    # Kept (as NULL) when the contact is deleted, so the history stays whole.
    contact = models.ForeignKey(
        "contacts_app.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="workflow_history"
    )
    at = models.DateTimeField()
    action = models.CharField(max_length=32)
    # Position of the action in the workflow (NULL for the trigger row).
    action_index = models.PositiveSmallIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    # The rule's code when an action failed (an enrollment's refusal code, VALIDATION_ERROR, ...).
    code = models.CharField(max_length=40, blank=True, default="")
    message = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "workflow history"
        indexes = [
            # Consumer: a workflow's history page and GET /workflows/{id}/history/, newest first.
            models.Index(fields=["workflow", "-at", "-id"], name="workflow_history_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.outcome} for {self.contact_id}"


class WorkflowEvent(models.Model):
    """Something that may fire triggers, waiting for a worker (deleted once processed).

    Written in the transaction that made the change, so it exists exactly
    when the change does; a worker is asked to process it on commit, and
    the tick hands it out again if that worker never did (`next_attempt_at`).
    """

    class Kind(models.TextChoices):
        # {"created": [id], "changed": {"id": [keys matched before]}, "watched": [keys], "source": "..."}
        CONTACTS = "contacts", "Contacts created or changed"
        # {"list": id, "contacts": [id]}
        LIST_JOINED = "list_joined", "Contacts added to a static list"
        # {"enrollments": [id]}
        ENROLLMENTS_ENDED = "enrollments_ended", "Enrollments ended"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    payload = models.JSONField()
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        indexes = [
            # Consumer: the workflows tick, finding events whose worker never came.
            models.Index(fields=["next_attempt_at"], name="workflow_event_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} event {self.pk}"
