"""The Celery application: workers run tasks, beat ticks the scheduler.

Periodic tasks are declared here in code; django-celery-beat's
DatabaseScheduler copies them into its tables when beat starts, and the
`install_periodic_tasks` command (run by `migrate`) does so ahead of time.
"""
from __future__ import annotations

import os
from datetime import timedelta

from celery import Celery, Task
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections

from config.env import env_int

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("nudge")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Claims due enrollment steps and messages; cheap when nothing is due.
    "scheduler-tick": {
        "task": "nudge.scheduler_tick",
        "schedule": timedelta(seconds=env_int("SCHEDULER_TICK_SECONDS", 2)),
        "options": {"expires": 30},
    },
    # Claims mailboxes whose inbox sync is due (each is synced about once a minute); cheap when none is.
    "inbox-sync": {
        "task": "nudge.inbox_sync_tick",
        "schedule": timedelta(seconds=env_int("INBOX_SYNC_TICK_SECONDS", 30)),
        "options": {"expires": 30},
    },
    # Claims workflow runs whose delay is over, and events whose worker never came; cheap when none are.
    "workflows-tick": {
        "task": "nudge.workflows_tick",
        "schedule": timedelta(seconds=env_int("WORKFLOWS_TICK_SECONDS", 10)),
        "options": {"expires": 30},
    },
}


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(sender: Task | None = None, **kwargs: object) -> None:
    """Drop a database connection that is past CONN_MAX_AGE or broke, as Django does around each request.

    Celery's Django fixup closes connections only every CELERY_DB_REUSE_MAX tasks, so without this a
    connection broken by a database restart fails the next task. With CONN_HEALTH_CHECKS the first query
    after this check also tests a kept connection. An eager task runs inside its caller's transaction,
    which is left alone.
    """
    if sender is not None and sender.request.is_eager:
        return
    close_old_connections()
