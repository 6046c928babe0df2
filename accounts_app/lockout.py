"""What a locked-out login gets (django-axes' AXES_LOCKOUT_CALLABLE), on the login page and the API alike."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

LOCKED_OUT = "LOGIN_LOCKED_OUT"


def lockout_message() -> str:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return (
        f"Too many failed logins for this username or from this address: logging in is paused for {minutes} "
        "minutes. An administrator can lift the pause sooner."
    )


def lockout_response(request: HttpRequest, original_response: HttpResponse | None, credentials: Any) -> HttpResponse:
    retry_after = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    if request.path.startswith("/api/"):
        body = {"code": LOCKED_OUT, "message": lockout_message(), "retry_after": int(retry_after)}
        return JsonResponse(body, status=429, headers={"Retry-After": retry_after})
    form = AuthenticationForm(request, data=request.POST or None)
    form.errors.clear()
    form.add_error(None, lockout_message())
    response = render(request, "registration/login.html", {"form": form, "next": request.POST.get("next", "")},
                      status=429)
    response["Retry-After"] = retry_after
    return response
