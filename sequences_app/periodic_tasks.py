"""Copy the periodic tasks declared in `config.celery` into django-celery-beat's tables.

Beat runs with the DatabaseScheduler, so an admin can see and pause each
tick; the declaration in code stays the source of truth and is installed
after every `migrate` (and by `manage.py install_periodic_tasks`).
"""
from __future__ import annotations

from datetime import timedelta

from django.db import transaction

from config.celery import app


@transaction.atomic
def periodic_tasks_install() -> list[str]:
    """Create or update one PeriodicTask per `beat_schedule` entry; return their names."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    installed = []
    for name, entry in app.conf.beat_schedule.items():
        every = entry["schedule"]
        seconds = int(every.total_seconds() if isinstance(every, timedelta) else every)
        interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
        PeriodicTask.objects.update_or_create(
            name=name,
            defaults={
                "task": entry["task"],
                "interval": interval,
                "crontab": None,
                "solar": None,
                "clocked": None,
                "enabled": True,
                "expires": None,
                "expire_seconds": entry.get("options", {}).get("expires"),
            },
        )
        installed.append(name)
    return installed
