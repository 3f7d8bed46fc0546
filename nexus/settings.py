"""Django settings for Nexus.

Every value that differs between machines comes from the environment through
`nexus.env`; `.env.example` at the repository root lists each variable with its
default and meaning. Without `DATABASE_URL` and `REDIS_URL` Nexus runs in its
embedded mode: SQLite, an in-memory channel layer and cache, celery tasks run
in the web process, and an in-process scheduler fires the periodic jobs.
"""

import os
import tempfile
from pathlib import Path

import dj_database_url
from celery.schedules import crontab

from nexus.env import env_bool, env_int, env_list, env_str
from nexus.secret import secret_key_in

BASE_DIR = Path(__file__).resolve().parent.parent

# Off unless asked for: `make run` is what people put on a plant network, and Django's debug pages list
# every URL pattern and setting. `make dev` (DJANGO_DEBUG=1) is for debugging.
DEBUG = env_bool("DJANGO_DEBUG", False)
# What this installation keeps besides its database: the generated secret key (nexus.secret).
DATA_DIR = Path(env_str("NEXUS_DATA_DIR", str(BASE_DIR / "data"))).resolve()
# DJANGO_SECRET_KEY wins; without it a key is generated once into DATA_DIR and reused on every start.
SECRET_KEY = env_str("DJANGO_SECRET_KEY") or secret_key_in(DATA_DIR)
# The host names this server answers to. `manage.py serve` (make run) adds the machine's own names and
# addresses when this is unset, so the hub answers at http://<its IP>:8000/ on the plant network.
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")
# 1 when the hub is reached over HTTPS (TLS here or at a proxy): secure cookies, redirect to https, HSTS.
# Off by default, because a hub on a LAN is usually reached over plain http and secure cookies would
# never be sent back there, so nobody could log in.
NEXUS_HTTPS = env_bool("NEXUS_HTTPS", False)
# The port the pages' JavaScript opens the socket on, when the socket is served apart from the pages
# (`manage.py serve` with Redis sets it for its gunicorn). Unset: the page's own host and port.
NEXUS_SOCKET_PORT = env_int("NEXUS_SOCKET_PORT", 0) or None

SITE_NAME = env_str("NEXUS_SITE_NAME", "Nexus")
SITE_ROOT = env_str("NEXUS_SITE_ROOT", "http://127.0.0.1:8000")
NEXUS_OPEN_SIGNUP = env_bool("NEXUS_OPEN_SIGNUP", True)
NEXUS_INVITATION_DAYS = env_int("NEXUS_INVITATION_DAYS", 7)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "django_htmx",
    "template_partials",
    "ninja",
    "notifications",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "nexus",
    "accounts",
    "activities",
    "projects",
    "updates",
    "chat",
    "machines",
    "telemetry",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "nexus.tenancy.OrganizationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, so its refusals render with the user; it still runs before any view or CSRF check reads the body.
    "nexus.input_guard.InputGuardMiddleware",
]

ROOT_URLCONF = "nexus.urls"
WSGI_APPLICATION = "nexus.wsgi.application"
ASGI_APPLICATION = "nexus.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            # {% icon %} and {% when %} are on every page and in every live fragment.
            "builtins": ["nexus.templatetags.hub"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "nexus.context_processors.nexus",
            ],
        },
    },
]

# Database: PostgreSQL through DATABASE_URL in production, SQLite by default.
DATABASE_URL = env_str("DATABASE_URL", "") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web process serves requests from several threads; IMMEDIATE transactions
    # and WAL keep concurrent writers from failing with "database is locked".
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so the browser tests' server process sees the tests' data;
    # one per process, so two test runs on one machine never share it.
    DATABASES["default"]["TEST"] = {"NAME": str(Path(tempfile.gettempdir()) / f"nexus-test-{os.getpid()}.sqlite3")}
