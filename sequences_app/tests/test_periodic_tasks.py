from __future__ import annotations

from datetime import timedelta

import pytest
from django_celery_beat.models import PeriodicTask

from config.celery import app
from sequences_app.periodic_tasks import periodic_tasks_install

pytestmark = pytest.mark.django_db


def test_periodic_tasks_declared_in_code_are_installed_once(monkeypatch):
    monkeypatch.setitem(
        app.conf.beat_schedule, "test-tick", {"task": "nudge.test_tick", "schedule": timedelta(seconds=10)}
    )
    periodic_tasks_install()
    periodic_tasks_install()
    task = PeriodicTask.objects.get(name="test-tick")
    assert task.task == "nudge.test_tick"
    assert task.interval.every == 10
    assert PeriodicTask.objects.filter(name="test-tick").count() == 1
