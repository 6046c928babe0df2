"""Writes over a rep's library: email templates, snippets and documents.

Templates and snippets end up inside sequence emails, so they obey the same
rules as a step's text: bodies are sanitised when saved and every token
must be a plain, known one. Each item belongs to its owner; only they (or an
admin) may change it.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from accounts_app.models import User
from config.errors import NotAllowed
from sequences_app.html import sanitize_email_html
from sequences_app.models import Document, EmailTemplate, Snippet
from sequences_app.services.inputs import FieldErrors
from sequences_app.tokens import tokens_validate_fields

MAX_BODY = 200_000
MAX_DOCUMENT_BYTES = 25 * 1024 * 1024
TEMPLATE_FIELDS = frozenset({"name", "subject", "body_html"})
SNIPPET_FIELDS = frozenset({"name", "shortcut", "body_html"})


def email_template_create(*, owner: User, name: Any, subject: Any = "", body_html: Any = "") -> EmailTemplate:
    template = EmailTemplate(owner=owner)
    _template_apply(template, {"name": name, "subject": subject, "body_html": body_html}, full=True)
    template.save()
    return template


def email_template_update(*, template: EmailTemplate, user: User, full: bool = False, **changes: Any) -> EmailTemplate:
    """PATCH (`full=False`: only the fields given) or PUT (`full=True`: fields left out are emptied)."""
    _check_fields(changes, TEMPLATE_FIELDS)
    _ensure_owner(template.owner_id, user)
    _template_apply(template, changes, full=full)
    template.save()
    return template


def email_template_delete(*, template: EmailTemplate, user: User) -> None:
    _ensure_owner(template.owner_id, user)
    template.delete()


def snippet_create(*, owner: User, name: Any, shortcut: Any, body_html: Any = "") -> Snippet:
    snippet = Snippet(owner=owner)
    _snippet_apply(snippet, {"name": name, "shortcut": shortcut, "body_html": body_html}, full=True)
    _snippet_save(snippet)
    return snippet


def snippet_update(*, snippet: Snippet, user: User, full: bool = False, **changes: Any) -> Snippet:
    _check_fields(changes, SNIPPET_FIELDS)
    _ensure_owner(snippet.owner_id, user)
    _snippet_apply(snippet, changes, full=full)
    _snippet_save(snippet)
    return snippet


def snippet_delete(*, snippet: Snippet, user: User) -> None:
    _ensure_owner(snippet.owner_id, user)
    snippet.delete()


def document_create(*, owner: User, file: Any, name: Any = None) -> Document:
    """Store an uploaded file (at most 25 MB) under a name (the file's own name when none is given)."""
    errors = FieldErrors()
    if not isinstance(file, UploadedFile):
        errors.add("file", "Upload a file (multipart form field `file`).")
    elif file.size is None or file.size == 0:
        errors.add("file", "The file is empty.")
    elif file.size > MAX_DOCUMENT_BYTES:
        errors.add("file", f"The file is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB.")
    clean_name = errors.text(name, field="name", max_length=255, strip=True, single_line=True)
    errors.raise_if_any("The document is not valid.")
    original = PurePath(file.name or "document").name or "document"
    document = Document(owner=owner, name=clean_name or original[:255])
    # Storage makes the name safe and unique under documents/<year>/<month>/;
    # a short one leaves it room within the column's 100 characters.
    stored = PurePath(original)
    document.file.save(f"{stored.stem[:40]}{stored.suffix[:10]}", file, save=False)
    try:
        document.save()
    except Exception:
        document.file.delete(save=False)
        raise
    return document


def document_update(*, document: Document, user: User, name: Any) -> Document:
    """Rename a document (the file itself is replaced by uploading a new one)."""
    _ensure_owner(document.owner_id, user)
    errors = FieldErrors()
    clean_name = errors.text(name, field="name", max_length=255, required=True, strip=True, single_line=True)
    errors.raise_if_any("The document is not valid.")
    document.name = clean_name
    document.save(update_fields=["name"])
    return document


def document_delete(*, document: Document, user: User) -> None:
    """Delete the row and its file: links already sent stop working (404)."""
    _ensure_owner(document.owner_id, user)
    file = document.file
    document.delete()
    transaction.on_commit(lambda: file.delete(save=False))


def _ensure_owner(owner_id: int, user: User) -> None:
    if not (user.is_staff or owner_id == user.pk):
        raise NotAllowed("PERMISSION_DENIED", "Only its owner or an admin may change this.")


def _check_fields(changes: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = set(changes) - allowed
    if unknown:
        raise TypeError(f"unexpected fields: {', '.join(sorted(unknown))}")


def _given(changes: dict[str, Any], field: str, *, full: bool) -> bool:
    return full or field in changes


def _template_apply(template: EmailTemplate, changes: dict[str, Any], *, full: bool) -> None:
    errors = FieldErrors()
    if _given(changes, "name", full=full):
        template.name = errors.text(
            changes.get("name"), field="name", max_length=200, required=True, strip=True, single_line=True
        )
    if _given(changes, "subject", full=full):
        template.subject = errors.text(changes.get("subject"), field="subject", max_length=998, single_line=True)
    if _given(changes, "body_html", full=full):
        body = errors.text(changes.get("body_html"), field="body_html", max_length=MAX_BODY)
        template.body_html = sanitize_email_html(body) if body else ""
    errors.merge(tokens_validate_fields({"subject": template.subject, "body_html": template.body_html}))
    errors.raise_if_any("The template is not valid.")


def _snippet_apply(snippet: Snippet, changes: dict[str, Any], *, full: bool) -> None:
    errors = FieldErrors()
    if _given(changes, "name", full=full):
        snippet.name = errors.text(
            changes.get("name"), field="name", max_length=200, required=True, strip=True, single_line=True
        )
    if _given(changes, "shortcut", full=full):
        shortcut = errors.text(
            changes.get("shortcut"), field="shortcut", max_length=64, required=True, strip=True
        ).lower()
        if shortcut and slugify(shortcut) != shortcut:
            errors.add("shortcut", "Use only lower-case letters, digits, hyphens and underscores.")
        snippet.shortcut = shortcut
    if _given(changes, "body_html", full=full):
        body = errors.text(changes.get("body_html"), field="body_html", max_length=MAX_BODY)
        snippet.body_html = sanitize_email_html(body) if body else ""
    errors.merge(tokens_validate_fields({"body_html": snippet.body_html}))
    if (
        "shortcut" not in errors.fields
        and Snippet.objects.filter(owner_id=snippet.owner_id, shortcut=snippet.shortcut).exclude(pk=snippet.pk).exists()
    ):
        errors.add("shortcut", f"You already have a snippet #{snippet.shortcut}.")
    errors.raise_if_any("The snippet is not valid.")


def _snippet_save(snippet: Snippet) -> None:
    """Save, turning a clash that slipped past the check (two saves at once) into the same answer."""
    try:
        with transaction.atomic():
            snippet.save()
    except IntegrityError:
        errors = FieldErrors()
        errors.add("shortcut", f"You already have a snippet #{snippet.shortcut}.")
        errors.raise_if_any("The snippet is not valid.")
        raise
