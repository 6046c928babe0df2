# One image for every production process; docker-compose.yml runs it as the
# one-shot `migrate`, `web` (gunicorn), `worker` and `beat`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NUDGE_VAR_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles

WORKDIR /app

# Sisimai (Perl) reads bounces from every kind of mail server in the worker's inbox sync;
# GNU gettext compiles the Finnish translation below.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libsisimai-perl gettext \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, so a code change does not reinstall them.
COPY requirements.txt .
RUN pip install -r requirements.txt

RUN groupadd --system nudge \
    && useradd --system --gid nudge --home-dir /app --no-create-home --shell /usr/sbin/nologin nudge

COPY . .
# Static files are part of the image (WhiteNoise serves them from STATIC_ROOT),
# so web needs no shared volume for them. var/media must exist and belong to
# nudge before a named volume is mounted there, or the volume is root-owned.
# collectstatic and compilemessages (the .mo files are built, not committed) need no key of the deployment: DJANGO_DEBUG=1 lets settings load on the development ones.
RUN DJANGO_DEBUG=1 python manage.py collectstatic --noinput \
    && DJANGO_DEBUG=1 python manage.py compilemessages \
    && mkdir -p /app/var/media \
    && chown -R nudge:nudge /app/var

USER nudge
EXPOSE 8000
# Workers: gunicorn reads WEB_CONCURRENCY from the environment.
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
