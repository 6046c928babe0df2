"""Nudge settings: every knob comes from the environment, with a safe local default.

Defaults give a self-contained install (SQLite, an on-disk Celery broker, a
mail catcher on loopback); `DATABASE_URL` and `CELERY_BROKER_URL` switch to
PostgreSQL and Redis for production. See README.md, "Configuration".
"""
from __future__ import annotations

import re
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from config import keys
from config.env import env_bool, env_int, env_list, env_mail_server, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
# Everything a running instance writes locally (SQLite, broker, caught mail, uploads).
VAR_DIR = Path(env_str("NUDGE_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", False)
# `manage.py makemigrations`, `makemessages`, `compilemessages` and `collectstatic` read only the code: they
# sign, encrypt and send nothing, so they run on the development keys (read from this process's own command
# line, not the environment, so no setting can turn the refusal below off for a web server or a worker).
CODE_ONLY_COMMAND = Path(sys.argv[0]).name == "manage.py" and sys.argv[1:2] in (
    ["makemigrations"], ["makemessages"], ["compilemessages"], ["collectstatic"]
)
SECRET_KEY = env_str("SECRET_KEY", "") or (keys.DEVELOPMENT_SECRET_KEY if DEBUG or CODE_ONLY_COMMAND else "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# --- HTTPS ------------------------------------------------------------------------------
# Behind a TLS-terminating proxy (docker-compose, a load balancer) set BEHIND_TLS_PROXY and SECURE_COOKIES on.
# The proxy's X-Forwarded-Proto then says whether the request came over HTTPS, and (NUM_PROXIES below) its
# X-Forwarded-For who sent it; without a proxy neither header is believed.
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Plain-HTTP requests are redirected to HTTPS (behind the proxy, by default).
# Proxies in front of Nudge that append to X-Forwarded-For (the client is the NUM_PROXIES-th address from the
# right); without BEHIND_TLS_PROXY the header is never believed, so a client cannot pick its own address.
NUM_PROXIES = env_int("NUM_PROXIES", 1) if BEHIND_TLS_PROXY else 0
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", BEHIND_TLS_PROXY)
# HSTS: browsers use HTTPS only, for a year by default behind the proxy; 0 sends no header.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if BEHIND_TLS_PROXY else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Content-Security-Policy on every page (django-csp): scripts only from Nudge's own static files (htmx and
# Quill are vendored), no inline script or event handler; inline styles stay allowed (Quill and htmx set
# them); images also from https: (email bodies in previews show their own images).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "https:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}
# Public base URL used for links inside emails (unsubscribe, tracking, documents).
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_htmx",
    "corsheaders",
    "csp",
    "axes",
    "accounts_app",
    "contacts_app",
    "mailboxes_app",
    "sequences_app",
    "workflows_app",
    "hubspot_api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: the signed-in user's language and time zone win over the browser's.
    "accounts_app.middleware.UserPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last: it turns a login refused for too many failures (page or API) into the lockout answer.
    "axes.middleware.AxesMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'nudge.sqlite3'}")
if DATABASE_URL.startswith("sqlite"):
    VAR_DIR.mkdir(parents=True, exist_ok=True)
# Health checks: a kept connection is tested before its first query in each request or task (the worker
# resets the check in config/celery.py), so one broken by a database restart is replaced, not used.
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one SQLite file: WAL lets readers run beside
    # the single writer, IMMEDIATE takes the write lock at BEGIN so two
    # writers queue instead of failing with "database is locked" mid-transaction.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts_app.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes counts failed logins (the login page, the admin's, POST /api/v1/auth/token/) in the database,
# so every web process shares the count: LOGIN_FAILURE_LIMIT failures for one username, or from one client
# address, lock that username or address out for LOGIN_LOCKOUT_MINUTES. Successful logins are never counted
# and clear the username's failures.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "config.client_ip.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts_app.lockout.lockout_response"
AXES_VERBOSE = False
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# --- Languages and time zones ----------------------------------------------------------
# A request gets the signed-in user's language, else the browser's (Accept-Language), else the
# portal's; and the user's time zone, else the portal's (accounts_app/middleware.py).
# locale/<code>/LC_MESSAGES/django.po holds each catalogue; `compilemessages` (make run, make test)
# builds the .mo files Django reads.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fi", "Suomi")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# The Gmail panel's own scripts also serve the Outlook task pane, as /static/inbox/….
STATICFILES_DIRS = [BASE_DIR / "static", ("inbox", BASE_DIR / "extensions" / "chrome")]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Secrets at rest and signed links -------------------------------------------
# Fernet keys for mailbox passwords; the first encrypts, all decrypt (rotation:
# put the new key first).
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS", []) or (
    [keys.DEVELOPMENT_FIELD_KEY] if DEBUG or CODE_ONLY_COMMAND else []
)
# Keys for the unsubscribe, open and click links inside emails: the first signs, all verify (rotation: put a
# new key first, keep the old one as long as LINK_MAX_AGE_DAYS so links already sent keep working).
LINK_SIGNING_KEYS = env_list("LINK_SIGNING_KEYS", []) or (
    [keys.DEVELOPMENT_LINK_KEY] if DEBUG or CODE_ONLY_COMMAND else []
)
# A link inside an email stops working this long after the email was rendered.
LINK_MAX_AGE_DAYS = env_int("LINK_MAX_AGE_DAYS", 365)
# Outside DEBUG Nudge refuses to start on the published development keys, and derives none from SECRET_KEY.
_missing_keys = [
    name for name, value in (
        ("SECRET_KEY", SECRET_KEY), ("FIELD_ENCRYPTION_KEYS", FIELD_ENCRYPTION_KEYS),
        ("LINK_SIGNING_KEYS", LINK_SIGNING_KEYS),
    ) if not value
]
if SECRET_KEY == keys.DEVELOPMENT_SECRET_KEY and not DEBUG:
    _missing_keys.insert(0, "SECRET_KEY (not the development default)")
