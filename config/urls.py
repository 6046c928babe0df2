from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # HubSpot's Sequences API paths (automation/v4/sequences, automation/sequences/2026-09).
    path("", include("hubspot_api.urls")),
    path("", include("sequences_app.public_urls")),
    path("", include("accounts_app.urls")),
    path("", include("contacts_app.urls")),
    path("", include("sequences_app.urls")),
    path("", include("workflows_app.urls")),
    path("", include("mailboxes_app.urls")),
]

handler400 = "config.views.bad_request"
handler403 = "config.views.permission_denied"
handler404 = "config.views.page_not_found"
handler500 = "config.views.server_error"
