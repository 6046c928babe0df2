"""sequences_app's part of the `/api/v1/` tree (included by config/api/urls.py).

SimpleRouter patterns are anchored (`^sequences/(?P<pk>[0-9]+)/$`,
`.../performance/$`), so explicit paths such as `sequences/<pk>/enrollments/`
are never swallowed by them, whichever order they are listed in.
"""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from sequences_app.api.library import DocumentViewSet, EmailTemplateViewSet, SnippetViewSet
from sequences_app.api.sequences import SequenceViewSet

router = SimpleRouter()
router.register("sequences", SequenceViewSet, basename="sequence")
router.register("templates", EmailTemplateViewSet, basename="template")
router.register("snippets", SnippetViewSet, basename="snippet")
router.register("documents", DocumentViewSet, basename="document")

urlpatterns = [*router.urls]