if _missing_keys and not CODE_ONLY_COMMAND:
    raise ImproperlyConfigured(keys.missing_keys_message(_missing_keys))

# --- Mailbox servers --------------------------------------------------------------------
# Mailbox SMTP/IMAP hosts on loopback, link-local or private ranges are refused unless this is on:
# a mailbox form must not reach the servers beside Nudge. On by default only with DJANGO_DEBUG=1
# (the demo's mail catcher is on loopback); turn it on for mail servers on your own network.
MAILBOX_ALLOW_PRIVATE_HOSTS = env_bool("MAILBOX_ALLOW_PRIVATE_HOSTS", DEBUG)

# --- Outgoing system mail (task reminders); sequence emails use each mailbox's SMTP ---
# The local mail catcher's port (devtools/mailcatcher.py, started by `make run`): seed_demo's
# mailboxes send to it, and system mail does unless EMAIL_PORT says otherwise. Two checkouts
# running side by side each set their own, so neither catches the other's mail.
MAIL_CATCHER_PORT = env_int("MAIL_CATCHER_PORT", 1025)
EMAIL_HOST = env_str("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env_int("EMAIL_PORT", MAIL_CATCHER_PORT)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Nudge <nudge@localhost>")

# --- Celery -------------------------------------------------------------------------
# The default broker is kombu's filesystem transport: messages are files under
# var/broker, so web, worker and beat on one machine need no server.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
BROKER_DIR = Path(env_str("CELERY_BROKER_DIR", str(VAR_DIR / "broker")))
if CELERY_BROKER_URL.startswith("filesystem"):
    CELERY_BROKER_TRANSPORT = "config.broker_fs:Transport"
    # The on-disk broker needs its folders before a worker can read a message.
    for _folder in ("queue", "control"):
        (BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = (
    {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        # The default (1 s between polls) caps a worker at about one task a second.
        "polling_interval": 0.1,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    else {"visibility_timeout": 3600}
)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# One queue name per installation sharing a broker (the process tests give each stack its own).
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "celery")
# Beat's ticks wait in a queue of their own, so a backlog of sends never holds them past their
# `expires`; an installation that names its queue gets "<name>-ticks", never another's ticks.
TICKS_QUEUE = "ticks" if CELERY_TASK_DEFAULT_QUEUE == "celery" else f"{CELERY_TASK_DEFAULT_QUEUE}-ticks"
# A worker started without -Q consumes every queue declared here.
CELERY_TASK_QUEUES = (
    Queue(CELERY_TASK_DEFAULT_QUEUE, routing_key=CELERY_TASK_DEFAULT_QUEUE),
    Queue(TICKS_QUEUE, routing_key=TICKS_QUEUE),
)
# Every task in config/celery.py's beat_schedule (their routine log lines are DEBUG: config/logs.py).
TICK_TASKS = ("nudge.scheduler_tick", "nudge.inbox_sync_tick", "nudge.workflows_tick")
CELERY_TASK_ROUTES = {name: {"queue": TICKS_QUEUE} for name in TICK_TASKS}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Celery's Django fixup otherwise closes the database connection around every
# task, so each send would open a new one; it still closes it every N tasks.
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000)

