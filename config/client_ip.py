"""The client's address, believing X-Forwarded-For only behind the configured proxy (settings.NUM_PROXIES)."""
from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, or behind NUM_PROXIES proxies the address the outermost of them saw.

    Each proxy appends the address it received the request from, so the
    client is the NUM_PROXIES-th entry from the right; entries further left
    were written by the client itself and prove nothing.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if settings.NUM_PROXIES <= 0 or not forwarded:
        return remote
    addresses = [address.strip() for address in forwarded.split(",") if address.strip()]
    if not addresses:
        return remote
    return addresses[-min(settings.NUM_PROXIES, len(addresses))]
