"""Settings for the test suite. DATABASE_URL / CELERY_BROKER_URL still apply (CI sets them)."""

import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import DATABASES, VAR_DIR, filesystem_broker_options

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The SQLite test database is a file (not memory) so that a real Celery worker
# process can open it; one per test process so parallel runs do not collide.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]  # noqa: F405 - Django's test client
# One cache per test process (tests clear it); the shared caches are tested with explicit clients.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"user": "100000/hour", "export": "100000/hour"}}  # noqa: F405
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Tasks enqueued by tests that run no worker go to a queue (and, for the filesystem
# broker, a folder) of this test process only, never to the queue a local worker serves.
# The `celery_worker` fixture points its worker and the app at a fresh queue of its own.
CELERY_TASK_DEFAULT_QUEUE = f"segmenta-test-{os.getpid()}"
if CELERY_BROKER_URL.startswith("filesystem://"):  # noqa: F405
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker_options(
        Path(tempfile.gettempdir()) / f"segmenta-test-broker-{os.getpid()}"
    )
