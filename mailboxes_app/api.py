"""`/mailboxes/`: each user's own connected mailboxes (admins see all).

`POST /mailboxes/{id}/verify/` queues a verification (202); `GET` on the same
path reports its progress and, once done, the SMTP and IMAP answers.
`POST /mailboxes/{id}/resume-sending/` resumes sending after the circuit breaker paused it.
"""
from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.viewsets import ServiceModelViewSet
from mailboxes_app import services
from mailboxes_app.breaker import mailbox_sending_resume
from mailboxes_app.models import Mailbox
from mailboxes_app.serializers import MailboxSerializer, MailboxVerifySerializer


class MailboxViewSet(ServiceModelViewSet):
    serializer_class = MailboxSerializer

    def visible_queryset(self) -> QuerySet[Mailbox]:
        # Someone else's mailbox is a 404, not a 403: its existence is not the caller's business.
        mailboxes = Mailbox.objects.all()
        return mailboxes if self.request.user.is_staff else mailboxes.filter(owner=self.request.user)

    def service_create(self, data: dict[str, Any]) -> Mailbox:
        owner = data.pop("owner", None) or self.request.user
        return services.mailbox_create(owner=owner, acting_user=self.request.user, **data)

    def service_update(self, instance: Mailbox, data: dict[str, Any]) -> Mailbox:
        return services.mailbox_update(mailbox=instance, data=data)

    def service_delete(self, instance: Mailbox) -> None:
        services.mailbox_delete(mailbox=instance)

    @extend_schema(methods=["POST"], request=None, responses={202: MailboxVerifySerializer})
    @extend_schema(methods=["GET"], responses={200: MailboxVerifySerializer})
    @action(detail=True, methods=["get", "post"])
    def verify(self, request: Request, pk: str) -> Response:
        """POST: queue a login to the mailbox's SMTP and IMAP servers; GET: its progress and answers."""
        mailbox = self.get_object()
        if request.method == "GET":
            return Response(MailboxVerifySerializer.of(mailbox))
        mailbox = services.mailbox_verify_request(mailbox=mailbox)
        return Response(MailboxVerifySerializer.of(mailbox), status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={200: MailboxSerializer})
    @action(detail=True, methods=["post"], url_path="resume-sending")
    def resume_sending(self, request: Request, pk: str) -> Response:
        """Resume sending after the circuit breaker paused it (409 `NOT_PAUSED` when it isn't paused)."""
        mailbox = mailbox_sending_resume(mailbox=self.get_object(), user=request.user)
        return Response(MailboxSerializer(mailbox, context=self.get_serializer_context()).data)
