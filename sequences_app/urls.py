"""sequences_app's pages, mounted at the site root by config/urls.py."""

from __future__ import annotations

from django.urls import path

from sequences_app import views

urlpatterns = [
    # The path is part of the contract: document links in sent emails are SITE_URL/d/<token>/.
    path("d/<uuid:token>/", views.document_download, name="document-download"),
]
