"""workflows_app's pages, mounted at the site root by config/urls.py."""
from __future__ import annotations

from django.urls import path

from workflows_app import views

app_name = "workflows"

urlpatterns = [
    path("workflows/", views.workflow_index, name="index"),
    path("workflows/new/", views.workflow_new, name="create"),
    path("workflows/<int:pk>/", views.workflow_edit, name="edit"),
    path("workflows/<int:pk>/toggle/", views.workflow_toggle, name="toggle"),
    path("workflows/<int:pk>/delete/", views.workflow_remove, name="delete"),
    path("workflows/<int:pk>/history/", views.workflow_history_page, name="history"),
    # The Automation tab of the sequence page (sequences_app owns the other tabs).
    path("sequences/<int:pk>/automation/", views.sequence_automation, name="sequence-automation"),
]
