"""REST shapes of CRM records (API.md, "CRM").

Serializers check types and shapes; the rules (unique emails, IANA time
zones, schema property types, list filters) are the services'. Related ids
are `IdListField`s: one query per list of ids, whatever its length.
"""
from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts_app.models import User
from config.api.fields import IdFilterField, IdListField
from config.paging import COUNT_CAP
from contacts_app.models import (
    BlockedEntry,
    Company,
    Contact,
    ContactList,
    CustomObject,
    Deal,
    ObjectSchema,
    Repermission,
    Ticket,
)
from contacts_app.selectors import ListSize, list_sizes
from contacts_app.services import MAX_REPERMISSION_REASON, STANDING_FLAGS

# Associations take at most this many ids per request; more is a 400, not a slow request.
MAX_ASSOCIATED = 1000


class PropertiesField(serializers.JSONField):
    """Free-form properties: an object (checked in depth by the services). On update, null removes a key."""

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return value


class ContactSerializer(serializers.ModelSerializer):
    company = serializers.PrimaryKeyRelatedField(queryset=Company.objects.all(), allow_null=True, required=False)
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), allow_null=True, required=False)
    properties = PropertiesField(required=False)

    class Meta:
        model = Contact
        fields = (
            "id", "email", "first_name", "last_name", "job_title", "phone", "company", "owner", "lifecycle_stage",
            "time_zone", "properties", "email_bounced", "bounce_reason", "bounce_code", "unsubscribed",
            "unsubscribed_sales", "marked_spam", "created_at", "updated_at",
        )
        # bounce_code: why the last hard bounce happened, set only by inbox sync (one of the fixed reasons).
        read_only_fields = ("id", "bounce_code", "created_at", "updated_at")
        extra_kwargs = {
            flag: {"help_text": "Email standing: may be set to true; clearing it takes an admin's "
                                "POST /contacts/{id}/repermission/ (403 EMAIL_STANDING_READ_ONLY otherwise)."}
            for flag in STANDING_FLAGS
        }


class RepermissionRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=MAX_REPERMISSION_REASON, allow_blank=True, trim_whitespace=True,
                                   help_text="How and when the contact asked to be emailed again (required).")
    flags = serializers.ListField(
        child=serializers.ChoiceField(choices=STANDING_FLAGS), required=False, allow_empty=False, max_length=4,
        help_text="The flags to clear; default every one the contact has.",
    )


class RepermissionSerializer(serializers.ModelSerializer):
    by = serializers.IntegerField(source="by_id", allow_null=True)
    contact = serializers.IntegerField(source="contact_id", allow_null=True)

    class Meta:
        model = Repermission
        fields = ("id", "contact", "cleared", "bounce_reason", "reason", "by", "by_name", "at")


class ContactFilterSerializer(serializers.Serializer):
    email = serializers.CharField(required=False, max_length=254, help_text="Exact address, any case.")
    search = serializers.CharField(required=False, max_length=200, help_text="Words found in names or email.")
    company = IdFilterField(required=False)
    owner = IdFilterField(required=False)


class ContactImportSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV with a header row; our field names or a HubSpot contacts export.")


class ImportRowProblemSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="Row number as a spreadsheet shows it (the header is row 1).")
    message = serializers.CharField()


class ContactImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    errors = ImportRowProblemSerializer(many=True, help_text="Rows not imported, and why.")
    warnings = ImportRowProblemSerializer(many=True, help_text="Rows imported with a value left out.")


class CompanySerializer(serializers.ModelSerializer):
    properties = PropertiesField(required=False)
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), allow_null=True, required=False)
    contacts = IdListField(
        queryset=Contact.objects.all(), max_length=MAX_ASSOCIATED, required=False,
        help_text="Every contact of the company: naming one moves it from its previous company.",
    )

    class Meta:
        model = Company
        fields = ("id", "name", "domain", "properties", "owner", "contacts", "created_at", "updated_at")
        read_only_fields = ("id", "created_at", "updated_at")


