"""Settings shared by every environment. Values come from the environment (see README)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# Local state (SQLite file, broker folder, beat schedule). Settings never create folders: `make migrate`
# creates this one, the Celery app creates the broker's, and `collectstatic` creates STATIC_ROOT.
VAR_DIR = Path(env_str("SEGMENTA_VAR_DIR", str(BASE_DIR / "var")))

SECRET_KEY = env_str("SECRET_KEY", "insecure-local-development-key-not-for-production")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])  # the tests add "testserver"
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",  # runserver leaves static files to whitenoise, as in production
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "customers",
    "segmentation",
    "campaigns",
    "django_celery_beat",
    "axes",  # login throttling: failed attempts per username + IP, in the database
    "csp",  # Content-Security-Policy header (settings: CONTENT_SECURITY_POLICY)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Pages and API answers gzipped (Django adds random bytes against BREACH); static files come compressed
    # from whitenoise, which GZip leaves alone.
    "django.middleware.gzip.GZipMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.middleware.RejectNulBytesMiddleware",
    "core.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: turns a locked-out login into the lockout page
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.roles",
            ],
        },
    }
]


# Seconds a web thread or worker keeps its database connection between requests. Opening a PostgreSQL connection
# per request (a new server process each time) cost the dashboard a third of its throughput at 1M customers; a
# kept connection is checked before reuse (CONN_HEALTH_CHECKS). Each gunicorn thread holds one: workers x threads
# connections per host (README, "Running in production").
_CONN_MAX_AGE_DEFAULT = {"django.db.backends.postgresql": 60, "django.db.backends.sqlite3": 0}


def _database_from_url(url: str) -> dict:
    try:
        config = dj_database_url.parse(url)
    except Exception as exc:  # dj-database-url raises several types for bad URLs
        raise ImproperlyConfigured(
            f"DATABASE_URL: expected sqlite:///path or postgres://user@host:port/db; got {url!r} ({exc})"
        ) from None
    engine = config.get("ENGINE", "")
    if engine not in ("django.db.backends.sqlite3", "django.db.backends.postgresql"):
        raise ImproperlyConfigured(f"DATABASE_URL: only sqlite and postgres are supported; got {url!r}")
    config["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", _CONN_MAX_AGE_DEFAULT[engine], minimum=0)
    config["CONN_HEALTH_CHECKS"] = config["CONN_MAX_AGE"] > 0
    if engine == "django.db.backends.sqlite3":
        # A worker process and the web server share the file: WAL lets readers
        # proceed while one writer commits, and IMMEDIATE avoids upgrade deadlocks.
        config["OPTIONS"] = {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    return config


DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'segmenta.sqlite3'}")
DATABASES = {"default": _database_from_url(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "segmentation:dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
]
# After `collectstatic` with the manifest storage (always in production; SEGMENTA_STATIC_MANIFEST=1 elsewhere)
# whitenoise serves every static file as brotli or gzip under a content-hashed name cached for a year.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("SEGMENTA_STATIC_MANIFEST", False)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Uploads: files larger than this are refused before parsing (bytes).
SEGMENTA_MAX_UPLOAD_BYTES = env_int("SEGMENTA_MAX_UPLOAD_BYTES", 200 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Order lines whose product code is one of these are not products sold (postage, fees, manual
# adjustments, discounts, samples): they are kept and marked. Compared in upper case; comma-separated.
SEGMENTA_NON_PRODUCT_CODES = env_list(
    "SEGMENTA_NON_PRODUCT_CODES",
    ["POST", "DOT", "M", "C2", "D", "S", "B", "CRUK", "PADS", "BANK CHARGES", "AMAZONFEE", "ADJUST", "ADJUST2"],
)

# Segment runs
SEGMENTA_RUN_TIME_LIMIT = env_int("SEGMENTA_RUN_TIME_LIMIT", 3600, minimum=10)
SEGMENTA_RUN_STUCK_AFTER = env_int("SEGMENTA_RUN_STUCK_AFTER", 2 * 3600, minimum=60)
# A running segment run whose heartbeat (written every SEGMENTA_RUN_HEARTBEAT s by its worker) is older than
# SEGMENTA_RUN_SILENT_AFTER s is re-queued (or failed past SEGMENTA_RUN_MAX_ATTEMPTS) by the reaper, which
# beat runs every SEGMENTA_RUN_REAP_EVERY s: a whole worker killed is noticed within a few minutes.
SEGMENTA_RUN_HEARTBEAT = env_int("SEGMENTA_RUN_HEARTBEAT", 15, minimum=1)
SEGMENTA_RUN_SILENT_AFTER = env_int("SEGMENTA_RUN_SILENT_AFTER", 180, minimum=3 * SEGMENTA_RUN_HEARTBEAT)
SEGMENTA_RUN_REAP_EVERY = env_int("SEGMENTA_RUN_REAP_EVERY", 60, minimum=1)
SEGMENTA_RUN_RETENTION = env_int("SEGMENTA_RUN_RETENTION", 20, minimum=1)
# A redelivered run may be taken over when its worker is gone or silent this long (s); attempts are capped.
SEGMENTA_RUN_RECLAIM_AFTER = env_int("SEGMENTA_RUN_RECLAIM_AFTER", 600, minimum=30)
SEGMENTA_RUN_MAX_ATTEMPTS = env_int("SEGMENTA_RUN_MAX_ATTEMPTS", 3, minimum=1)
SEGMENTA_RUN_BUSY_RETRY = env_int("SEGMENTA_RUN_BUSY_RETRY", 10, minimum=1)
# A queued run waits (retrying, backing off to once a minute) while another run of its segmentation runs,
# and is failed with the reason once queued longer than SEGMENTA_RUN_WAIT_LIMIT s. A queued run with no
# sign of a message for SEGMENTA_RUN_QUEUED_STALE s (no worker looked at it) is sent again by the reaper.
SEGMENTA_RUN_WAIT_LIMIT = env_int("SEGMENTA_RUN_WAIT_LIMIT", 2 * SEGMENTA_RUN_TIME_LIMIT + 600, minimum=10)
SEGMENTA_RUN_QUEUED_STALE = env_int("SEGMENTA_RUN_QUEUED_STALE", 600, minimum=10)

# Celery: Redis when CELERY_BROKER_URL is set, otherwise kombu's filesystem
# transport, which needs no server.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://localhost/")


def filesystem_broker_options(folder: Path) -> dict:
    """Transport options of kombu's filesystem broker rooted at `folder` (the Celery app creates the folders)."""
    return {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),
        "store_processed": False,
    }


