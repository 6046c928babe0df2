"""HubSpot's Sequences API paths at the site root: v4 and the dated 2026-09 family, the same views."""
from __future__ import annotations

from django.urls import path, re_path

from hubspot_api import views
from hubspot_api.shapes import DATED, V4

PREFIXES = {V4: "automation/v4/sequences", DATED: "automation/sequences/2026-09"}

urlpatterns = []
for family, prefix in PREFIXES.items():
    name = "v4" if family == V4 else "dated"
    urlpatterns += [
        path(prefix, views.SequenceListView.as_view(family=family), name=f"hubspot-{name}-sequences"),
        # Before `<sequence_id>`, which would otherwise take "enrollments" for an id.
        path(f"{prefix}/enrollments", views.EnrollmentCreateView.as_view(family=family),
             name=f"hubspot-{name}-enroll"),
        path(f"{prefix}/enrollments/contact/<str:contact_id>", views.ContactEnrollmentView.as_view(family=family),
             name=f"hubspot-{name}-contact-enrollment"),
        path(f"{prefix}/<str:sequence_id>", views.SequenceDetailView.as_view(family=family),
             name=f"hubspot-{name}-sequence"),
        re_path(rf"^{prefix}/.*$", views.UnknownPathView.as_view(family=family)),
    ]
