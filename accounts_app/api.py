"""`/users/`, `/teams/`, `/portal/`, `/private-apps/`: admins write, everybody signed in reads users and teams.

Non-admins may list users (reps pick senders and share sequences with
colleagues) but see only a colleague's public fields; their own record,
`/users/me/`, is complete.
"""
from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts_app import services
from accounts_app.models import PortalSettings, PrivateApp, Team, User
from accounts_app.private_apps import private_app_create, private_app_revoke, private_apps_visible_to
from accounts_app.serializers import (
    PortalSerializer,
    PrivateAppCreatedSerializer,
    PrivateAppSerializer,
    TeamSerializer,
    UserFilterSerializer,
    UserSerializer,
)
from config.api.permissions import IsAdmin, IsAdminOrReadOnly
from config.api.viewsets import ServiceModelViewSet
from config.errors import ValidationFailed


@extend_schema_view(list=extend_schema(parameters=[UserFilterSerializer]))
class UserViewSet(ServiceModelViewSet):
    serializer_class = UserSerializer
    filter_serializer_class = UserFilterSerializer

    def get_permissions(self) -> list[permissions.BasePermission]:
        # `None`: a method the URL lacks, which must answer 405 rather than 403.
        if self.action in ("list", "retrieve", "me", None):
            return [permissions.IsAuthenticated()]
        return [IsAdmin()]

    def get_serializer_context(self) -> dict[str, Any]:
        # Loaded once per request: every row's daily_send_limit reads it.
        return {**super().get_serializer_context(), "portal": PortalSettings.load()}

    def visible_queryset(self) -> QuerySet[User]:
        return (
            User.objects.select_related("seat")
            .prefetch_related(Prefetch("teams", queryset=Team.objects.only("id")))
            .order_by("username", "id")
        )

    def filter_list(self, queryset: QuerySet[User], params: dict[str, Any]) -> QuerySet[User]:
        if term := params.get("search", "").strip():
            queryset = queryset.filter(
                Q(username__icontains=term) | Q(email__icontains=term)
                | Q(first_name__icontains=term) | Q(last_name__icontains=term)
            )
        return queryset

    def service_create(self, data: dict[str, Any]) -> User:
        return services.user_create(**data)

    def service_update(self, instance: User, data: dict[str, Any]) -> User:
        return services.user_update(user=instance, data=data)

    def service_delete(self, instance: User) -> None:
        services.user_delete(user=instance, acting_user=self.request.user)

    @action(detail=False, methods=["get"])
    def me(self, request: Request) -> Response:
        """The caller's own complete record."""
        return Response(self.get_serializer(self.visible_queryset().get(pk=request.user.pk)).data)


class TeamViewSet(ServiceModelViewSet):
    serializer_class = TeamSerializer
    permission_classes = [IsAdminOrReadOnly]

    def visible_queryset(self) -> QuerySet[Team]:
        return Team.objects.prefetch_related(Prefetch("members", queryset=User.objects.only("id")))

    def service_create(self, data: dict[str, Any]) -> Team:
        return services.team_create(**data)

    def service_update(self, instance: Team, data: dict[str, Any]) -> Team:
        return services.team_update(team=instance, data=data)

    def service_delete(self, instance: Team) -> None:
        services.team_delete(team=instance)


class PortalView(APIView):
    """The portal's own settings (admins only): time zone, holiday calendar, seat send limits."""

    permission_classes = [IsAdmin]
    serializer_class = PortalSerializer

    def get(self, request: Request) -> Response:
        return Response(PortalSerializer(PortalSettings.load()).data)

    def patch(self, request: Request) -> Response:
        serializer = PortalSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        portal = services.portal_update(data=dict(serializer.validated_data))
        return Response(PortalSerializer(portal).data)


class PrivateAppViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Private app tokens: your own (an admin: everyone's). The token is in the create answer only.

    Managing tokens needs a password-backed session or API token: a private
    app token can't mint or revoke tokens, so a leaked one can't widen itself.
    """

    serializer_class = PrivateAppSerializer
    lookup_value_regex = r"\d+"

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if isinstance(request.auth, PrivateApp):
            raise PermissionDenied("A private app token can't manage private app tokens; sign in instead.")

    def get_queryset(self) -> QuerySet[PrivateApp]:
        return private_apps_visible_to(self.request.user)

    @extend_schema(request=PrivateAppSerializer, responses={201: PrivateAppCreatedSerializer})
    def create(self, request: Request) -> Response:
        payload = PrivateAppSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        app, token = private_app_create(
            user=request.user, name=payload.validated_data["name"], scopes=payload.validated_data["scopes"]
        )
        answer = PrivateAppCreatedSerializer(app).data
        answer["token"] = token
        return Response(answer, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: PrivateApp) -> None:
        private_app_revoke(app=instance, caller=self.request.user)


class CurrentPrivateAppView(APIView):
    """`DELETE /private-apps/current/`: the private app token making the request revokes itself.

    An extension's Disconnect uses it. Only the calling token goes, so a leaked
    token can end itself but touch no other; without a Bearer token it's 400.
    """

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        if not isinstance(request.auth, PrivateApp):
            raise ValidationFailed("Only a private app token (Authorization: Bearer) can revoke itself here.")
        private_app_revoke(app=request.auth, caller=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
