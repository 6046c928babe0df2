"""URLs for this app's API tests until config/api/urls.py mounts sequences_app.api_urls under /api/v1/."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("api/v1/", include("sequences_app.api_urls")),
]
