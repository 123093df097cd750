"""gunicorn, the production WSGI server: `gunicorn -c config/gunicorn.conf.py` (see README, "Running in production").

Every value can be changed from the environment (gunicorn's own GUNICORN_CMD_ARGS too). Request bodies: the
request line and headers are bounded here; the body is bounded by the application (SEGMENTA_MAX_UPLOAD_BYTES and
DATA_UPLOAD_MAX_MEMORY_SIZE, refused from Content-Length before it is read) and by the proxy in front
(nginx `client_max_body_size` set to the same value).
"""

import multiprocessing
import os

wsgi_app = "config.wsgi:application"
raw_env = [f"DJANGO_SETTINGS_MODULE={os.environ.get('DJANGO_SETTINGS_MODULE', 'config.settings.production')}"]

bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")
# Threads let a slow client or a long CSV download hold one thread, not a whole worker. gunicorn's gthread worker,
# except that a worker recycling itself (max_requests) or stopping serves the requests that already reached it
# instead of resetting their connections (config/gunicorn_worker.py).
worker_class = "config.gunicorn_worker.DrainingThreadWorker"
# One process per core, plus one: each process runs Python on one core at a time (its threads wait on the
# database and the network meanwhile). Measured at 1M customers on 2 shared cores (README, "Benchmarks"): 2, 3
# and 5 processes served the pages alike (within the neighbours' noise), 5 with twice the memory of 3.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("WEB_THREADS", 4))
# A request (not a download in progress: gthread workers keep beating) may take this long before its worker is
# restarted; an upload is parsed within it, long work goes to Celery.
timeout = int(os.environ.get("WEB_TIMEOUT", 120))
# A worker that recycles itself (max_requests) or is stopped finishes its requests first, downloads included:
# a 1M-row audience export streams for 15-30 s. Longer ones are cut after this many seconds.
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT", 120))
keepalive = 5
# Recycle workers now and then, so a slow leak never grows without bound.
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", 2000))
max_requests_jitter = 200

# Bounded requests: request line, number of headers, size of one header (gunicorn refuses more with 400).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190

# X-Forwarded-* are trusted only from the proxy, and only when the deployment says there is one.
if os.environ.get("SEGMENTA_BEHIND_PROXY", "").strip().lower() in ("1", "true", "yes", "on"):
    forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
else:
    forwarded_allow_ips = ""

accesslog = os.environ.get("WEB_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()


def post_worker_init(worker) -> None:
    """Before a new worker takes requests: import every view (through the URL patterns) and compile the busiest
    pages' templates, which Django otherwise does on the first requests (over a second each in a fresh worker
    under load: the slowest 1 % of requests while workers recycle)."""
    from django.template.loader import get_template
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports the URL modules and their views
    for name in ("base.html", "segmentation/dashboard.html", "customers/list.html"):
        get_template(name)
