"""A Celery worker started by the test suite: base settings, with the test process's DATABASE_URL."""

from .base import *  # noqa: F403

# The worker keeps its cache to itself, as the test process does (never a shared Redis database of other runs).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
