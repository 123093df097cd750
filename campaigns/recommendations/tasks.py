"""Celery tasks of recommendation runs: thin, load by id and call the service (sent by name)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError
from django.db import OperationalError as DatabaseOperationalError

from campaigns.recommendations import services


@shared_task(
    name="campaigns.recommendation_run",
    bind=True,
    acks_late=True,
    soft_time_limit=settings.SEGMENTA_RUN_TIME_LIMIT,
    time_limit=settings.SEGMENTA_RUN_TIME_LIMIT + 60,
    max_retries=5,
)
def recommendation_run_task(self, run_id: int) -> str:
    """Execute a queued run (the claim makes a redelivery a no-op); a final failure is on the row."""
    try:
        return services.recommendation_run_execute(run_id=run_id)
    except (DatabaseOperationalError, InterfaceError) as exc:  # the claim could not reach the database
        raise self.retry(exc=exc, countdown=min(60, 2 ** (self.request.retries + 1))) from exc


@shared_task(name="campaigns.recommendation_run_scheduled")
def recommendation_run_scheduled_task() -> int | None:
    """The periodic run (config/celery.py): queued unless one is already queued or running."""
    return services.recommendation_run_scheduled()
