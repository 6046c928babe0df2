"""Enrollment, task and meeting payloads of API.md: shapes and types only, rules live in services."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from rest_framework import serializers

from config.api.fields import MAX_ID
from config.params import id_or_none, whole_number
from sequences_app.models import Enrollment, EnrollmentStep, Task
from sequences_app.scheduling.timing import ProjectedStep
from sequences_app.services.enrollments import ContactOverride, EnrollmentResult, RecordRef

# Far more than any valid action names; bigger payloads are refused before any work.
MAX_IDS_IN_REQUEST = 10_000


def iso_utc(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _id_field(**kwargs: Any) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


class LocalDateTimeField(serializers.DateTimeField):
    """A wall-clock time without offset (`2026-12-01T09:30:00`), read in the enrollment's time zone."""

    def to_internal_value(self, value: Any) -> datetime:
        if not isinstance(value, str):
            self.fail("invalid", format="YYYY-MM-DDThh:mm[:ss]")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            self.fail("invalid", format="YYYY-MM-DDThh:mm[:ss]")
        if parsed.tzinfo is not None:
            raise serializers.ValidationError(
                "Give a local date and time without an offset; the time zone field says where."
            )
        return parsed


class StepEditsField(serializers.DictField):
    """`{"3": {"subject": "...", "body_html": "..."}}`: step order → edited fields."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.DictField(), **kwargs)

    def to_internal_value(self, data: Any) -> dict[int, dict[str, Any]]:
        edits = super().to_internal_value(data)
        result = {}
        for key, value in edits.items():
            if whole_number(str(key), high=1000) in (None, 0):
                raise serializers.ValidationError(f"{key!r} is not a step number.")
            result[int(key)] = value
        return result


class ContactOverrideSerializer(serializers.Serializer):
    token_values = serializers.DictField(child=serializers.CharField(allow_blank=True, max_length=1000), default=dict)
    steps = StepEditsField(default=dict)


class RecordSerializer(serializers.Serializer):
    type = serializers.CharField(max_length=64)
    id = _id_field()


class EnrollmentRequestSerializer(serializers.Serializer):
    contacts = serializers.ListField(child=_id_field(), max_length=MAX_IDS_IN_REQUEST, default=list)
    exclude = serializers.ListField(child=_id_field(), max_length=MAX_IDS_IN_REQUEST, default=list)
    record = RecordSerializer(required=False, allow_null=True, default=None)
    sender = _id_field(required=False, allow_null=True, default=None)
    mailbox = _id_field(required=False, allow_null=True, default=None)
    start_step = serializers.IntegerField(min_value=-(2**31), max_value=2**31, default=1)
    time_zone = serializers.CharField(max_length=64, required=False, allow_null=True, allow_blank=True, default=None)
    send_at = LocalDateTimeField(required=False, allow_null=True, default=None)
    settings = serializers.DictField(required=False, default=dict)
    token_values = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=1000), required=False, default=dict
    )
    contact_overrides = serializers.DictField(child=ContactOverrideSerializer(), required=False, default=dict)
    step_overrides = StepEditsField(required=False, default=dict)
    dry_run = serializers.BooleanField(default=False)
    # Declared last: in the class body the name `list` would shadow the builtin used above.
    list = _id_field(required=False, allow_null=True, default=None)

    def validate_contact_overrides(self, value: dict[str, dict[str, Any]]) -> dict[int, ContactOverride]:
        overrides = {}
        for key, override in value.items():
            if id_or_none(str(key)) is None:
                raise serializers.ValidationError(f"{key!r} is not a contact id.")
            overrides[int(key)] = ContactOverride(token_values=override["token_values"], steps=override["steps"])
        return overrides

    def validate_record(self, value: dict[str, Any] | None) -> RecordRef | None:
        return RecordRef(type=value["type"], id=value["id"]) if value else None

    def validate_time_zone(self, value: str | None) -> str | None:
        return value or None


def schedule_representation(schedule: list[ProjectedStep], tz_name: str) -> list[dict[str, Any]]:
    tz = ZoneInfo(tz_name)
    return [
        {"order": step.order, "type": step.type, "at": iso_utc(step.at), "local_at": step.at.astimezone(tz).isoformat()}
        for step in schedule
    ]


def enrollment_result_representation(result: EnrollmentResult) -> dict[str, Any]:
    return {
        "enrolled": [
            {
                "id": item.id,
                "contact": item.contact,
                "status": item.status,
                "time_zone": item.time_zone,
                "schedule": schedule_representation(item.schedule, item.time_zone),
            }
            for item in result.enrolled
        ],
        "rejected": [
            {
                "contact": rejection.contact,
                "code": rejection.code,
                "message": rejection.message,
                **{
                    key: iso_utc(value) if isinstance(value, datetime) else value
                    for key, value in rejection.extra.items()
                },
            }
            for rejection in result.rejected
        ],
        "dry_run": result.dry_run,
    }


class EnrollmentStepSerializer(serializers.ModelSerializer):
    message_id = serializers.SerializerMethodField()

    class Meta:
        model = EnrollmentStep
        fields = ("order", "type", "status", "scheduled_for", "done_at", "detail", "message_id")

    def get_message_id(self, step: EnrollmentStep) -> str | None:
        messages = self.context.get("messages_by_step", {})
        return messages.get((step.enrollment_id, step.order))


class EnrollmentSerializer(serializers.ModelSerializer):
    steps = serializers.SerializerMethodField()
    sequence_name = serializers.SerializerMethodField()

    class Meta:
        model = Enrollment
        fields = (
            "id",
            "sequence",
            "sequence_name",
            "contact",
            "sender",
            "enrolled_by",
            "mailbox",
            "status",
            "reason",
            "time_zone",
            "start_step",
            "current_step",
            "is_bulk",
            "enrolled_at",
            "next_action_at",
            "paused_at",
            "resume_at",
            "ended_at",
            "steps",
        )
        read_only_fields = fields

    def get_sequence_name(self, enrollment: Enrollment) -> str:
        return enrollment.snapshot.get("sequence_name", "")

    def get_steps(self, enrollment: Enrollment) -> list[dict[str, Any]]:
        messages = {
            (message.enrollment_id, message.step_order): message.message_id for message in enrollment.messages.all()
        }
        context = {**self.context, "messages_by_step": messages}
        return EnrollmentStepSerializer(enrollment.steps.all(), many=True, context=context).data


class EnrollmentFilterSerializer(serializers.Serializer):
    sequence = _id_field(required=False)
    contact = _id_field(required=False)
    sender = _id_field(required=False)
    status = serializers.ChoiceField(choices=Enrollment.Status.choices, required=False)


class TaskSerializer(serializers.ModelSerializer):
    class Meta:
        model = Task
        fields = (
            "id",
            "title",
            "type",
            "priority",
            "notes",
            "due_at",
            "contact",
            "enrollment",
            "step_order",
            "status",
            "completed_at",
            "owner",
            "created_at",
        )
        read_only_fields = fields


class TaskFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Task.Status.choices, required=False)
    owner = _id_field(required=False)


class MeetingRequestSerializer(serializers.Serializer):
    contact = _id_field()
    user = _id_field(required=False, allow_null=True, default=None)
    starts_at = serializers.DateTimeField()
    title = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
