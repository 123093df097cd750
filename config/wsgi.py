"""The WSGI application for a production server (gunicorn: see config/gunicorn.conf.py and the README).

Without DJANGO_SETTINGS_MODULE it runs the production settings (DEBUG off, SECRET_KEY required): a server
is never started on development settings by accident. `make run` uses the development server instead.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = get_wsgi_application()
