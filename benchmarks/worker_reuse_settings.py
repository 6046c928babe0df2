"""Nudge's settings plus Celery's `CELERY_DB_REUSE_MAX`: the A/B for delivery.py's `--worker-settings`.

Without it, Celery's Django fixup closes every database connection before and
after each task, so each task (each email, as sends are queued one per task)
opens a new PostgreSQL connection and starts on a backend with cold caches.
"""

from __future__ import annotations

from config.settings import *  # noqa: F403

CELERY_DB_REUSE_MAX = 1000
