"""contacts_app's pages."""
from __future__ import annotations

from django.urls import path

from contacts_app import views

app_name = "contacts"

urlpatterns = [
    path("contacts/", views.contacts, name="contacts"),
    path("contacts/import/", views.contact_import, name="import"),
    path("contacts/import/<int:pk>/", views.contact_import_job, name="import-job"),
    path("contacts/import/<int:pk>/preview/", views.contact_import_preview, name="import-preview"),
    path("contacts/import/<int:pk>/run/", views.contact_import_run, name="import-run"),
    path("contacts/import/<int:pk>/progress/", views.contact_import_progress, name="import-progress"),
    path("contacts/import/<int:pk>/problems.csv", views.contact_import_problems, name="import-problems"),
    path("contacts/<int:pk>/", views.contact_detail, name="contact"),
    path("contacts/<int:pk>/meetings/", views.contact_meeting, name="contact-meeting"),
    path("contacts/<int:pk>/repermission/", views.contact_repermission, name="contact-repermission"),
    path("companies/", views.companies, name="companies"),
    path("companies/<int:pk>/", views.company_detail, name="company"),
    path("deals/", views.deals, name="deals"),
    path("deals/<int:pk>/", views.deal_detail, name="deal"),
    path("tickets/", views.tickets, name="tickets"),
    path("tickets/<int:pk>/", views.ticket_detail, name="ticket"),
    path("object-types/", views.object_types, name="object-types"),
    path("object-types/new/", views.object_type_form, name="object-type-new"),
    path("object-types/<int:pk>/edit/", views.object_type_form, name="object-type-edit"),
    path("objects/<slug:schema>/", views.objects, name="objects"),
    path("objects/<slug:schema>/new/", views.object_form, name="object-new"),
    path("objects/<slug:schema>/<int:pk>/edit/", views.object_form, name="object-edit"),
    path("objects/<slug:schema>/<int:pk>/", views.object_detail, name="object"),
    path("new/<slug:kind>/", views.record_new, name="record-new"),
    path("edit/<slug:kind>/<int:pk>/", views.record_edit, name="record-edit"),
    path("associate/<slug:kind>/<int:pk>/", views.record_associate, name="record-associate"),
    path("associate/<slug:kind>/<int:pk>/remove/<int:contact_pk>/", views.record_dissociate,
         name="record-dissociate"),
    path("lists/", views.lists, name="lists"),
    path("lists/<int:pk>/", views.list_detail, name="list"),
]
