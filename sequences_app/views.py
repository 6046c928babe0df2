"""Pages of sequences_app that live outside the API.

`/d/<token>/` is public: it is the link put in emails, opened by contacts
who have no account. The unguessable token (a random UUID) is the only key.
"""

from __future__ import annotations

import mimetypes
from pathlib import PurePath
from uuid import UUID

from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_safe

from sequences_app.models import Document

# Shown in the browser; anything else downloads. Inline HTML or SVG from our
# own origin would run its scripts with the app's cookies.
INLINE_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "text/plain"})


@require_safe
def document_download(request: HttpRequest, token: UUID) -> FileResponse:
    """Serve a shared document: PDFs and images inline, everything else as a download."""
    document = Document.objects.filter(token=token).first()
    if document is None or not document.file:
        raise Http404("No such document.")
    try:
        handle = document.file.open("rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404("No such document.") from exc
    stored_suffix = PurePath(document.file.name).suffix
    filename = document.name if document.name.endswith(stored_suffix) else f"{document.name}{stored_suffix}"
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    inline = content_type in INLINE_TYPES
    response = FileResponse(
        handle,
        as_attachment=not inline,
        filename=filename,
        content_type=content_type if inline else "application/octet-stream",
    )
    # Even an inline file gets no power over the page it opens in.
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=300"
    response["Referrer-Policy"] = "no-referrer"
    return response
