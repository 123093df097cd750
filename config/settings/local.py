"""Local development: the defaults `make run` uses (SQLite, embedded broker)."""

from config.env import env_bool

from .base import *  # noqa: F403

DEBUG = env_bool("DJANGO_DEBUG", True)

if DEBUG:
    # Static files straight from the finders, compressed on the fly (collectstatic does it in production).
    MIDDLEWARE = [*MIDDLEWARE]  # noqa: F405
    MIDDLEWARE.insert(
        MIDDLEWARE.index("whitenoise.middleware.WhiteNoiseMiddleware"), "core.devstatic.CompressStaticMiddleware"
    )
