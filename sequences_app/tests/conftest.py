from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from sequences_app.models import Sequence, SequenceStep, StepType
from tests.factories import SequenceFactory


@pytest.fixture
def api(rep):
    client = APIClient()
    client.force_authenticate(rep)
    return client


@pytest.fixture
def sequence(rep) -> Sequence:
    """Email, call task, email — shared with everyone, owned by the rep."""
    sequence = SequenceFactory(owner=rep, name="Post-conference follow-up", visibility="everyone")
    SequenceStep.objects.create(
        sequence=sequence, order=1, type=StepType.AUTOMATED_EMAIL, subject="Hi {{ contact.first_name }}",
        body_html="<p>Hello {{ contact.first_name }} at {{ company.name }}</p>",
    )
    SequenceStep.objects.create(
        sequence=sequence, order=2, type=StepType.CALL, delay_days=2, title="Call {{ contact.first_name }}",
        priority="high",
    )
    SequenceStep.objects.create(
        sequence=sequence, order=3, type=StepType.AUTOMATED_EMAIL, delay_days=3, subject="",
        body_html="<p>Following up</p>",
    )
    return sequence
