"""Settings for the django-post-office side of benchmarks/delivery.py: Nudge's settings plus `post_office`.

Only the benchmark uses this (django-post-office is in benchmarks/requirements.txt,
not in requirements.txt). Post-office runs with its defaults; its SMTP backend
talks to the benchmark's sink, whose port delivery.py puts in EMAIL_PORT.
"""

from __future__ import annotations

from config.settings import *  # noqa: F403
from config.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "post_office"]
