"""`POST /api/v1/auth/token/`: trade a username and password for an API token.

Failed attempts are counted by django-axes per username and per client
address, shared by every process (the database), as on the login page; a
locked-out username or address gets 429 LOGIN_LOCKED_OUT (accounts_app.lockout).
Successful logins are never limited, so an integration may fetch tokens for
as many users as it provisions.

Private app tokens (`Authorization: Bearer <token>`) are checked in
config.api.authentication (a module DRF's settings can import without
importing its views, which this one does); their OpenAPI scheme is here.
"""
from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class TokenObtainView(APIView):
    """Bad credentials are a 400 VALIDATION_ERROR ("Unable to log in with provided credentials.")."""

    # No authenticators: a browser's session cookie must not turn this into a CSRF-checked request.
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    serializer_class = AuthTokenSerializer

    @extend_schema(
        request=AuthTokenSerializer,
        responses={200: inline_serializer("Token", {"token": serializers.CharField()})},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        # Django's request, not DRF's: axes marks a lockout on it, and its middleware answers for it.
        serializer = AuthTokenSerializer(data=request.data, context={"request": request._request})
        serializer.is_valid(raise_exception=True)
        token, _ = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response({"token": token.key})



class PrivateAppAuthenticationScheme(OpenApiAuthenticationExtension):
    """Names the Bearer scheme in `/api/schema/`."""

    target_class = "config.api.authentication.PrivateAppAuthentication"
    name = "privateAppToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A private app token (Settings → Private apps)."}
