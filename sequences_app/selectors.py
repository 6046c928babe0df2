"""Reads over sequences and enrollments, with who-may-see-what in one place."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet

from accounts_app.models import Team, User
from mailboxes_app.models import Mailbox
from sequences_app.models import Document, EmailTemplate, Enrollment, Sequence, Snippet, Task


def sequences_visible_to(user: User) -> QuerySet[Sequence]:
    """Live sequences the user may read and enroll into: own, shared with them or their teams, or with everyone."""
    live = Sequence.objects.filter(deleted_at__isnull=True)
    if user.is_staff:
        return live
    shared = Q(visibility=Sequence.Visibility.SPECIFIC) & (Q(shared_users=user) | Q(shared_teams__members=user))
    ids = Sequence.objects.filter(Q(owner=user) | Q(visibility=Sequence.Visibility.EVERYONE) | shared).values("id")
    return live.filter(id__in=ids)


def sequences_with_enrollments_of(user: User) -> QuerySet[Sequence]:
    """Live sequences the user sees, or sent enrollments in (pausing their own keeps working after the
    sequence stops being shared with them); the others don't exist for them."""
    if user.is_staff:
        return Sequence.objects.filter(deleted_at__isnull=True)
    sent = Enrollment.objects.filter(sender=user).values("sequence_id")
    return Sequence.objects.filter(deleted_at__isnull=True).filter(
        Q(id__in=sequences_visible_to(user).values("id")) | Q(id__in=sent)
    )


def mailboxes_visible_to(user: User) -> QuerySet[Mailbox]:
    """A user's own mailboxes (admins: all)."""
    mailboxes = Mailbox.objects.all()
    return mailboxes if user.is_staff else mailboxes.filter(owner=user)


def sequence_is_shared_with(sequence: Sequence, user: User) -> bool:
    return sequences_visible_to(user).filter(pk=sequence.pk).exists()


def sequences_enrolled_by(user: User) -> QuerySet[Sequence]:
    """Live sequences the user sent enrollments in, shared with them or not any more.

    A rep whose sequence stops being shared keeps their enrollments in it:
    the sequence page lists them (and only them) for pausing and unenrolling.
    """
    return Sequence.objects.filter(
        deleted_at__isnull=True, id__in=Enrollment.objects.filter(sender=user).values("sequence_id")
    )


def sequence_is_editable_by(sequence: Sequence, user: User) -> bool:
    return user.is_staff or sequence.owner_id == user.pk


def enrollments_visible_to(user: User) -> QuerySet[Enrollment]:
    """Enrollments the user sent (admins: all)."""
    enrollments = Enrollment.objects.all()
    return enrollments if user.is_staff else enrollments.filter(sender=user)


def enrollment_details_visible_to(user: User, sender_id: int | None) -> bool:
    """Whether `user` may see an enrollment's details (sequence, sender, schedule): the same rule as
    `enrollments_visible_to`, for pages that show every contact's enrollments — others see only that the
    contact is in a sequence."""
    return user.is_staff or (sender_id is not None and sender_id == user.pk)


def tasks_visible_to(user: User) -> QuerySet[Task]:
    tasks = Task.objects.all()
    return tasks if user.is_staff else tasks.filter(owner=user)


def sequences_with_details(sequences: QuerySet[Sequence]) -> QuerySet[Sequence]:
    """`sequences` with steps and sharing fetched alongside: a page of them costs the same few queries."""
    return sequences.prefetch_related(
        "steps",
        Prefetch("shared_users", queryset=User.objects.only("id")),
        Prefetch("shared_teams", queryset=Team.objects.only("id")),
    )


def sequences_list(*, user: User, search: str = "", owner_id: int | None = None) -> QuerySet[Sequence]:
    """The sequences page and `GET /sequences/`: visible ones, by name and owner when asked."""
    sequences = sequences_visible_to(user)
    if search:
        sequences = sequences.filter(name__icontains=search)
    if owner_id is not None:
        sequences = sequences.filter(owner_id=owner_id)
    return sequences_with_details(sequences)


def email_templates_visible_to(user: User) -> QuerySet[EmailTemplate]:
    """A rep's own templates (admins: everyone's)."""
    templates = EmailTemplate.objects.all()
    return templates if user.is_staff else templates.filter(owner=user)


def snippets_visible_to(user: User) -> QuerySet[Snippet]:
    snippets = Snippet.objects.all()
    return snippets if user.is_staff else snippets.filter(owner=user)


def documents_visible_to(user: User) -> QuerySet[Document]:
    documents = Document.objects.all()
    return documents if user.is_staff else documents.filter(owner=user)


def document_public_url(document: Document) -> str:
    """The link put in emails: served by sequences_app.views.document_download at `/d/<token>/`."""
    return f"{settings.SITE_URL}/d/{document.token}/"
