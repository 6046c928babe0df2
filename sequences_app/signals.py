from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.dispatch import receiver


@receiver(post_migrate)
def install_periodic_tasks_after_migrate(sender: AppConfig, **kwargs: object) -> None:
    # Only once per migrate run, after django_celery_beat's tables exist.
    if sender.name != "sequences_app":
        return
    from sequences_app.periodic_tasks import periodic_tasks_install

    periodic_tasks_install()


@receiver(post_migrate)
def keep_sequence_counts_after_migrate(sender: AppConfig, using: str = "default", **kwargs: object) -> None:
    """SQLite drops a table's triggers when a migration rebuilds the table: put them back (and recount)."""
    if sender.name != "sequences_app":
        return
    from django.db import connections

    from sequences_app.counters import counters_ensure
    from sequences_app.models import SequenceCount

    connection = connections[using]
    if SequenceCount._meta.db_table in connection.introspection.table_names():
        counters_ensure(connection)
