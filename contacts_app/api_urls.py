"""contacts_app's part of the `/api/v1/` tree."""
from __future__ import annotations

from rest_framework.routers import SimpleRouter

from contacts_app import api

router = SimpleRouter()
router.register("contacts", api.ContactViewSet, basename="contact")
router.register("companies", api.CompanyViewSet, basename="company")
router.register("deals", api.DealViewSet, basename="deal")
router.register("tickets", api.TicketViewSet, basename="ticket")
router.register("object-schemas", api.ObjectSchemaViewSet, basename="object-schema")
router.register(r"objects/(?P<schema_name>[-a-zA-Z0-9_]+)", api.CustomObjectViewSet, basename="custom-object")
router.register("blocklist", api.BlockedEntryViewSet, basename="blocked-entry")
router.register("lists", api.ContactListViewSet, basename="contact-list")

urlpatterns = router.urls