# --- Product knobs --------------------------------------------------------------------
BULK_ENROLL_MAX_CONTACTS = 50
BULK_THROTTLE_PER_MINUTE = 3
# Scheduler timings. Defaults suit production; the process tests shorten them
# so a killed worker's work comes back within seconds instead of minutes.
# A message being sent keeps its lease this long (longer than any SMTP exchange).
SEND_LEASE_SECONDS = env_int("SEND_LEASE_SECONDS", 600)
# A claimed enrollment step or dispatched message is re-claimed after this if its task was lost.
SCHEDULER_CLAIM_LEASE_SECONDS = env_int("SCHEDULER_CLAIM_LEASE_SECONDS", 120)
# At most this many due enrollments are claimed per tick (in rounds of 500); the rest wait for the next tick.
SCHEDULER_MAX_CLAIMS_PER_TICK = env_int("SCHEDULER_MAX_CLAIMS_PER_TICK", 2500)
# First retry after a temporary SMTP failure; later ones back off (×5, ×15, ×60, ...).
SMTP_RETRY_BASE_SECONDS = env_int("SMTP_RETRY_BASE_SECONDS", 60)

# --- Mailboxes connected by OAuth 2.0 (Google Workspace / Gmail, Microsoft 365) --------------
# A provider's "Connect" button shows only when its client id is set. Register
# SITE_URL + /mailboxes/oauth/callback/ as the redirect URI with the provider.
GOOGLE_OAUTH_CLIENT_ID = env_str("GOOGLE_OAUTH_CLIENT_ID", "")
GOOGLE_OAUTH_CLIENT_SECRET = env_str("GOOGLE_OAUTH_CLIENT_SECRET", "")
GOOGLE_OAUTH_AUTHORIZE_URL = env_str("GOOGLE_OAUTH_AUTHORIZE_URL", "https://accounts.google.com/o/oauth2/v2/auth")
GOOGLE_OAUTH_TOKEN_URL = env_str("GOOGLE_OAUTH_TOKEN_URL", "https://oauth2.googleapis.com/token")
MICROSOFT_OAUTH_CLIENT_ID = env_str("MICROSOFT_OAUTH_CLIENT_ID", "")
MICROSOFT_OAUTH_CLIENT_SECRET = env_str("MICROSOFT_OAUTH_CLIENT_SECRET", "")
MICROSOFT_OAUTH_TENANT = env_str("MICROSOFT_OAUTH_TENANT", "common")
MICROSOFT_OAUTH_AUTHORIZE_URL = env_str(
    "MICROSOFT_OAUTH_AUTHORIZE_URL",
    f"https://login.microsoftonline.com/{MICROSOFT_OAUTH_TENANT}/oauth2/v2.0/authorize",
)
MICROSOFT_OAUTH_TOKEN_URL = env_str(
    "MICROSOFT_OAUTH_TOKEN_URL", f"https://login.microsoftonline.com/{MICROSOFT_OAUTH_TENANT}/oauth2/v2.0/token"
)
# Mail servers as host:port:security (none, starttls, ssl).
GOOGLE_SMTP = env_mail_server("GOOGLE_SMTP", "smtp.gmail.com:587:starttls")
GOOGLE_IMAP = env_mail_server("GOOGLE_IMAP", "imap.gmail.com:993:ssl")
MICROSOFT_SMTP = env_mail_server("MICROSOFT_SMTP", "smtp.office365.com:587:starttls")
MICROSOFT_IMAP = env_mail_server("MICROSOFT_IMAP", "outlook.office365.com:993:ssl")

