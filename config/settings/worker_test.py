"""A Celery worker started by the test suite: base settings, with the test process's DATABASE_URL."""

from .base import *  # noqa: F403
