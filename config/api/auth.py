"""`POST /api/v1/auth/token/`: trade a username and password for an API token.

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
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView


class TokenThrottle(AnonRateThrottle):
    """Password guessing costs time: a few tries per minute per client address."""

    scope = "auth-token"
    rate = "20/min"


class TokenObtainView(APIView):
    """Bad credentials are a 400 VALIDATION_ERROR ("Unable to log in with provided credentials.")."""

    # No authenticators: a browser's session cookie must not turn this into a CSRF-checked request.
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [TokenThrottle]
    serializer_class = AuthTokenSerializer

    @extend_schema(
        request=AuthTokenSerializer,
        responses={200: inline_serializer("Token", {"token": serializers.CharField()})},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        token, _ = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response({"token": token.key})



class PrivateAppAuthenticationScheme(OpenApiAuthenticationExtension):
    """Names the Bearer scheme in `/api/schema/`."""

    target_class = "config.api.authentication.PrivateAppAuthentication"
    name = "privateAppToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A private app token (Settings → Private apps)."}
