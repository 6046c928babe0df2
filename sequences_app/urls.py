"""sequences_app's pages, mounted at the site root by config/urls.py."""

from __future__ import annotations

from django.urls import path

from sequences_app import views
from sequences_app.pages import enroll, sequences, work

app_name = "sequences"

urlpatterns = [
    # The path is part of the contract: document links in sent emails are SITE_URL/d/<token>/.
    path("d/<uuid:token>/", views.document_download, name="document-download"),
    path("sequences/", sequences.sequence_index, name="index"),
    path("sequences/new/", sequences.sequence_new, name="create"),
    path("sequences/<int:pk>/", sequences.sequence_detail, name="detail"),
    path("sequences/<int:pk>/edit/", sequences.sequence_edit, name="edit"),
    path("sequences/<int:pk>/performance/", sequences.sequence_performance_page, name="performance"),
    path("sequences/<int:pk>/sharing/", sequences.sequence_share, name="share"),
    path("sequences/<int:pk>/delete/", sequences.sequence_remove, name="delete"),
    path("enroll/", enroll.enroll_start, name="enroll"),
    path("enroll/preview/", enroll.enroll_preview, name="enroll-preview"),
    path("enroll/submit/", enroll.enroll_submit, name="enroll-submit"),
    path("enroll/contacts/", enroll.enroll_pick_contacts, name="enroll-pick"),
    path("enrollments/<int:pk>/<slug:action>/", work.enrollment_action, name="enrollment-action"),
    path("tasks/", work.tasks, name="tasks"),
    path("tasks/<int:pk>/complete/", work.task_done, name="task-complete"),
]
