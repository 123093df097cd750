"""Celery tasks of campaigns: thin wrappers that load by id and call the services."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError
from django.db import OperationalError as DatabaseOperationalError

from campaigns.services import audience_fill


@shared_task(name="campaigns.audience_fill", bind=True, acks_late=True, max_retries=5)
def audience_fill_task(self, audience_id: int) -> str:
    """Write a large static audience's members (the claim makes a redelivery a no-op)."""
    try:
        return audience_fill(audience_id=audience_id)
    except (DatabaseOperationalError, InterfaceError) as exc:
        raise self.retry(exc=exc, countdown=10) from exc


from campaigns.recommendations.tasks import (  # noqa: E402, F401
    recommendation_run_scheduled_task,
    recommendation_run_task,
)
