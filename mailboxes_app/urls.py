"""mailboxes_app's pages."""
from __future__ import annotations

from django.urls import path

from mailboxes_app import views

app_name = "mailboxes"

urlpatterns = [
    path("mailboxes/", views.mailbox_list, name="index"),
    path("mailboxes/new/", views.mailbox_form, name="create"),
    path("mailboxes/connect/<slug:provider>/", views.mailbox_connect, name="connect"),
    path("mailboxes/oauth/callback/", views.mailbox_oauth_callback, name="oauth-callback"),
    path("mailboxes/<int:pk>/edit/", views.mailbox_form, name="edit"),
    path("mailboxes/<int:pk>/verification/", views.mailbox_verification, name="verification"),
    path("mailboxes/<int:pk>/<slug:action>/", views.mailbox_action, name="action"),
]
