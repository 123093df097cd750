#!/usr/bin/env bash
# Start the Celery worker and the web server together; Ctrl-C stops both.
set -euo pipefail
host=${1:-127.0.0.1}
port=${2:-8000}
cd "$(dirname "$0")/.."
var=${SEGMENTA_VAR_DIR:-var}
# The development settings, named (the entry points otherwise default to production).
export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-config.settings.local}
mkdir -p "$var"
.venv/bin/celery -A config worker --loglevel INFO --concurrency 1 \
  -Q "${CELERY_TASK_DEFAULT_QUEUE:-segmenta}" --beat > "$var/worker.log" 2>&1 &
worker=$!
trap 'kill $worker 2>/dev/null; wait $worker 2>/dev/null' EXIT INT TERM
echo
echo "  Segmenta is starting at http://$host:$port/"
echo "  Log in as: demo / ${DEMO_PASSWORD:-demo}"
echo "  Celery worker log: $var/worker.log (pid $worker)"
echo
.venv/bin/python manage.py runserver "$host:$port"
