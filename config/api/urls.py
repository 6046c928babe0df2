"""The `/api/v1/` URL tree: each app brings its own `api_urls`."""
from __future__ import annotations

from django.urls import include, path

from config.api.auth import TokenObtainView

urlpatterns = [
    path("auth/token/", TokenObtainView.as_view(), name="api-token"),
    path("", include("accounts_app.api_urls")),
    path("", include("contacts_app.api_urls")),
    path("", include("mailboxes_app.api_urls")),
    # Before sequences_app: `sequences/<pk>/automation/` lives in workflows_app.
    path("", include("workflows_app.api_urls")),
    path("", include("sequences_app.api_urls")),
    path("", include("sequences_app.api.enrollment_urls")),
]
