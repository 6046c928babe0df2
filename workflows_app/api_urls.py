"""workflows_app's part of the `/api/v1/` tree (included by config/api/urls.py before sequences_app's).

`sequences/<pk>/automation/` is an explicit path; sequences_app's router
patterns are anchored (`^sequences/(?P<pk>[0-9]+)/$`), so neither shadows
the other whichever comes first (a test resolves it to be sure).
"""
from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from workflows_app.api import SequenceAutomationView, WorkflowViewSet

router = SimpleRouter()
router.register("workflows", WorkflowViewSet, basename="workflow")

urlpatterns = [
    path("sequences/<int:pk>/automation/", SequenceAutomationView.as_view(), name="sequence-automation"),
    *router.urls,
]