elif (pool_size := env_int("DATABASE_POOL_SIZE", 10)) > 0:
    # A bounded pool of connections per process (psycopg's pool). Under ASGI every
    # concurrent request runs in its own thread with its own connection, so without a
    # bound a burst of requests opened more connections than PostgreSQL allows and
    # failed with "too many clients"; with it the burst queues for a free connection.
    # Size it so that DATABASE_POOL_SIZE x processes stays below the server's
    # max_connections (README, "Connections"). The pool replaces persistent connections.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(2, pool_size),
        "max_size": pool_size,
        # How long a request waits for a connection before it fails (503).
        "timeout": float(env_int("DATABASE_POOL_TIMEOUT", 30)),
        "max_idle": 300.0,
    }
    # The pool checks a connection before handing it out, so a restarted server costs no errors.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    # No pool (DATABASE_POOL_SIZE=0): for a pooler in front, such as PgBouncer.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis serves as cache, channel layer and celery broker. Unset means embedded mode.
REDIS_URL = env_str("REDIS_URL", "") or ""
EMBEDDED = not REDIS_URL

if REDIS_URL:
    CACHES = {
        "default": {
            # One connection pool per process, and a per-process memory cache while
            # Redis is unreachable, so pages and writes never fail because of it.
            "BACKEND": "nexus.cache.FailSoftRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("NEXUS_CACHE_PREFIX", "nexus"),
            "OPTIONS": {
                # Unreachable must mean a quick miss, not a request hanging on a dead host.
                "socket_connect_timeout": 1.0,
                "socket_timeout": 2.0,
            },
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            # The pub/sub layer fans out about six times faster than the list-based
            # RedisChannelLayer on this hardware and never silently drops on a full
            # capacity. Delivery is made reliable by catch-up from the database.
            # channels-redis's pub/sub layer, made to survive a Redis outage (see nexus.layers).
            "BACKEND": "nexus.layers.FailSoftRedisPubSubChannelLayer",
            "CONFIG": {
                # redis-py 8 defaults socket_timeout to 5 s, which kills every idle
                # consumer's subscription connection; idle sockets must wait forever.
                # An unreachable Redis must fail a connection attempt quickly, though.
                "hosts": [{"address": REDIS_URL, "socket_timeout": None, "socket_connect_timeout": 2.0}],
                "prefix": env_str("NEXUS_CHANNEL_PREFIX", "nexus"),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Celery: a real broker with REDIS_URL, otherwise tasks run eagerly in-process
# and `nexus.scheduler` fires the beat schedule inside the web process.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = EMBEDDED
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "purge-expired-invitations": {
        "task": "accounts.tasks.purge_expired_invitations",
        "schedule": crontab(minute=17),
    },
    "mark-overdue-activities": {
        "task": "activities.tasks.mark_overdue_activities",
        "schedule": crontab(minute="*/5"),
    },
    "publish-due-updates": {
        "task": "updates.tasks.publish_due_updates",
        "schedule": 30.0,
    },
    "escalate-unclaimed-incidents": {
        "task": "machines.tasks.escalate_unclaimed_incidents",
        "schedule": 60.0,
    },
}
NEXUS_EMBEDDED_SCHEDULER = env_bool("NEXUS_EMBEDDED_SCHEDULER", EMBEDDED)
NEXUS_HEALTH_CELERY = env_bool("NEXUS_HEALTH_CELERY", not EMBEDDED)

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "accounts.backends.ModelBackend",
    "accounts.backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "account_login"

# django-allauth
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.OrganizationSignupForm"
ACCOUNT_EMAIL_VERIFICATION = env_str("NEXUS_EMAIL_VERIFICATION", "optional")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if NEXUS_HTTPS else "http"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = SITE_NAME

# E-mail: printed to the console unless an SMTP host is configured.
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Nexus <nexus@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# The manifest storage needs `collectstatic` first (the Dockerfile runs it and sets
# this); without it whitenoise serves straight from the source folders.
_STATIC_MANIFEST = env_bool("DJANGO_STATIC_MANIFEST", False)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if _STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not _STATIC_MANIFEST
MEDIA_ROOT = Path(env_str("NEXUS_MEDIA_ROOT", str(BASE_DIR / "media")))
# Media is never served as public files: views check who may see each file.
MEDIA_URL = "/media-protected/"

NEXUS_AVATAR_MAX_BYTES = env_int("NEXUS_AVATAR_MAX_BYTES", 2 * 1024 * 1024)
NEXUS_AVATAR_MAX_PIXELS = env_int("NEXUS_AVATAR_MAX_PIXELS", 25_000_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Chat: upload limits, and how many messages one person may send per window (all tabs and the API).
CHAT_MAX_UPLOAD_BYTES = env_int("NEXUS_CHAT_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
CHAT_MAX_IMAGE_PIXELS = env_int("NEXUS_CHAT_MAX_IMAGE_PIXELS", 40_000_000)
CHAT_RATE_LIMIT = env_int("NEXUS_CHAT_RATE_LIMIT", 30)
CHAT_RATE_WINDOW = env_int("NEXUS_CHAT_RATE_WINDOW", 10)
# Updates: what may be attached, and how large. Types are checked against the file's content.
UPDATES_MAX_FILE_BYTES = env_int("NEXUS_UPDATES_MAX_FILE_BYTES", 20 * 1024 * 1024)
UPDATES_MAX_VIDEO_BYTES = env_int("NEXUS_UPDATES_MAX_VIDEO_BYTES", 50 * 1024 * 1024)  # Videos and audio.
UPDATES_MAX_IMAGE_PIXELS = env_int("NEXUS_UPDATES_MAX_IMAGE_PIXELS", 40_000_000)
UPDATES_MAX_FILES = env_int("NEXUS_UPDATES_MAX_FILES", 10)
UPDATES_ATTACHMENT_TYPES = frozenset(
    env_list(
        "NEXUS_UPDATES_ATTACHMENT_TYPES",
        "application/pdf,text/csv,text/plain,text/markdown,image/png,image/jpeg,image/gif,image/webp,"
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,"
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document,"
        "application/vnd.openxmlformats-officedocument.presentationml.presentation,application/zip",
    )
)
UPDATES_MEDIA_TYPES = frozenset(
    env_list(
        "NEXUS_UPDATES_MEDIA_TYPES",
        "image/png,image/jpeg,image/gif,image/webp,video/mp4,video/webm,"
        "audio/mpeg,audio/mp4,audio/ogg,audio/wav,audio/flac,audio/webm",
    )
)
# Machines: photos of a fault, per report or note, and the largest photo in bytes and pixels.
MACHINES_MAX_PHOTOS = env_int("NEXUS_MACHINES_MAX_PHOTOS", 6)
MACHINES_MAX_PHOTO_BYTES = env_int("NEXUS_MACHINES_MAX_PHOTO_BYTES", 10 * 1024 * 1024)
MACHINES_MAX_PHOTO_PIXELS = env_int("NEXUS_MACHINES_MAX_PHOTO_PIXELS", 40_000_000)
# WebSocket frames from one browser tab: a burst of this many, refilled at this rate per second.
WS_FRAME_BURST = env_int("NEXUS_WS_FRAME_BURST", 40)
WS_FRAME_RATE = env_int("NEXUS_WS_FRAME_RATE", 10)
# The largest WebSocket frame accepted; daphne refuses a larger one from its header, before reading it (close 1009).
WS_MAX_FRAME_BYTES = env_int("NEXUS_WS_MAX_FRAME_BYTES", 64 * 1024)
# Seconds a WebSocket handshake may wait for the server to accept it (daphne's own default is 5).
WS_CONNECT_TIMEOUT = env_int("NEXUS_WS_CONNECT_TIMEOUT", 60)
# Connections the kernel queues for daphne to accept (twisted's default is 50; Linux caps it at net.core.somaxconn).
LISTEN_BACKLOG = env_int("NEXUS_LISTEN_BACKLOG", 4096)

# Security. NEXUS_HTTPS=1 turns on secure cookies, the redirect to https and HSTS; each DJANGO_SECURE_*
# variable still overrides its own. Behind a TLS-terminating proxy also set DJANGO_SECURE_PROXY_SSL_HEADER=1.
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", NEXUS_HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", NEXUS_HTTPS)
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000 if NEXUS_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = NEXUS_HTTPS
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = [
    # HSTS preload is an irreversible decision for the operator, not a default.
    "security.W021",
]

DJANGO_NOTIFICATIONS_CONFIG = {"USE_JSONFIELD": True}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("NEXUS_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
