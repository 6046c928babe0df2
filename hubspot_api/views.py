"""The four calls of HubSpot's Sequences API, over Nudge's selectors and its one enrollment service.

Every answer goes through `HubSpotView`:
1. A correlation id for the request (in the `X-HubSpot-Correlation-Id` header and in errors).
2. A private app token (`Authorization: Bearer`) is required: 401 INVALID_AUTHENTICATION without one.
3. The token's burst limit is counted (in the database, shared by every
   process): 429 RATE_LIMITS past it, and the X-HubSpot-RateLimit-* headers on every answer.
4. The view's scope: 403 MISSING_SCOPES without it.
5. Whatever goes wrong becomes HubSpot's error shape, never Nudge's or an HTML page.
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from uuid import UUID, uuid4

from django.conf import settings
from django.http import HttpRequest
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts_app.models import PrivateApp, User
from accounts_app.private_apps import READ_SEQUENCES, WRITE_ENROLLMENTS, Burst, private_app_hit
from config.api.authentication import BearerTokenAuthentication
from config.errors import ServiceError
from hubspot_api import shapes
from hubspot_api.errors import (
    INVALID_AUTHENTICATION,
    MISSING_SCOPES,
    OBJECT_NOT_FOUND,
    RATE_LIMITS,
    VALIDATION_ERROR,
    HubSpotError,
    as_hubspot_error,
    error_response,
    invalid,
    not_found,
)
from mailboxes_app.models import Mailbox
from sequences_app.models import Enrollment, Sequence
from sequences_app.selectors import enrollments_visible_to, sequences_visible_to
from sequences_app.services.enrollments import enrollment_create

logger = logging.getLogger(__name__)

DEFAULT_LIMIT = 100
MAX_LIMIT = 100
# Ids are database keys: more digits than a 64-bit key has can't name a row (and would overflow the query).
_ID = re.compile(r"[1-9][0-9]{0,17}")
_CURSOR = re.compile(r"s([1-9][0-9]{0,17})")


class _JSONAlways(BaseContentNegotiation):
    """HubSpot answers JSON whatever the Accept header says; request bodies are read as JSON by the view."""

    def select_parser(self, request: Request, parsers: list[Any]) -> Any:
        return None

    def select_renderer(self, request: Request, renderers: list[Any], format_suffix: str | None = None) -> Any:
        return renderers[0], renderers[0].media_type


class HubSpotView(APIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes: list[Any] = []
    renderer_classes = [JSONRenderer]
    content_negotiation_class = _JSONAlways
    # No OPTIONS description in Nudge's own shape: OPTIONS is a 405 like any other method these paths lack.
    metadata_class = None
    # HubSpot's own spec describes these paths; they stay out of Nudge's /api/schema/.
    schema = None
    family = shapes.V4
    scope = ""

    correlation_id: UUID
    burst: Burst | None = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        self.correlation_id = uuid4()
        self.burst = None
        return super().dispatch(request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        app = request.auth
        if not isinstance(app, PrivateApp):
            raise HubSpotError(
                401,
                INVALID_AUTHENTICATION,
                "Authentication credentials not found. This API takes a private app token: "
                "Authorization: Bearer <token>.",
            )
        self.burst = private_app_hit(app)
        if not self.burst.allowed:
            raise HubSpotError(
                429,
                RATE_LIMITS,
                f"You have reached your burst limit of {self.burst.limit} requests per "
                f"{self.burst.interval_ms // 1000} seconds.",
                sub_category="BURST",
            )
        if self.scope and self.scope not in app.scopes:
            raise HubSpotError(
                403,
                MISSING_SCOPES,
                "This app hasn't been granted all required scopes to make this call.",
                errors=[{"message": f"One or more of the following scopes are required: {self.scope}"}],
                context={"requiredScopes": [self.scope]},
            )
        if any("\x00" in value for value in request.query_params.values()):
            raise invalid("Query parameters can't contain NUL characters.", code="INVALID_CHARACTER")

    def handle_exception(self, exc: Exception) -> Response:
        error = as_hubspot_error(exc)
        if error is None:
            logger.exception("hubspot api error (correlationId %s)", self.correlation_id)
            error = HubSpotError(500, "INTERNAL_ERROR", "Something went wrong; quote the correlationId when asking.")
        return error_response(error, self.correlation_id, path=self.request.path)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        response["X-HubSpot-Correlation-Id"] = str(self.correlation_id)
        response["X-HubSpot-RateLimit-Max"] = str(settings.PRIVATE_APP_BURST_LIMIT)
        response["X-HubSpot-RateLimit-Interval-Milliseconds"] = str(settings.PRIVATE_APP_BURST_INTERVAL_SECONDS * 1000)
        if self.burst is not None:
            response["X-HubSpot-RateLimit-Remaining"] = str(self.burst.remaining)
        return response

    def acting_as(self, request: Request) -> User:
        """The `userId` the call acts for: the caller's own, or (admins) any active user's; else not found."""
        raw = request.query_params.get("userId")
        if raw is None or raw == "":
            raise invalid("The userId query parameter is required.", field="userId", code="REQUIRED")
        if not _ID.fullmatch(raw):
            raise invalid(f"userId {raw[:40]!r} is not a user id.", field="userId")
        caller = request.user
        if int(raw) == caller.pk:
            return caller
        user = User.objects.filter(pk=int(raw), is_active=True).first() if caller.is_staff else None
        if user is None:
            raise not_found(f"User {raw} was not found.")
        return user


class SequenceListView(HubSpotView):
    """`GET /automation/v4/sequences?userId=&limit=&after=&name=`: the sequences userId may use, by id."""

    scope = READ_SEQUENCES

    def get(self, request: Request) -> Response:
        user = self.acting_as(request)
        limit = _limit(request.query_params.get("limit"))
        after = _cursor(request.query_params.get("after"))
        name = request.query_params.get("name", "")
        sequences = sequences_visible_to(user)
        if name:
            sequences = sequences.filter(name__icontains=name)
        total = sequences.count()
        rows = list(sequences.filter(pk__gt=after).order_by("pk")[: limit + 1])
        body: dict[str, Any] = {"total": total, "results": [shapes.sequence_lite(row) for row in rows[:limit]]}
        if len(rows) > limit:
            cursor = _encode_cursor(rows[limit - 1].pk)
            params = {"userId": str(user.pk), "limit": str(limit), "after": cursor}
            if name:
                params["name"] = name
            link = request.build_absolute_uri(request.path) + "?" + urlencode(params)
            body["paging"] = {"next": {"after": cursor, "link": link}}
        return Response(body)


class SequenceDetailView(HubSpotView):
    """`GET /automation/v4/sequences/{sequenceId}?userId=`: one sequence userId may use, with steps and settings."""

    scope = READ_SEQUENCES

    def get(self, request: Request, sequence_id: str) -> Response:
        user = self.acting_as(request)
        sequence = None
        if _ID.fullmatch(sequence_id):
            sequence = sequences_visible_to(user).filter(pk=int(sequence_id)).prefetch_related("steps").first()
        if sequence is None:
            raise not_found(f"Sequence {sequence_id[:40]} was not found.")
        return Response(shapes.sequence_full(sequence, list(sequence.steps.all()), family=self.family))


class EnrollmentCreateView(HubSpotView):
    """`POST /automation/v4/sequences/enrollments?userId=`: enroll one contact, userId sending.

    The body is read as JSON whatever its Content-Type; fields HubSpot's
    spec doesn't name are ignored, as HubSpot does. The enrollment itself is
    `enrollment_create`, the service every entry point uses.
    """

    scope = WRITE_ENROLLMENTS

    def post(self, request: Request) -> Response:
        sender = self.acting_as(request)
        body = _json_object(request)
        contact_id = _required_id(body, "contactId")
        sequence_id = _required_id(body, "sequenceId")
        sender_email = body.get("senderEmail")
        if not isinstance(sender_email, str) or not sender_email.strip():
            raise invalid("senderEmail is required: the address of one of the user's connected inboxes.",
                          field="senderEmail", code="REQUIRED")
        alias = body.get("senderAliasAddress")
        same_address = isinstance(alias, str) and alias.strip().lower() == sender_email.strip().lower()
        if alias not in (None, "") and not same_address:
            raise invalid("Nudge sends from the inbox's own address; sender aliases are not supported.",
                          field="senderAliasAddress")
        mailbox = Mailbox.objects.filter(owner=sender, email__iexact=sender_email.strip()).first()
        if mailbox is None:
            raise _no_inbox(sender)
        sequence = Sequence.objects.filter(pk=sequence_id, deleted_at__isnull=True).first()
        if sequence is None:
            raise not_found(f"Sequence {sequence_id} was not found.")
        try:
            result = enrollment_create(
                sequence=sequence, caller=request.user, contact_ids=[contact_id], sender=sender, mailbox=mailbox
            )
        except ServiceError as exc:
            raise _refusal(exc.code, exc.message, sender=sender, sequence_id=sequence_id, extra=exc.extra) from exc
        if result.rejected:
            rejection = result.rejected[0]
            raise _refusal(rejection.code, rejection.message, sender=sender, sequence_id=sequence_id,
                           extra=rejection.extra, contact_id=contact_id)
        enrollment = Enrollment.objects.select_related("contact").get(pk=result.enrolled[0].id)
        return Response(shapes.enrollment_lite(enrollment))


class ContactEnrollmentView(HubSpotView):
    """`GET /automation/v4/sequences/enrollments/contact/{contactId}`: the contact's live enrollment the caller sent."""

    scope = READ_SEQUENCES

    def get(self, request: Request, contact_id: str) -> Response:
        enrollment = None
        if _ID.fullmatch(contact_id):
            enrollment = (
                enrollments_visible_to(request.user)
                .filter(contact_id=int(contact_id), status__in=Enrollment.LIVE_STATUSES)
                .select_related("sequence", "contact", "mailbox", "sender", "enrolled_by")
                .first()
            )
        if enrollment is None:
            raise not_found(f"No enrollment was found for contact {contact_id[:40]}.")
        return Response(shapes.enrollment_full(enrollment))


