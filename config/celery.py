"""The Celery application. Configuration comes from Django settings (CELERY_* names).

Periodic tasks: beat runs with django-celery-beat's DatabaseScheduler, which copies `beat_schedule`
below (the housekeeping, declared only here) into its table next to each segmentation's schedule.
"""

import os
from pathlib import Path

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")  # `make run` sets local

app = Celery("segmenta")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def beat_schedule() -> dict:
    """The housekeeping, declared only here (read once Django's settings are loaded)."""
    from django.conf import settings

    return {
        # Runs nobody will finish: re-queue or fail running runs whose worker went silent
        # (SEGMENTA_RUN_SILENT_AFTER), re-send or fail queued runs with no live message
        # (SEGMENTA_RUN_QUEUED_STALE, SEGMENTA_RUN_WAIT_LIMIT). Every minute by default.
        "segmentation-reap-stuck-runs": {
            "task": "segmentation.reap_stuck_runs",
            "schedule": float(settings.SEGMENTA_RUN_REAP_EVERY),
        },
        # Delete finished runs beyond SEGMENTA_RUN_RETENTION per segmentation (never active or pinned ones).
        "segmentation-prune-runs": {"task": "segmentation.prune_runs", "schedule": crontab(minute=30, hour=3)},
        # Fail order imports whose worker died (SEGMENTA_RUN_STUCK_AFTER).
        "customers-reap-stuck-order-imports": {"task": "customers.reap_stuck_order_imports", "schedule": 300.0},
        # Fail customer imports whose worker died (SEGMENTA_IMPORT_TIME_LIMIT + 120 s running, or queued too long).
        "customers-reap-stuck-customer-imports": {"task": "customers.reap_stuck_customer_imports", "schedule": 300.0},
        # Train, evaluate and store product recommendations nightly (skipped while one is queued or running).
        "campaigns-recommendations": {
            "task": "campaigns.recommendation_run_scheduled",
            "schedule": crontab(minute=0, hour=4),
        },
    }


FILESYSTEM_BROKER_FOLDERS = ("data_folder_in", "data_folder_out", "processed_folder", "control_folder")


def broker_folders_create(celery_app: Celery) -> None:
    """Create the folders of the embedded (filesystem) broker; settings only name them."""
    if not str(celery_app.conf.broker_url or "").startswith("filesystem://"):
        return
    options = celery_app.conf.broker_transport_options or {}
    for key in FILESYSTEM_BROKER_FOLDERS:
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)


@app.on_after_configure.connect
def _on_configure(sender: Celery, **kwargs: object) -> None:
    """Once the settings are read: the embedded broker's folders, and the beat schedule."""
    broker_folders_create(sender)
    sender.conf.beat_schedule = beat_schedule()
