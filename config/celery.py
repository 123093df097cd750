"""The Celery application. Configuration comes from Django settings (CELERY_* names).

Periodic tasks: beat runs with django-celery-beat's DatabaseScheduler, which copies `beat_schedule`
below (the housekeeping, declared only here) into its table next to each segmentation's schedule.
"""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("segmenta")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Fail runs whose worker went silent (SEGMENTA_RUN_STUCK_AFTER).
    "segmentation-reap-stuck-runs": {"task": "segmentation.reap_stuck_runs", "schedule": 300.0},
    # Delete finished runs beyond SEGMENTA_RUN_RETENTION per segmentation (never active or pinned ones).
    "segmentation-prune-runs": {"task": "segmentation.prune_runs", "schedule": crontab(minute=30, hour=3)},
}
