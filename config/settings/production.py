"""Production: DEBUG off, SECRET_KEY required, secure cookies, HSTS. `check --deploy` is clean.

The proxy's X-Forwarded-Proto is trusted only with SEGMENTA_BEHIND_PROXY=1 (base settings); /healthz answers
over plain HTTP (SECURE_REDIRECT_EXEMPT) for load-balancer probes.
"""

from config.env import env_bool, env_int, env_str

from .base import *  # noqa: F403

DEBUG = False
SECRET_KEY = env_str("SECRET_KEY", required=True)
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("insecure"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("SECRET_KEY: must be at least 50 random characters in production")

SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SEGMENTA_ALLOW_DEMO_USER = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
