from __future__ import annotations

import json

import pytest
from django.test import Client

from accounts_app.models import User
from accounts_app.private_apps import READ_SEQUENCES, WRITE_ENROLLMENTS, private_app_create
from hubspot_api.shapes import DATED, V4
from hubspot_api.tests.spec import PREFIXES
from sequences_app.models import Sequence, SequenceStep, StepType
from tests.factories import SequenceFactory

BOTH_SCOPES = [READ_SEQUENCES, WRITE_ENROLLMENTS]


class HubSpotClient:
    """A plain HTTP client sending a private app token, with paths relative to one family's prefix."""

    def __init__(self, token: str, family: str) -> None:
        self.token = token
        self.family = family
        self.prefix = PREFIXES[family]
        self.http = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def get(self, path: str, params: dict | None = None, **extra):
        return with_limit_headers(self.http.get(self.prefix + path, params or {}, **extra))

    def post(self, path: str, body: object, *, raw: bytes | None = None, **extra):
        data = raw if raw is not None else json.dumps(body)
        response = self.http.post(self.prefix + path, data=data, content_type="application/json", **extra)
        return with_limit_headers(response)


def with_limit_headers(response):
    """Every answer says the burst limit; every answer to a valid token also says what is left of it."""
    assert response["X-HubSpot-RateLimit-Max"].isdigit()
    assert response["X-HubSpot-RateLimit-Interval-Milliseconds"].isdigit()
    if response.status_code != 401:
        assert response["X-HubSpot-RateLimit-Remaining"].isdigit()
    return response


def token_for(user: User, scopes: list[str] | None = None) -> str:
    return private_app_create(user=user, name="Integration", scopes=scopes or BOTH_SCOPES)[1]


@pytest.fixture(params=[V4, DATED])
def family(request) -> str:
    return request.param


@pytest.fixture
def hub(rep, family) -> HubSpotClient:
    return HubSpotClient(token_for(rep), family)


@pytest.fixture
def sequence(rep) -> Sequence:
    """Email, call task (holds the next step), email, LinkedIn task that doesn't hold — shared with everyone."""
    sequence = SequenceFactory(owner=rep, name="Post-conference follow-up", visibility="everyone",
                               send_window_start_minute=480, send_window_end_minute=1080)
    SequenceStep.objects.create(sequence=sequence, order=1, type=StepType.AUTOMATED_EMAIL, subject="Hi",
                                body_html="<p>Hello</p>")
    SequenceStep.objects.create(sequence=sequence, order=2, type=StepType.CALL, delay_days=2,
                                title="Call {{ contact.first_name }}", notes="Ask about the demo", priority="high")
    SequenceStep.objects.create(sequence=sequence, order=3, type=StepType.AUTOMATED_EMAIL, delay_days=3,
                                subject="", body_html="<p>Following up</p>")
    SequenceStep.objects.create(sequence=sequence, order=4, type=StepType.LINKEDIN_MESSAGE, delay_days=30,
                                title="Message", continue_without_completion=True)
    return sequence
