"""accounts_app's pages: log in and out, notifications, Settings (private apps for all, the rest for admins)."""
from __future__ import annotations

from django.urls import path

from accounts_app import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.NudgeLoginView.as_view(), name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("notifications/", views.notifications, name="notifications"),
    path("settings/", views.settings_page, name="settings"),
    path("settings/me/", views.settings_me, name="settings-me"),
    path("settings/users/<int:pk>/", views.settings_user, name="settings-user"),
    path("settings/teams/", views.settings_team, name="settings-team-create"),
    path("settings/teams/<int:pk>/", views.settings_team, name="settings-team"),
    path("settings/portal/", views.settings_portal, name="settings-portal"),
    path("settings/private-apps/", views.settings_private_app_create, name="settings-private-app-create"),
    path(
        "settings/private-apps/<int:pk>/revoke/", views.settings_private_app_revoke, name="settings-private-app-revoke"
    ),
    path("connect/extension/", views.extension_connect, name="extension-connect"),
    path("addin/outlook/", views.addin_outlook, name="addin-outlook"),
    path("addin/outlook/manifest.xml", views.addin_outlook_manifest, name="addin-outlook-manifest"),
]
