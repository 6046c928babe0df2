"""REST shapes of users, teams and portal settings (API.md, "Users, seats, teams")."""
from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts_app.models import PortalSettings, PrivateApp, Seat, Team, User
from accounts_app.selectors import user_daily_send_limit
from accounts_app.services import MAX_SEND_LIMIT
from config.api.fields import IdListField

# What any signed-in user may read about a colleague (to pick a sender, share a sequence).
PUBLIC_USER_FIELDS = ("id", "username", "email", "first_name", "last_name", "is_staff", "teams")


class SeatSerializer(serializers.Serializer):
    hub = serializers.ChoiceField(choices=Seat.Hub.choices)
    tier = serializers.ChoiceField(choices=Seat.Tier.choices)


class UserSerializer(serializers.ModelSerializer):
    """The full user; a non-admin reading someone else gets only PUBLIC_USER_FIELDS."""

    password = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=128, trim_whitespace=False,
        style={"input_type": "password"},
        help_text="Write-only. Blank or absent on create: the user can't log in until one is set.",
    )
    seat = SeatSerializer(allow_null=True, required=False, help_text="null removes the seat.")
    teams = IdListField(queryset=Team.objects.all(), required=False)
    daily_send_limit = serializers.SerializerMethodField(
        help_text="Sequence emails per rolling 24 hours, from the seat and portal settings."
    )

    class Meta:
        model = User
        fields = (
            "id", "username", "email", "first_name", "last_name", "is_staff", "is_active", "password",
            "seat", "can_bulk_enroll", "teams", "daily_send_limit", "time_zone", "language",
        )
        read_only_fields = ("id",)

    def get_daily_send_limit(self, user: User) -> int:
        return user_daily_send_limit(user, portal=self.context.get("portal"))

    def to_representation(self, instance: User) -> dict[str, Any]:
        data = super().to_representation(instance)
        request = self.context.get("request")
        viewer = getattr(request, "user", None)
        if viewer is not None and not viewer.is_staff and viewer.pk != instance.pk:
            return {key: data[key] for key in PUBLIC_USER_FIELDS}
        return data


class UserFilterSerializer(serializers.Serializer):
    search = serializers.CharField(required=False, max_length=200, help_text="Part of a name, username or email.")


class TeamSerializer(serializers.ModelSerializer):
    members = IdListField(queryset=User.objects.all(), required=False)

    class Meta:
        model = Team
        fields = ("id", "name", "members")
        # Uniqueness is the service's (case-insensitive) check, not the column's.
        extra_kwargs = {"name": {"validators": []}}


class SendLimitsSerializer(serializers.Serializer):
    professional = serializers.IntegerField(min_value=0, max_value=MAX_SEND_LIMIT, required=False)
    enterprise = serializers.IntegerField(min_value=0, max_value=MAX_SEND_LIMIT, required=False)


class PortalSerializer(serializers.Serializer):
    time_zone = serializers.CharField(max_length=64, required=False, help_text="IANA name, e.g. Europe/Helsinki.")
    holiday_country = serializers.CharField(
        max_length=2, required=False, allow_blank=True, help_text="ISO 3166 alpha-2; '' for no holidays."
    )
    language = serializers.CharField(
        max_length=8, required=False, help_text="The pages' language when the browser asks for none Nudge has: en, fi."
    )
    send_limits = SendLimitsSerializer(required=False)
    out_of_office_default_days = serializers.IntegerField(min_value=1, max_value=365, required=False)

    def to_representation(self, portal: PortalSettings) -> dict[str, Any]:
        return {
            "time_zone": portal.time_zone,
            "language": portal.language,
            "holiday_country": portal.holiday_country,
            "send_limits": {
                "professional": portal.professional_send_limit,
                "enterprise": portal.enterprise_send_limit,
            },
            "out_of_office_default_days": portal.out_of_office_default_days,
        }


class PrivateAppSerializer(serializers.ModelSerializer):
    """A private app token as listed: never the token itself (it exists only in the create answer)."""

    scopes = serializers.ListField(child=serializers.CharField(max_length=100), max_length=20)
    prefix = serializers.CharField(source="token_prefix", read_only=True, help_text="The token's first characters.")

    class Meta:
        model = PrivateApp
        fields = ("id", "name", "scopes", "created_at", "last_used_at", "user", "prefix")
        read_only_fields = ("id", "created_at", "last_used_at", "user", "prefix")
        extra_kwargs = {"name": {"max_length": 500, "allow_blank": True}}


class PrivateAppCreatedSerializer(PrivateAppSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown in this answer only; store it now.")

    class Meta(PrivateAppSerializer.Meta):
        fields = (*PrivateAppSerializer.Meta.fields, "token")
