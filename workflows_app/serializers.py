"""The workflow resources of API.md, as answered. Input goes to `workflows_app.validation` whole."""
from __future__ import annotations

from rest_framework import serializers

from config.api.fields import IdFilterField
from workflows_app.models import TriggerType, Workflow, WorkflowHistory


class TriggerSerializer(serializers.Serializer):
    type = serializers.ChoiceField(source="trigger_type", choices=TriggerType.choices)
    filters = serializers.JSONField(source="trigger_filters", help_text="[{field, operator, value}], as active lists.")
    list = serializers.IntegerField(source="trigger_list_id", allow_null=True)
    sequence = serializers.IntegerField(source="trigger_sequence_id", allow_null=True)


class WorkflowSerializer(serializers.ModelSerializer):
    trigger = TriggerSerializer(source="*")
    actions = serializers.JSONField(help_text="Ordered actions: enroll_in_sequence, unenroll_from_sequence, "
                                              "set_property, delay, create_task (see API.md).")
    sequence = serializers.IntegerField(source="sequence_id", allow_null=True,
                                        help_text="The sequence whose Automation tab shows this workflow.")
    created_by = serializers.IntegerField(source="created_by_id", allow_null=True, read_only=True,
                                          help_text="The owner: they (or an admin) may change or delete it.")
    updated_by = serializers.IntegerField(
        source="updated_by_id", allow_null=True, read_only=True,
        help_text="Who saved it (or turned it on) last: its actions act with this user's authority.",
    )

    class Meta:
        model = Workflow
        fields = ["id", "name", "enabled", "trigger", "reenroll", "actions", "sequence", "created_by", "updated_by",
                  "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class WorkflowHistorySerializer(serializers.ModelSerializer):
    contact = serializers.IntegerField(source="contact_id", allow_null=True)

    class Meta:
        model = WorkflowHistory
        fields = ["id", "contact", "at", "action", "outcome", "code", "message"]


class WorkflowFilterSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(required=False, allow_null=True, default=None)
    sequence = IdFilterField(required=False)
    trigger_type = serializers.ChoiceField(choices=TriggerType.choices, required=False)


class HistoryFilterSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=WorkflowHistory.Outcome.choices, required=False)
    contact = IdFilterField(required=False)
