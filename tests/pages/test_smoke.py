"""Every page answers for a signed-in rep (and the shell sends strangers to the login page)."""
from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_every_page_renders_for_a_rep(rep_client, portal):
    c = portal["contacts"][0]
    s = portal["sequence"]
    urls = [
        "/contacts/", f"/contacts/{c.pk}/", "/companies/", f"/companies/{portal['company'].pk}/", "/deals/",
        f"/deals/{portal['deal'].pk}/", "/tickets/", "/lists/", f"/lists/{portal['list'].pk}/", "/sequences/",
        "/sequences/new/", f"/sequences/{s.pk}/", f"/sequences/{s.pk}/edit/", f"/sequences/{s.pk}/performance/",
        f"/enroll/?sequence={s.pk}&contacts={c.pk}", "/tasks/", "/tasks/?status=done", "/mailboxes/",
        "/mailboxes/new/", "/notifications/",
    ]
    for url in urls:
        response = rep_client.get(url)
        assert response.status_code == 200, url
