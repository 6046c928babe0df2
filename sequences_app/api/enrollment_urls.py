from __future__ import annotations

from django.urls import path

from sequences_app.api import enrollments as views

urlpatterns = [
    path("sequences/<int:pk>/enrollments/", views.SequenceEnrollmentsView.as_view(), name="sequence-enroll"),
    path("sequences/<int:pk>/pause/", views.SequencePauseView.as_view(), name="sequence-pause"),
    path("sequences/<int:pk>/resume/", views.SequenceResumeView.as_view(), name="sequence-resume"),
    path("enrollments/", views.EnrollmentListView.as_view(), name="enrollment-list"),
    path("enrollments/<int:pk>/", views.EnrollmentDetailView.as_view(), name="enrollment-detail"),
    path("enrollments/<int:pk>/pause/", views.EnrollmentPauseView.as_view(), name="enrollment-pause"),
    path("enrollments/<int:pk>/resume/", views.EnrollmentResumeView.as_view(), name="enrollment-resume"),
    path("enrollments/<int:pk>/unenroll/", views.EnrollmentUnenrollView.as_view(), name="enrollment-unenroll"),
    path("users/me/pause-all/", views.PauseAllView.as_view(), name="pause-all"),
    path("users/me/resume-all/", views.ResumeAllView.as_view(), name="resume-all"),
    path("tasks/", views.TaskListView.as_view(), name="task-list"),
    path("tasks/<int:pk>/complete/", views.TaskCompleteView.as_view(), name="task-complete"),
    path("meetings/", views.MeetingCreateView.as_view(), name="meeting-create"),
]
