"""Pages reached from inside sent emails: unsubscribe, open pixel, click redirect. No login."""
from __future__ import annotations

import base64

from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from mailboxes_app.models import OutboundMessage
from sequences_app.rendering import CLICK_SALT, OPEN_SALT, UNSUBSCRIBE_SALT, unsign_link
from sequences_app.services.engagement import message_clicked, message_opened, message_unsubscribe

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _message(token: str, salt: str) -> tuple[OutboundMessage, object]:
    try:
        value = unsign_link(token, salt=salt)
    except signing.SignatureExpired as exc:
        raise Http404("This link has expired.") from exc
    except signing.BadSignature as exc:
        raise Http404("This link is not valid.") from exc
    message_pk = value["m"] if isinstance(value, dict) else value
    message = OutboundMessage.objects.select_related("enrollment__sender").filter(pk=message_pk).first()
    if message is None:
        raise Http404("This link is no longer valid.")
    return message, value


@csrf_exempt  # mail providers' one-click POST (RFC 8058) carries no CSRF token; the signed link is the proof
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    message, _ = _message(token, UNSUBSCRIBE_SALT)
    sender = message.enrollment.sender
    context = {"sender_name": sender.get_full_name() or message.from_email, "email": message.to_email}
    if request.method == "POST":
        message_unsubscribe(message=message)
        return render(request, "public/unsubscribed.html", context)
    return render(request, "public/unsubscribe.html", context)


def track_open(request: HttpRequest, token: str) -> HttpResponse:
    message, _ = _message(token, OPEN_SALT)
    message_opened(message=message)
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store"
    return response


def track_click(request: HttpRequest, token: str) -> HttpResponse:
    message, value = _message(token, CLICK_SALT)
    url = value.get("u", "") if isinstance(value, dict) else ""
    if not url.startswith(("http://", "https://")):
        raise Http404("This link is not valid.")
    message_clicked(message=message, url=url)
    return HttpResponseRedirect(url)
