"""Enrolling, enrollments, tasks, meetings and pausing: thin views over the services."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts_app.models import User
from config.errors import ValidationFailed
from contacts_app.models import Contact, ContactList
from mailboxes_app.models import OutboundMessage
from sequences_app.models import Enrollment, EnrollmentStep
from sequences_app.selectors import (
    enrollments_visible_to,
    mailboxes_visible_to,
    sequences_visible_to,
    sequences_with_enrollments_of,
    tasks_visible_to,
)
from sequences_app.serializers.enrollments import (
    EnrollmentFilterSerializer,
    EnrollmentRequestSerializer,
    EnrollmentSerializer,
    MeetingRequestSerializer,
    TaskFilterSerializer,
    TaskSerializer,
    enrollment_result_representation,
)
from sequences_app.services.enrollment_state import (
    enrollment_pause,
    enrollment_resume,
    enrollment_unenroll,
    enrollments_pause_for,
    enrollments_resume_for,
)
from sequences_app.services.enrollments import enrollment_create
from sequences_app.services.meetings import meeting_record
from sequences_app.services.tasks import task_complete


def _one(rows: type[Any] | QuerySet[Any], pk: int | None, field: str) -> Any:
    """The row `pk` names among `rows` (a model: all of them), else a 400 naming the field.

    Rows the caller may not see are left out of `rows`, so "not yours" answers like "no such row".
    """
    if pk is None:
        return None
    queryset = rows if isinstance(rows, QuerySet) else rows.objects.all()
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise ValidationFailed(f"No such {field}.", fields={field: [f"No {field} with id {pk}."]})
    return found


def _query_filters(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class SequenceEnrollmentsView(APIView):
    """`POST /sequences/{id}/enrollments/`: enroll (or, with dry_run, preview) contacts."""

    @extend_schema(request=EnrollmentRequestSerializer, responses={201: dict, 200: dict})
    def post(self, request: Request, pk: int) -> Response:
        # Another user's private sequence answers exactly like one that doesn't exist.
        sequence = get_object_or_404(sequences_visible_to(request.user), pk=pk)
        payload = EnrollmentRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        result = enrollment_create(
            sequence=sequence,
            caller=request.user,
            contact_ids=data["contacts"],
            contact_list=_one(ContactList, data["list"], "list"),
            exclude=data["exclude"],
            record=data["record"],
            sender=_one(User, data["sender"], "sender"),
            mailbox=_one(mailboxes_visible_to(request.user), data["mailbox"], "mailbox"),
            start_step=data["start_step"],
            time_zone=data["time_zone"],
            send_at=data["send_at"],
            settings_override=data["settings"],
            token_values=data["token_values"],
            contact_overrides=data["contact_overrides"],
            step_overrides=data["step_overrides"],
            dry_run=data["dry_run"],
        )
        answer = status.HTTP_200_OK if result.dry_run else status.HTTP_201_CREATED
        return Response(enrollment_result_representation(result), status=answer)


def _enrollments_with_steps(queryset: QuerySet[Enrollment]) -> QuerySet[Enrollment]:
    return queryset.prefetch_related(
        Prefetch("steps", queryset=EnrollmentStep.objects.order_by("order")),
        Prefetch("messages", queryset=OutboundMessage.objects.only("id", "enrollment_id", "step_order", "message_id")),
    )


class EnrollmentListView(generics.ListAPIView):
    serializer_class = EnrollmentSerializer

    def get_queryset(self) -> QuerySet[Enrollment]:
        filters = _query_filters(EnrollmentFilterSerializer, self.request)
        enrollments = enrollments_visible_to(self.request.user).filter(**filters)
        return _enrollments_with_steps(enrollments).order_by("-enrolled_at", "-id")


class EnrollmentDetailView(generics.RetrieveAPIView):
    serializer_class = EnrollmentSerializer

    def get_queryset(self) -> QuerySet[Enrollment]:
        return _enrollments_with_steps(enrollments_visible_to(self.request.user))


class _EnrollmentActionView(APIView):
    # Not `action`: DRF and drf-spectacular use that name for the view's action label.
    change: Any = None

    @extend_schema(request=None, responses=EnrollmentSerializer)
    def post(self, request: Request, pk: int) -> Response:
        enrollment = get_object_or_404(enrollments_visible_to(request.user), pk=pk)
        type(self).change(enrollment=enrollment)
        fresh = _enrollments_with_steps(Enrollment.objects.filter(pk=enrollment.pk)).get()
        return Response(EnrollmentSerializer(fresh).data)


class EnrollmentPauseView(_EnrollmentActionView):
    change = enrollment_pause


class EnrollmentResumeView(_EnrollmentActionView):
    change = enrollment_resume


class EnrollmentUnenrollView(_EnrollmentActionView):
    change = enrollment_unenroll


class SequencePauseView(APIView):
    """Pause every enrollment of the sequence that the caller sent."""

    @extend_schema(request=None, responses=dict)
    def post(self, request: Request, pk: int) -> Response:
        sequence = get_object_or_404(sequences_with_enrollments_of(request.user), pk=pk)
        return Response({"paused": enrollments_pause_for(sender=request.user, sequence=sequence)})


class SequenceResumeView(APIView):
    @extend_schema(request=None, responses=dict)
    def post(self, request: Request, pk: int) -> Response:
        sequence = get_object_or_404(sequences_with_enrollments_of(request.user), pk=pk)
        return Response({"resumed": enrollments_resume_for(sender=request.user, sequence=sequence)})


class PauseAllView(APIView):
    """Vacation: pause every enrollment the caller sent."""

    @extend_schema(request=None, responses=dict)
    def post(self, request: Request) -> Response:
        return Response({"paused": enrollments_pause_for(sender=request.user)})


class ResumeAllView(APIView):
    @extend_schema(request=None, responses=dict)
    def post(self, request: Request) -> Response:
        return Response({"resumed": enrollments_resume_for(sender=request.user)})


class TaskListView(generics.ListAPIView):
    serializer_class = TaskSerializer

    def get_queryset(self) -> QuerySet[Any]:
        filters = _query_filters(TaskFilterSerializer, self.request)
        return tasks_visible_to(self.request.user).filter(**filters).order_by("status", "due_at", "id")


class TaskCompleteView(APIView):
    @extend_schema(request=None, responses=TaskSerializer)
    def post(self, request: Request, pk: int) -> Response:
        task = get_object_or_404(tasks_visible_to(request.user), pk=pk)
        return Response(TaskSerializer(task_complete(task=task, user=request.user)).data)


class MeetingCreateView(APIView):
    @extend_schema(request=MeetingRequestSerializer, responses={201: dict})
    def post(self, request: Request) -> Response:
        payload = MeetingRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        contact = _one(Contact, data["contact"], "contact")
        user = _one(User, data["user"], "user") or request.user
        meeting = meeting_record(
            contact=contact, user=user, caller=request.user, starts_at=data["starts_at"], title=data["title"]
        )
        return Response(
            {
                "id": meeting.pk,
                "contact": contact.pk,
                "user": user.pk,
                "starts_at": payload.fields["starts_at"].to_representation(meeting.starts_at),
                "title": meeting.title,
            },
            status=status.HTTP_201_CREATED,
        )
