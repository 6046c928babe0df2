from __future__ import annotations

from django.core.management.base import BaseCommand

from sequences_app.periodic_tasks import periodic_tasks_install


class Command(BaseCommand):
    help = "Install the periodic tasks declared in config/celery.py into django-celery-beat's tables."

    def handle(self, *args: object, **options: object) -> None:
        names = periodic_tasks_install()
        self.stdout.write(f"Installed {len(names)} periodic task(s): {', '.join(names) or 'none'}")