class DealSerializer(serializers.ModelSerializer):
    company = serializers.PrimaryKeyRelatedField(queryset=Company.objects.all(), allow_null=True, required=False)
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), allow_null=True, required=False)
    properties = PropertiesField(required=False)
    contacts = IdListField(queryset=Contact.objects.all(), max_length=MAX_ASSOCIATED, required=False)

    class Meta:
        model = Deal
        fields = (
            "id", "name", "amount", "stage", "company", "contacts", "properties", "owner", "created_at", "updated_at",
        )
        read_only_fields = ("id", "created_at", "updated_at")


class TicketSerializer(serializers.ModelSerializer):
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), allow_null=True, required=False)
    properties = PropertiesField(required=False)
    contacts = IdListField(queryset=Contact.objects.all(), max_length=MAX_ASSOCIATED, required=False)

    class Meta:
        model = Ticket
        fields = ("id", "subject", "status", "contacts", "properties", "owner", "created_at", "updated_at")
        read_only_fields = ("id", "created_at", "updated_at")


class ObjectSchemaSerializer(serializers.ModelSerializer):
    properties = serializers.JSONField(
        required=False, help_text='[{"name", "type": string|number|boolean|date|datetime|enumeration, '
        '"label"?, "options"? (enumeration)}]',
    )

    class Meta:
        model = ObjectSchema
        fields = ("id", "name", "label", "properties", "created_at")
        read_only_fields = ("id", "created_at")
        # The service checks uniqueness (and reserved names) after normalising.
        extra_kwargs = {"name": {"validators": []}}


class CustomObjectSerializer(serializers.ModelSerializer):
    properties = PropertiesField(required=False)
    contacts = IdListField(queryset=Contact.objects.all(), max_length=MAX_ASSOCIATED, required=False)
    schema = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = CustomObject
        fields = ("id", "schema", "properties", "contacts", "created_at", "updated_at")
        read_only_fields = ("id", "created_at", "updated_at")


class BlockedEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = BlockedEntry
        fields = ("id", "value", "created_at")
        read_only_fields = ("id", "created_at")
        extra_kwargs = {"value": {"validators": [], "help_text": "An address (ann@acme.example) or a domain."}}


class ContactListSerializer(serializers.ModelSerializer):
    filters = serializers.JSONField(
        required=False, help_text='Active lists: [{"field", "operator", "value"}], AND-ed. Static lists: [].'
    )
    size = serializers.SerializerMethodField(help_text=f"Contacts on the list now, exact up to {COUNT_CAP:,}.")
    size_capped = serializers.SerializerMethodField(
        help_text=f"true when the list has more than {COUNT_CAP:,} contacts: size is then {COUNT_CAP:,}."
    )

    class Meta:
        model = ContactList
        fields = ("id", "name", "kind", "filters", "size", "size_capped", "created_by", "created_at", "updated_at")
        read_only_fields = ("id", "created_by", "created_at", "updated_at")

    def _size(self, contact_list: ContactList) -> ListSize:
        sizes = self.context.setdefault("sizes", {})
        if contact_list.pk not in sizes:
            sizes.update(list_sizes([contact_list]))
        return sizes[contact_list.pk]

    def get_size(self, contact_list: ContactList) -> int:
        return int(self._size(contact_list))

    def get_size_capped(self, contact_list: ContactList) -> bool:
        return self._size(contact_list).capped


class ListMembersSerializer(serializers.Serializer):
    contacts = IdListField(queryset=Contact.objects.all(), max_length=MAX_ASSOCIATED, allow_empty=False)


class ListMembersResultSerializer(serializers.Serializer):
    changed = serializers.IntegerField(help_text="Contacts added (POST) or removed (DELETE).")
    size = serializers.IntegerField()
    size_capped = serializers.BooleanField()