class UnknownPathView(HubSpotView):
    """Any other path under the HubSpot prefixes: HubSpot's 404, not Nudge's HTML page."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        raise not_found(f"There is no {request.method} {request.path[:200]} in the Sequences API.")


# --- Inputs ------------------------------------------------------------------------------


def _limit(raw: str | None) -> int:
    """`limit`: 1 to 100 (default 100); a bigger one is taken as 100, as HubSpot does."""
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    # Any count of digits: int() of thousands of them is refused by Python itself, so long ones are just "big".
    digits = raw.lstrip("0") or "0"
    value = (MAX_LIMIT if len(digits) > 6 else int(digits)) if re.fullmatch(r"[0-9]+", raw) else 0
    if value < 1:
        raise invalid(f"limit {raw[:40]!r} must be a whole number from 1 to {MAX_LIMIT}.", field="limit")
    return min(value, MAX_LIMIT)


def _encode_cursor(pk: int) -> str:
    return base64.urlsafe_b64encode(f"s{pk}".encode()).decode().rstrip("=")


def _cursor(raw: str | None) -> int:
    """The id the page starts after (0 for the first page); the cursor is opaque to clients."""
    if raw is None or raw == "":
        return 0
    try:
        text = base64.b64decode(raw + "=" * (-len(raw) % 4), altchars=b"-_", validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        text = ""
    match = _CURSOR.fullmatch(text)
    if match is None:
        raise invalid("after is not a paging cursor this API gave out.", field="after")
    return int(match.group(1))


def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, RecursionError) as exc:
        raise invalid(f"Invalid input JSON: {str(exc)[:200]}", code="INVALID_JSON") from exc
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.", code="INVALID_JSON")
    return body


def _required_id(body: dict[str, Any], field: str) -> int:
    value = body.get(field)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is None or value == "":
        raise invalid(f"{field} is required.", field=field, code="REQUIRED")
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise invalid(f"{field} must be an id (digits).", field=field)
    return int(value)


# --- Enrollment refusals in HubSpot's words -----------------------------------------------

# Nudge's refusal code -> (status, category, HubSpot-style message). Nudge's code goes in subCategory.
_REFUSALS: dict[str, tuple[int, str, str]] = {
    "ALREADY_ENROLLED": (400, VALIDATION_ERROR, "Contact already enrolled in a sequence"),
    "NO_CONNECTED_INBOX": (400, VALIDATION_ERROR, "User {user} has no connected inboxes for specified user email"),
    "NO_SEAT": (400, VALIDATION_ERROR, "User {user} does not have a paid Sales or Service seat to enroll contacts"),
    "CONTACT_NOT_FOUND": (404, OBJECT_NOT_FOUND, "Contact {contact} was not found"),
    "MISSING_EMAIL": (400, VALIDATION_ERROR, "Contact has no email address"),
    "BOUNCED": (400, VALIDATION_ERROR, "Contact's email address has bounced"),
    "UNSUBSCRIBED": (400, VALIDATION_ERROR, "Contact has unsubscribed from all email"),
    "UNSUBSCRIBED_SALES": (400, VALIDATION_ERROR, "Contact has unsubscribed from sales email"),
    "PREVIOUSLY_MARKED_AS_SPAM": (400, VALIDATION_ERROR, "Contact previously marked an email as spam"),
    "BLOCKED_ADDRESS": (400, VALIDATION_ERROR, "Contact's email address is blocked"),
    "BLOCKED_DOMAIN": (400, VALIDATION_ERROR, "Contact's email domain is blocked"),
    "DAILY_SEND_LIMIT_REACHED": (400, VALIDATION_ERROR, "User {user} has reached the daily sequence email limit"),
    "MISSING_TOKEN_VALUES": (400, VALIDATION_ERROR, "Contact lacks values the sequence's personalization tokens need"),
    "INVALID_START_STEP": (400, VALIDATION_ERROR, "Sequence {sequence} has no steps to enroll into"),
}


def _no_inbox(sender: User) -> HubSpotError:
    message = f"User {sender.pk} has no connected inboxes for specified user email"
    return HubSpotError(400, VALIDATION_ERROR, message, sub_category="NO_CONNECTED_INBOX",
                        errors=[{"message": message, "in": "senderEmail"}])


def _refusal(
    code: str, message: str, *, sender: User, sequence_id: int, extra: dict[str, Any], contact_id: int = 0
) -> HubSpotError:
    """A refusal of the enrollment service as HubSpot words it; unknown codes keep Nudge's own message."""
    if code in ("SEQUENCE_NOT_SHARED", "NOT_FOUND"):
        # The same answer as for a sequence that doesn't exist: userId can't see it.
        return not_found(f"Sequence {sequence_id} was not found.")
    if code == "NO_CONNECTED_INBOX":
        return _no_inbox(sender)
    status, category, wording = _REFUSALS.get(code, (400, VALIDATION_ERROR, message))
    text = wording.format(user=sender.pk, contact=contact_id, sequence=sequence_id)
    context: dict[str, list[str]] = {}
    if extra.get("tokens"):
        context["missingTokens"] = [str(token) for token in extra["tokens"]]
    if extra.get("next_available_at"):
        moment = extra["next_available_at"]
        context["nextAvailableAt"] = [shapes.timestamp(moment) if isinstance(moment, datetime) else str(moment)]
    fields = extra.get("fields")
    errors = [{"message": f"{name}: {msgs[0]}", "in": name} for name, msgs in fields.items()] if fields else None
    return HubSpotError(status, category, text, sub_category=code, context=context, errors=errors)
