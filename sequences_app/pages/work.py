"""The rep's daily work: the tasks queue, and pause/resume/unenroll of one enrollment (htmx)."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts_app.models import PortalSettings
from config.errors import ServiceError
from config.paging import paginate
from sequences_app.models import Enrollment, EnrollmentStep, Task
from sequences_app.page_messages import service_error_text
from sequences_app.page_selectors import task_queue
from sequences_app.selectors import enrollments_visible_to, tasks_visible_to
from sequences_app.services.enrollment_state import enrollment_pause, enrollment_resume, enrollment_unenroll
from sequences_app.services.tasks import task_complete

ACTIONS = {"pause": enrollment_pause, "resume": enrollment_resume, "unenroll": enrollment_unenroll}


@login_required
def tasks(request: HttpRequest) -> HttpResponse:
    status = "done" if request.GET.get("status") == "done" else "open"
    due = request.GET.get("due", "all") if request.GET.get("due") in ("overdue", "today") else "all"
    page = paginate(task_queue(user=request.user, status=status, due=due, now=timezone.now()), request.GET)
    context = {"page": page, "status": status, "due": due, "portal_tz": PortalSettings.load().time_zone}
    return render(request, "sequences/tasks.html", context)


@login_required
@require_POST
def task_done(request: HttpRequest, pk: int) -> HttpResponse:
    """Complete a task (the sequence waiting on it moves on); htmx gets the row back."""
    task = get_object_or_404(tasks_visible_to(request.user), pk=pk)
    error = None
    try:
        task = task_complete(task=task, user=request.user)
    except ServiceError as exc:
        error = service_error_text(exc)
    task = Task.objects.select_related("contact", "enrollment__sequence", "owner").get(pk=task.pk)
    context = {"task": task, "error": error, "portal_tz": PortalSettings.load().time_zone}
    return render(request, "sequences/_task_row.html", context)


@login_required
@require_POST
def enrollment_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404("No such action.")
    enrollment = get_object_or_404(enrollments_visible_to(request.user), pk=pk)
    error = None
    try:
        ACTIONS[action](enrollment=enrollment)
    except ServiceError as exc:
        error = service_error_text(exc)
    fresh = (
        Enrollment.objects.select_related("sequence", "sender")
        .prefetch_related(Prefetch("steps", queryset=EnrollmentStep.objects.order_by("order")))
        .get(pk=enrollment.pk)
    )
    show = "contact" if request.POST.get("show") == "contact" else ""  # the card as the page that holds it shows it
    return render(request, "includes/enrollment_card.html", {"enrollment": fresh, "error": error, "show": show})
