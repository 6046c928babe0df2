"""How sequences look in the API (API.md, "Sequences").

These serializers render answers and describe request bodies for the
OpenAPI schema; they don't validate writes. Writes go, as decoded JSON, to
sequences_app.services.sequences, which holds every rule and reports
problems under the same dotted field names.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from config.api.fields import IdFilterField
from sequences_app.models import FollowUpDays, Sequence, SequenceStep
from sequences_app.sequence_settings import SequenceSettings


class SequenceStepSerializer(serializers.ModelSerializer):
    class Meta:
        model = SequenceStep
        fields = (
            "id",
            "order",
            "type",
            "delay_days",
            "subject",
            "body_html",
            "title",
            "notes",
            "priority",
            "create_task_immediately",
            "continue_without_completion",
        )
        read_only_fields = ("id",)


class SendWindowSerializer(serializers.Serializer):
    start_minute = serializers.IntegerField(min_value=0, max_value=1440, help_text="Local minute of the day.")
    end_minute = serializers.IntegerField(min_value=0, max_value=1440, help_text="Local minute of the day.")


class SequenceSettingsSerializer(serializers.Serializer):
    follow_up_days = serializers.ChoiceField(choices=FollowUpDays.choices, required=False)
    send_window = SendWindowSerializer(allow_null=True, required=False)
    threaded_follow_ups = serializers.BooleanField(required=False)
    unenroll_on_reply = serializers.BooleanField(required=False)
    unenroll_on_meeting = serializers.BooleanField(required=False)
    account_based = serializers.BooleanField(required=False)
    task_reminders = serializers.BooleanField(required=False)
    track_opens = serializers.BooleanField(required=False)
    track_clicks = serializers.BooleanField(required=False)

    def to_representation(self, instance: Sequence) -> dict[str, Any]:
        return SequenceSettings.from_sequence(instance).to_dict()


class SharingSerializer(serializers.Serializer):
    visibility = serializers.ChoiceField(choices=Sequence.Visibility.choices)
    users = serializers.ListField(child=serializers.IntegerField(), required=False)
    teams = serializers.ListField(child=serializers.IntegerField(), required=False)

    def to_representation(self, instance: Sequence) -> dict[str, Any]:
        # `.all()` reads the prefetch cache (sequences_with_details); sorted so answers are stable.
        return {
            "visibility": instance.visibility,
            "users": sorted(user.pk for user in instance.shared_users.all()),
            "teams": sorted(team.pk for team in instance.shared_teams.all()),
        }


class SequenceSerializer(serializers.ModelSerializer):
    owner = serializers.PrimaryKeyRelatedField(read_only=True)
    sharing = SharingSerializer(source="*", required=False)
    settings = SequenceSettingsSerializer(source="*", required=False)
    steps = SequenceStepSerializer(many=True)

    class Meta:
        model = Sequence
        fields = ("id", "name", "owner", "sharing", "settings", "steps", "created_at", "updated_at")
        read_only_fields = ("id", "owner", "created_at", "updated_at")


class SequenceFilterSerializer(serializers.Serializer):
    search = serializers.CharField(required=False, allow_blank=True, max_length=255, help_text="Part of the name.")
    owner = IdFilterField(required=False, help_text="Owner's user id.")


class StepPerformanceSerializer(serializers.Serializer):
    order = serializers.IntegerField()
    type = serializers.CharField(allow_null=True, help_text="null for a step the sequence no longer has.")
    executed = serializers.IntegerField(help_text="Emails sent and tasks done.")
    opened = serializers.IntegerField()
    clicked = serializers.IntegerField()
    replied = serializers.IntegerField()
    tasks_completed = serializers.IntegerField()
    rates = serializers.DictField(child=serializers.FloatField(), help_text="open, click, reply: share of executed.")


class TimelineDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    enrolled = serializers.IntegerField()
    sent = serializers.IntegerField()
    replied = serializers.IntegerField()


class SequencePerformanceSerializer(serializers.Serializer):
    """Schema of `GET /sequences/{id}/performance/` (the answer is built by sequences_app.analytics)."""

    enrolled = serializers.IntegerField()
    active = serializers.IntegerField(help_text="Still running: scheduled, active or paused.")
    finished = serializers.IntegerField()
    unenrolled = serializers.IntegerField()
    opened = serializers.IntegerField(help_text="Enrollments with at least one open.")
    clicked = serializers.IntegerField()
    replied = serializers.IntegerField()
    meetings = serializers.IntegerField(help_text="Meetings booked.")
    bounced = serializers.IntegerField()
    unsubscribed = serializers.IntegerField()
    sent = serializers.IntegerField()
    failed = serializers.IntegerField()
    by_status = serializers.DictField(child=serializers.IntegerField())
    rates = serializers.DictField(child=serializers.FloatField(), help_text="Shares of enrolled, 0 to 1.")
    steps = StepPerformanceSerializer(many=True)
    timeline = TimelineDaySerializer(many=True, help_text="The last 30 days, in the portal's time zone.")
