"""Celery beat: housekeeping is declared once (config/celery.py), synced by the DatabaseScheduler."""

from __future__ import annotations

import pytest
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import ModelEntry

from config.celery import app

pytestmark = pytest.mark.django_db


def test_housekeeping_is_declared_once_and_synced_by_the_database_scheduler(settings):
    assert settings.CELERY_BEAT_SCHEDULER == "django_celery_beat.schedulers:DatabaseScheduler"
    tasks = {name: entry["task"] for name, entry in app.conf.beat_schedule.items()}
    assert tasks == {
        "segmentation-reap-stuck-runs": "segmentation.reap_stuck_runs",
        "segmentation-prune-runs": "segmentation.prune_runs",
        "customers-reap-stuck-order-imports": "customers.reap_stuck_order_imports",
        "customers-reap-stuck-customer-imports": "customers.reap_stuck_customer_imports",
        "campaigns-recommendations": "campaigns.recommendation_run_scheduled",
    }
    for name, entry in app.conf.beat_schedule.items():  # what DatabaseScheduler.update_from_dict does on start
        ModelEntry.from_entry(name, app=app, **entry)
    synced = dict(PeriodicTask.objects.filter(name__in=tasks).values_list("name", "task"))
    assert synced == tasks