if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker_options(
        Path(env_str("CELERY_BROKER_FOLDER", str(VAR_DIR / "broker")))
    )
elif not CELERY_BROKER_URL.startswith(("redis://", "rediss://", "amqp://")):
    raise ImproperlyConfigured(
        f"CELERY_BROKER_URL: expected redis://host:port/db or empty for the embedded broker; got {CELERY_BROKER_URL!r}"
    )
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Redis hands an unacknowledged message (acks_late) to another worker after visibility_timeout: sized to
    # the run's hard time limit plus a margin (a live run outlasting it is only seen as a duplicate by the
    # claim). A worker killed whole is noticed sooner by the heartbeat and the reaper (above).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": SEGMENTA_RUN_TIME_LIMIT + 60 + 120}
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "segmenta")
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = SEGMENTA_RUN_TIME_LIMIT
CELERY_TASK_TIME_LIMIT = SEGMENTA_RUN_TIME_LIMIT + 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
# Periodic tasks live in the database (django-celery-beat): each segmentation's schedule, and the
# housekeeping declared in config/celery.py.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": env_str("API_RATE_LIMIT", "1000/hour"),
        "export": env_str("API_EXPORT_RATE_LIMIT", "120/hour"),
    },
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    # JSON nested deeper than core.parsers.JSON_MAX_DEPTH is a 400, not a RecursionError (issue 14)
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Segmenta API",
    "DESCRIPTION": (
        "Segments, runs, campaigns and campaign audiences.\n\n"
        "Send `Authorization: Token <key>` (an Admin creates a token with `python manage.py drf_create_token USER` "
        "and revokes it in the admin), or use your browser session. Without credentials the API answers 401; "
        'without the permission, 403. Errors are JSON: `{"error": {"code": ..., "message": ...}}`. '
        "Lists use cursor pagination (`next` / `previous` links, `page_size`)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "demo")
SEGMENTA_ALLOW_DEMO_USER = True


# --- Web hardening (issue 14): login throttling, shared cache and throttles, proxy, CSP, email ---------------

# Login throttling (django-axes) on the app and admin logins: after LOGIN_FAILURE_LIMIT wrong passwords for one
# username from one IP address, that pair is locked out for LOGIN_LOCKOUT_MINUTES (attempts live in the database,
# so every web process sees them). A right password resets the count.
AUTHENTICATION_BACKENDS = [
    "core.login_throttle.LoginThrottleBackend",
    "core.permissions.OneQueryPermissionBackend",  # a user's permissions in one query (core/permissions.py)
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env_bool("LOGIN_THROTTLE", True)
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False

# Behind a reverse proxy (nginx, a load balancer) that sets X-Forwarded-Proto and X-Forwarded-For: only then are
# those headers trusted (HTTPS detection, and the client IP that login throttling counts).
SEGMENTA_BEHIND_PROXY = env_bool("SEGMENTA_BEHIND_PROXY", False)
SEGMENTA_PROXY_COUNT = env_int("SEGMENTA_PROXY_COUNT", 1, minimum=1)  # proxies in front of the app that append XFF
AXES_CLIENT_IP_CALLABLE = "core.login_throttle.client_ip"
if SEGMENTA_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# The health check answers over plain HTTP too (load balancers probe it without TLS).
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]


# The cache holds API throttles, login-independent counters and page fragments. It must be shared by every web
# process (else each process has its own limits, reset on restart): Redis when REDIS_URL / CACHE_URL name one or
# the broker is Redis (its next database number), else the database on PostgreSQL, else files under VAR_DIR.
# CACHE_URL: redis://host:port/db, db:// (the database's cache table), file:///path, locmem:// (one process only).
def cache_from_url(url: str) -> dict:
    if url.startswith(("redis://", "rediss://")):
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url, "KEY_PREFIX": "segmenta"}
    if url == "db://":
        return {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "segmenta_cache"}
    if url.startswith("file://") and len(url) > len("file://"):
        return {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": url[len("file://") :]}
    if url == "locmem://":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    raise ImproperlyConfigured(
        f"CACHE_URL: expected redis://host:port/db, db://, file:///path or locmem://; got {url!r}"
    )


def _broker_cache_url(broker: str) -> str:
    """The broker's Redis server, one database number up (so clearing the cache never touches the queues)."""
    base, _, db = broker.rpartition("/")
    return f"{base}/{int(db) + 1 if db.isdigit() else 1}"


def _default_cache_url() -> str:
    explicit = env_str("CACHE_URL") or env_str("REDIS_URL")
    if explicit:
        return explicit
    if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        return _broker_cache_url(CELERY_BROKER_URL)
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        return "db://"
    return f"file://{VAR_DIR / 'cache'}"


CACHE_URL = _default_cache_url()
CACHES = {"default": cache_from_url(CACHE_URL)}
# Sessions are rows in the database (Django's default), so any web process reads any session.
SESSION_ENGINE = "django.contrib.sessions.backends.db"


def throttle_rate_validate(name: str, value: str) -> str:
    """'1000/hour': a whole number, a slash, and second/minute/hour/day (or s/m/h/d), as the API throttles read it."""
    number, _, period = value.strip().partition("/")
    if not number.isdecimal() or int(number) < 1 or period.strip().lower() not in _THROTTLE_PERIODS:
        raise ImproperlyConfigured(
            f"{name}: expected requests per period like 1000/hour (period second, minute, hour or day); got {value!r}"
        )
    return value.strip()


_THROTTLE_PERIODS = {"s", "sec", "second", "m", "min", "minute", "h", "hour", "d", "day"}
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    name: throttle_rate_validate(variable, rate)
    for (name, rate), variable in zip(
        REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].items(), ("API_RATE_LIMIT", "API_EXPORT_RATE_LIMIT"), strict=True
    )
}

