from __future__ import annotations

from django.urls import path

from sequences_app import public_views

urlpatterns = [
    path("u/<str:token>/", public_views.unsubscribe, name="unsubscribe"),
    path("t/o/<str:token>/", public_views.track_open, name="track-open"),
    path("t/c/<str:token>/", public_views.track_click, name="track-click"),
]
