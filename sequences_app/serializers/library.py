"""How templates, snippets and documents look in the API (API.md, "Sequences").

Answers only (and the request schema): writes go to sequences_app.services.library.
"""

from __future__ import annotations

from rest_framework import serializers

from sequences_app.models import Document, EmailTemplate, Snippet
from sequences_app.selectors import document_public_url


class EmailTemplateSerializer(serializers.ModelSerializer):
    class Meta:
        model = EmailTemplate
        fields = ("id", "name", "subject", "body_html", "owner", "created_at", "updated_at")
        read_only_fields = ("id", "owner", "created_at", "updated_at")


class SnippetSerializer(serializers.ModelSerializer):
    shortcut = serializers.CharField(max_length=64, help_text="Typed as #shortcut; unique among your snippets.")

    class Meta:
        model = Snippet
        fields = ("id", "name", "shortcut", "body_html", "owner", "created_at", "updated_at")
        read_only_fields = ("id", "owner", "created_at", "updated_at")


class DocumentSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="Public link for emails: SITE_URL/d/<token>/.")
    file = serializers.FileField(write_only=True, help_text="At most 25 MB.")
    size = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = ("id", "name", "url", "file", "size", "owner", "created_at")
        read_only_fields = ("id", "owner", "created_at")
        extra_kwargs = {"name": {"required": False, "help_text": "Defaults to the file's name."}}

    def get_url(self, document: Document) -> str:
        return document_public_url(document)

    def get_size(self, document: Document) -> int | None:
        try:
            return document.file.size
        except (OSError, ValueError):
            # The file went missing from storage: the row still lists, without a size.
            return None


class LibraryFilterSerializer(serializers.Serializer):
    search = serializers.CharField(required=False, allow_blank=True, max_length=200, help_text="Part of the name.")
