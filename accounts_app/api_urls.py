"""accounts_app's part of the `/api/v1/` tree."""
from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts_app.api import CurrentPrivateAppView, PortalView, PrivateAppViewSet, TeamViewSet, UserViewSet

router = SimpleRouter()
router.register("users", UserViewSet, basename="user")
router.register("teams", TeamViewSet, basename="team")
router.register("private-apps", PrivateAppViewSet, basename="private-app")

urlpatterns = [
    path("portal/", PortalView.as_view(), name="portal"),
    path("private-apps/current/", CurrentPrivateAppView.as_view(), name="private-app-current"),
    *router.urls,
]
