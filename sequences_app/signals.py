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
