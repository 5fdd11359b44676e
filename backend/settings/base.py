"""Settings shared by every environment.

The defaults are the *embedded* configuration: a SQLite file (WAL mode) and kombu's filesystem
transport as the Celery broker, so the service, a real worker and beat run on a machine with only
Python. Production and CI point ``DATABASE_URL`` at PostgreSQL and ``REDIS_URL`` at Redis.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import django_stubs_ext

from backend.client_ip import parse_trusted_proxies
from backend.settings import env as cfg

# Lets admin.ModelAdmin[Episode] and friends be subscripted at run time, as the type stubs allow.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(cfg.env.str("DIARY_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = cfg.boolean("DEBUG", default=False)
# Only used by the embedded default; production.py requires a real one.
SECRET_KEY = cfg.env.str("DJANGO_SECRET_KEY", default="dev-only-insecure-key-0f8a7c3e91b24d6fa5e2c7d9b1e4f3a2")
# Which X-Forwarded-For hop is the client (backend/client_ip.py): empty, the socket's peer is the
# client and the header is ignored; a hop count ("1": one reverse proxy in front); or the proxies'
# addresses and networks ("10.0.0.0/8,192.168.1.7": the right-most hop that is not one of them).
TRUSTED_PROXIES = parse_trusted_proxies(cfg.env.str("TRUSTED_PROXIES", default=""))
ALLOWED_HOSTS = cfg.host_list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = cfg.env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from here, not a CDN (a strict CSP)
    "diary.accounts",
    "diary",
    "diary.notifications",
    "reminders",
]

MIDDLEWARE = [
    "backend.logs.RequestLogMiddleware",  # outermost: it sees every answer, 500s and 503s included
    "django.middleware.security.SecurityMiddleware",
    "backend.middleware.ApiNoStoreMiddleware",
    "backend.middleware.SecurityHeadersMiddleware",  # CSP everywhere, no-store on clinician pages
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "backend.middleware.DatabaseUnavailableMiddleware",  # innermost: a view's database error -> 503
]

# Paths answer with and without a trailing slash (mobile clients do not follow redirects with a
# body), so Django must never redirect to add one.
APPEND_SLASH = False
ROOT_URLCONF = "backend.urls"
WSGI_APPLICATION = "backend.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "backend" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": cfg.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'diary.sqlite3'}")}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # Web, worker and beat write to one file at once: WAL lets readers run beside the writer, and
    # IMMEDIATE transactions take the write lock at BEGIN, so a transaction never has to upgrade
    # a read lock (the upgrade is what fails with "database is locked" despite the busy timeout).
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": cfg.integer("SQLITE_TIMEOUT", 30, minimum=1),  # seconds a writer waits for the lock
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", cfg.integer("DB_CONN_MAX_AGE", 60, minimum=0))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Redis, cache, Celery -------------------------------------------------------------------
REDIS_URL = cfg.env.str("REDIS_URL", default="")
if REDIS_URL:
    cfg.url("REDIS_URL", REDIS_URL, schemes=("redis", "rediss", "unix"))
    CACHES = {
        "default": {
            # Throttles and caches must never turn a write into a 500 while Redis is down.
            "BACKEND": "backend.cache.FailOpenRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = cfg.env.str("CELERY_BROKER_URL", default="") or REDIS_URL or "filesystem://"
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport, made unable to deliver half a message (backend/filebroker.py).
    CELERY_BROKER_TRANSPORT = "backend.filebroker:Transport"
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "bad_folder": str(_broker_dir / "bad"),  # unreadable messages, set aside
        "store_processed": False,
        # The filesystem transport polls its folder; the default 1 s makes a backlog crawl.
        "polling_interval": 0.1,
    }
else:
    cfg.url("CELERY_BROKER_URL", CELERY_BROKER_URL, schemes=("redis", "rediss", "amqp", "unix"))
    if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        # kombu's Redis transport, made to survive Redis restarting while a task runs (backend/broker.py).
        CELERY_BROKER_TRANSPORT = "backend.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
        # Must exceed the longest task so Redis does not hand an unacked task to a second worker.
        "visibility_timeout": 3600,
        # BRPOP over the queues in a fixed order, every time (kombu's default rotates them): alerts,
        # then beat's jobs, then the rest (backend/broker.py).
        "queue_order_strategy": "backend.broker:QueueOrder",
    }
# Red-flag evaluation and alert pushes have a Celery queue of their own, taken first by every worker
# (backend/celery.py lists the queues; backend/broker.py orders them; diary/outbox/routes.py URGENT
# says which handlers), so they never wait behind a backlog of insights, reminders and nightly work
# (ARCHITECTURE.md, Flows 5).
URGENT_QUEUE = "alerts"
# Celery's Django fixup closes every database connection before and after each task unless
# DB_REUSE_MAX is set: each task then opened a new PostgreSQL connection (and the server a new
# process), most of what a task that does nothing costs the worker (README, Architecture, "Workers
# keep their database connection"). The count is set beyond reach; backend/celery.py closes a
# connection when Django would after a request instead.
CELERY_DB_REUSE_MAX = 2**62
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Publishing happens after commit; the outbox sweeper re-sends what could not be published, so a
# request never waits long on a broker that is down.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- REST framework -----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "diary.accounts.revocation.EpochJWTAuthentication",  # JWT plus the per-account epoch
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["backend.api.renderers.ORJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["backend.api.parsers.ORJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "backend.api.errors.exception_handler",
    # Every API view counts requests per person (per address when anonymous); auth and redeem views
    # add their own stricter scopes. Generous: an offline backlog syncs in a handful of requests.
    # Counted atomically in Redis, per real client address (diary/accounts/throttles.py).
    "DEFAULT_THROTTLE_CLASSES": ["diary.accounts.throttles.PersonThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": cfg.env.str("THROTTLE_USER", default="1200/min"),
        "auth": cfg.env.str("THROTTLE_AUTH", default="20/min"),
        "auth_burst": cfg.env.str("THROTTLE_AUTH_BURST", default="5/sec"),
        "redeem": cfg.env.str("THROTTLE_REDEEM", default="30/hour"),  # per address (a clinic shares one)
        "redeem_user": cfg.env.str("THROTTLE_REDEEM_USER", default="10/hour"),  # per clinician account
        # per address, every request to a doctor link (valid or not): a doctor opens its page and PDF
        "report_link": cfg.env.str("THROTTLE_REPORT_LINK", default="60/hour"),
        # Failed sign-ins per account (web, admin and API token), whatever the address; both must hold:
        # a few tries an hour, then a longer cool-off for a day (diary/accounts/signin_limits.py).
        "signin_account": cfg.env.str("THROTTLE_SIGNIN_ACCOUNT", default="10/hour"),
        "signin_account_day": cfg.env.str("THROTTLE_SIGNIN_ACCOUNT_DAY", default="30/day"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=cfg.integer("JWT_ACCESS_MINUTES", 15, minimum=1)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=cfg.integer("JWT_REFRESH_DAYS", 30, minimum=1)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "SIGNING_KEY": SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Spasm diary API",
    "DESCRIPTION": (
        "REST and sync API of the muscle spasm, cramp and twitch diary. Every 4xx answers "
        '`{"error": <code>, "message": <text>, "details": {<field>: [<reason>]}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "EpisodeKindEnum": "diary.vocab.EPISODE_KINDS",
        "ReminderKindEnum": "reminders.spec.REMINDER_KINDS",
        "NotificationKindEnum": "diary.notifications.spec.NOTIFICATION_KINDS",
    },
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # validatorUrl null: Swagger UI's default badge loads an image from validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_DIST": "SIDECAR",
}

# --- Email ---------------------------------------------------------------------------------
# Where mail goes, as one URL (backend/settings/env.py email_url): smtp+tls://user:password@host:587,
# smtp+ssl://user:password@host:465, or consolemail:// (printed; the embedded default and
# development). Production refuses anything but SMTP (production.py). Mail leaves from outbox
# workers (diary/notifications/email.py), never from a request.
_MAIL = cfg.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _MAIL["EMAIL_BACKEND"]
EMAIL_HOST = _MAIL["EMAIL_HOST"]
EMAIL_PORT = _MAIL["EMAIL_PORT"]
EMAIL_HOST_USER = _MAIL["EMAIL_HOST_USER"]
EMAIL_HOST_PASSWORD = _MAIL["EMAIL_HOST_PASSWORD"]
EMAIL_USE_TLS = _MAIL["EMAIL_USE_TLS"]
EMAIL_USE_SSL = _MAIL["EMAIL_USE_SSL"]
# Seconds any one SMTP step (connect, TLS, each command) may take: a hung server fails the send
# (the outbox retries it with back-off) instead of holding a worker for ever.
EMAIL_TIMEOUT = cfg.integer("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = cfg.email_address("DEFAULT_FROM_EMAIL", default="Spasm diary <noreply@localhost>")
SERVER_EMAIL = cfg.email_address("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)  # Django's own error mail
PUBLIC_BASE_URL = cfg.env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")

# --- Domain knobs --------------------------------------------------------------------------
# How far in the future a client clock may put an entry before it is refused.
DIARY_CLOCK_SKEW_SECONDS = cfg.integer("DIARY_CLOCK_SKEW_SECONDS", 300, minimum=0)
DIARY_PAGE_SIZE = 50
DIARY_MAX_PAGE_SIZE = 200
OUTBOX_SWEEP_AFTER_SECONDS = cfg.integer("OUTBOX_SWEEP_AFTER_SECONDS", 60, minimum=1)

# Structured logs (backend/logs.py): JSON lines by default, plain text for a terminal (LOG_FORMAT=plain).
LOG_FORMAT = cfg.choice("LOG_FORMAT", "json", ("json", "plain"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request": {"()": "backend.logs.RequestFilter"}},
    "formatters": {
        "json": {"()": "backend.logs.Formatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request"]}},
    "root": {"handlers": ["console"], "level": cfg.env.str("LOG_LEVEL", default="INFO")},
    # SQL with its parameters is personal data: never logged, whatever LOG_LEVEL says.
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Sync (SYNC.md) ---------------------------------------------------------------------------
SYNC_MAX_RECORDS = cfg.integer("SYNC_MAX_RECORDS", 50_000, minimum=1)
# The push body limit (the client cannot split a push): at least 32 MB, for this endpoint only;
# everything else keeps Django's 2.5 MB DATA_UPLOAD_MAX_MEMORY_SIZE.
SYNC_MAX_BODY_BYTES = cfg.integer("SYNC_MAX_BODY_BYTES", 64 * 1024 * 1024, minimum=32 * 1024 * 1024)
SYNC_TOMBSTONE_DAYS = cfg.integer("SYNC_TOMBSTONE_DAYS", 180, minimum=1)
SYNC_MAX_PULL_LIMIT = 50_000
# On SQLite (one writer at a time for the whole file) a push larger than this commits in transactions
# of at most this many records, each a push of its own (diary/sync/push/service.py), so no other writer
# waits for the lock longer than one chunk takes (about a second here) instead of the whole push (a
# 50,000-record push held it past the 30 s busy timeout: "database is locked"). PostgreSQL locks rows
# and keeps every push one transaction.
SYNC_SQLITE_PUSH_CHUNK = cfg.integer("SYNC_SQLITE_PUSH_CHUNK", 2_000, minimum=1)
# On PostgreSQL a push body is read, planned and COPYed this many records at a time, in its one
# transaction (diary/sync/push/stream.py): a 50,000-record push never holds all its records at once.
SYNC_PUSH_CHUNK = cfg.integer("SYNC_PUSH_CHUNK", 2_000, minimum=1)
# A body up to this size is parsed whole (orjson, the fastest: a whole-body parse of 8 MB builds some
# tens of MB of records at most); only a larger one is streamed, which costs more CPU per record.
SYNC_STREAM_ABOVE_BYTES = cfg.integer("SYNC_STREAM_ABOVE_BYTES", 8 * 1024 * 1024, minimum=0)

# --- Pattern detection ----------------------------------------------------------------------
# How much history the analysis reads: up to five years (trigger statistics gain power with every
# check-in day; the frequency, duration and timing sections look at the last 7, 28 and 90 days).
INSIGHTS_WINDOW_DAYS = cfg.integer("INSIGHTS_WINDOW_DAYS", 5 * 366, minimum=28)

# --- Reminders and push (a platform is enabled when its settings are complete) -------------------
NOTIFICATION_RETENTION_DAYS = cfg.integer("NOTIFICATION_RETENTION_DAYS", 90, minimum=1)
GLASS_ML = cfg.integer("GLASS_ML", 250, minimum=1)  # a "done" on a hydration reminder logs one glass
PUSH_BATCH_SIZE = 100  # deliveries per push task
# A worker that dies mid-send gives its pushes back after this (must exceed a batch's sends).
PUSH_LEASE_SECONDS = cfg.integer("PUSH_LEASE_SECONDS", 300, minimum=1)
# Tests and local development may point Web Push at a loopback push service; production never.
PUSH_ALLOW_LOOPBACK_ENDPOINTS = cfg.boolean("PUSH_ALLOW_LOOPBACK_ENDPOINTS", False)
VAPID_PRIVATE_KEY = cfg.env.str("VAPID_PRIVATE_KEY", default=None)
VAPID_SUBJECT = cfg.env.str("VAPID_SUBJECT", default=None)
FCM_CREDENTIALS_FILE = cfg.env.str("FCM_CREDENTIALS_FILE", default=None)
FCM_PROJECT_ID = cfg.env.str("FCM_PROJECT_ID", default=None)
FCM_ENDPOINT = cfg.env.str("FCM_ENDPOINT", default="https://fcm.googleapis.com")
APNS_KEY_FILE = cfg.env.str("APNS_KEY_FILE", default=None)
APNS_KEY_ID = cfg.env.str("APNS_KEY_ID", default=None)
APNS_TEAM_ID = cfg.env.str("APNS_TEAM_ID", default=None)
APNS_TOPIC = cfg.env.str("APNS_TOPIC", default=None)
APNS_USE_SANDBOX = cfg.boolean("APNS_USE_SANDBOX", False)
APNS_HOST = cfg.env.str("APNS_HOST", default=None)
APNS_CA_FILE = cfg.env.str("APNS_CA_FILE", default=None)
