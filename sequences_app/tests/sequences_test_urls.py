"""URLs for this app's API tests until config/urls.py mounts sequences_app.api_urls and sequences_app.urls."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("api/v1/", include("sequences_app.api_urls")),
    path("", include("sequences_app.urls")),
]