from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE  # noqa: E402 - beside the policy it serves

# Content-Security-Policy: scripts only from this site, and inline scripts only with the request's nonce
# ({{ request.csp_nonce }}); Plotly is served from our static files. Inline style attributes stay allowed
# (segment colours, Plotly's own layout).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Email: password reset is offered only when an SMTP server is configured (EMAIL_HOST); otherwise its pages are
# not there at all (a reset that can never arrive is worse than none).
EMAIL_HOST = env_str("EMAIL_HOST")
SEGMENTA_EMAIL_CONFIGURED = bool(EMAIL_HOST)
if SEGMENTA_EMAIL_CONFIGURED:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
    DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "segmenta@localhost")
# Upload limits (issue 14): bodies over the limit are refused before they are read, by
# core.middleware.UploadLimitMiddleware (right after authentication, before the CSRF check reads the
# form). SEGMENTA_MAX_UPLOAD_MB, when set, gives the file limit in MiB instead of bytes.
if env_str("SEGMENTA_MAX_UPLOAD_MB", ""):
    SEGMENTA_MAX_UPLOAD_BYTES = env_int("SEGMENTA_MAX_UPLOAD_MB", 200, minimum=1) * 1024 * 1024
SEGMENTA_MAX_REQUEST_BYTES = SEGMENTA_MAX_UPLOAD_BYTES + 1024 * 1024  # the file and its form
SEGMENTA_MAX_ANONYMOUS_BODY_BYTES = env_int("SEGMENTA_MAX_ANONYMOUS_BODY_BYTES", 64 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024  # form fields other than files
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "core.middleware.UploadLimitMiddleware",
)
# Customer uploads larger than this are imported by the worker (customers.run_customer_import), which
# stops an import after SEGMENTA_IMPORT_TIME_LIMIT seconds (failed with that reason, nothing written).
SEGMENTA_IMPORT_INLINE_MAX_BYTES = env_int("SEGMENTA_IMPORT_INLINE_MAX_BYTES", 20 * 1024 * 1024, minimum=0)
SEGMENTA_IMPORT_TIME_LIMIT = env_int("SEGMENTA_IMPORT_TIME_LIMIT", 1800, minimum=10)