# --- Private app tokens and the HubSpot-compatible API ---------------------------------
# Burst limit per private app token, as HubSpot's private apps: this many requests per window.
PRIVATE_APP_BURST_LIMIT = env_int("PRIVATE_APP_BURST_LIMIT", 190, minimum=1)
PRIVATE_APP_BURST_INTERVAL_SECONDS = env_int("PRIVATE_APP_BURST_INTERVAL_SECONDS", 10, minimum=1)
# A token's last_used_at is rewritten at most this often (one UPDATE, not one per request).
PRIVATE_APP_TOUCH_SECONDS = 60

# The browser extension (extensions/chrome/): its origins, e.g. chrome-extension://<id>, may call
# /api/v1/ cross-origin (with a Bearer token, never cookies) and be handed a token by the
# connect page. Nothing else gets CORS.
EXTENSION_ORIGINS = env_list("EXTENSION_ORIGINS", [])
for _origin in EXTENSION_ORIGINS:
    if not re.fullmatch(r"chrome-extension://[a-p]{32}", _origin):
        raise ImproperlyConfigured(f"EXTENSION_ORIGINS: {_origin!r} is not chrome-extension://<32-letter id>")
CORS_ALLOWED_ORIGINS = EXTENSION_ORIGINS
CORS_URLS_REGEX = r"^/api/v1/.*$"
CORS_ALLOW_CREDENTIALS = False

# The mailbox circuit breaker (mailboxes_app.breaker): sending pauses when, over the last 24 hours,
# hard bounces pass this percentage of at least this many sends, or complaints reach this count.
BOUNCE_BREAKER_PERCENT = env_int("BOUNCE_BREAKER_PERCENT", 8)
BOUNCE_BREAKER_MIN_SENDS = env_int("BOUNCE_BREAKER_MIN_SENDS", 20)
COMPLAINT_BREAKER_COUNT = env_int("COMPLAINT_BREAKER_COUNT", 2)

# --- REST API ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        # `Authorization: Bearer <private app token>`, with the token's nudge.api.* scopes.
        "config.api.authentication.PrivateAppAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "config.api.pagination.PageNumberPagination",
    "EXCEPTION_HANDLER": "config.api.errors.api_exception_handler",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Throttles tell clients apart by address: X-Forwarded-For only behind the configured proxy.
    "NUM_PROXIES": NUM_PROXIES,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Nudge API",
    "DESCRIPTION": "Sequences, enrollments and CRM records of a self-hosted Nudge portal.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's files come from the drf-spectacular-sidecar package (static files), not a CDN:
    # the docs work on a machine without internet access.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        # Error responses with the envelope on every operation; fields not everyone gets are optional.
        "config.api.schema.declare_errors",
    ],
    # One name per choice set (choice sets shared by several fields, or fields of one name with different sets).
    "ENUM_NAME_OVERRIDES": {
        "MailboxSecurityEnum": "mailboxes_app.models.Security",
        "MailboxStatusEnum": "mailboxes_app.models.Mailbox.Status",
        "StepTypeEnum": "sequences_app.models.StepType",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"tick_chatter_to_debug": {"()": "config.logs.TickChatterToDebug"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # flufl.bounce narrates every bounce it parses at INFO.
        "flufl.bounce": {"level": "WARNING"},
        # axes narrates every failed login at INFO.
        "axes": {"level": "WARNING"},
        # Beat's "Sending due task" and the worker's "received"/"succeeded" for the ticks, every 2 s.
        **{
            name: {"filters": ["tick_chatter_to_debug"]}
            for name in ("celery.beat", "celery.worker.strategy", "celery.app.trace")
        },
    },
}
