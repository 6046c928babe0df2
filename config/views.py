"""Django-level error pages: JSON envelopes under /api/, plain HTML pages elsewhere.

DRF's exception handler covers errors inside API views; these cover what
happens before a view runs (no URL matched, a request Django itself
rejects) and unhandled crashes, so an API client always gets the envelope.
"""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _page(template: str, status: int, fallback: str) -> HttpResponse:
    # Rendering must not fail on an error page: a missing or broken template
    # falls back to a one-line page.
    try:
        body = loader.get_template(template).render()
    except Exception:
        body = f"<!doctype html><title>{fallback}</title><h1>{fallback}</h1>"
    return HttpResponse(body, status=status, content_type="text/html; charset=utf-8")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"code": "BAD_REQUEST", "message": "The request could not be understood."}, status=400)
    return _page("400.html", 400, "Bad request")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"code": "PERMISSION_DENIED", "message": "You may not do this."}, status=403)
    return _page("403.html", 403, "Not allowed")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(
            {"code": "NOT_FOUND", "message": f"There is no API endpoint at {request.path}."}, status=404
        )
    return _page("404.html", 404, "Page not found")


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(
            {"code": "SERVER_ERROR", "message": "Something went wrong on our side; it has been logged."}, status=500
        )
    return _page("500.html", 500, "Server error")
