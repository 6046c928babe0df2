"""mailboxes_app's part of the `/api/v1/` tree."""
from __future__ import annotations

from rest_framework.routers import SimpleRouter

from mailboxes_app.api import MailboxViewSet

router = SimpleRouter()
router.register("mailboxes", MailboxViewSet, basename="mailbox")

urlpatterns = router.urls
