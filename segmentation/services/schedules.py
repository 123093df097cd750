"""Periodic runs: a segmentation's cron `schedule` becomes a django-celery-beat periodic task.

`segmentation_schedule_sync` keeps one `PeriodicTask` (with its `CrontabSchedule`) per segmentation
that has a schedule, and removes it when the schedule is emptied; `segmentation_schedule_remove`
removes it when the segmentation goes. Celery beat (DatabaseScheduler) reads the table and sends
`segmentation.run_scheduled_segmentation` at each match; the task calls `run_scheduled`, which
queues a run (trigger "schedule"). A periodic task whose segmentation no longer exists removes itself.
"""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from core.exceptions import ConfigError
from segmentation.models import Segmentation, SegmentRun
from segmentation.services.runs import run_request

logger = logging.getLogger(__name__)

SCHEDULED_RUN_TASK = "segmentation.run_scheduled_segmentation"  # segmentation.tasks.run_scheduled_segmentation


def periodic_task_name(segmentation_id: int) -> str:
    return f"segmentation {segmentation_id}: scheduled run"


def _day_of_week_for_celery(field: str) -> str:
    """Cron's day of week as Celery reads it: 7 (Sunday, accepted by the validator) becomes 0."""
    parts = []
    for part in field.split(","):
        values, _, step = part.partition("/")
        low, _, high = values.partition("-")
        numeric = low.isdigit() and (not high or high.isdigit()) and (not step or step.isdigit())
        if not numeric or int(high or low) < 7:
            parts.append(part)  # "*", "*/2", names (sun, mon-fri) or days 0-6: Celery reads them as they are
            continue
        days = range(int(low), int(high or low) + 1, int(step or 1))
        parts.extend(str(day % 7) for day in days)
    return ",".join(dict.fromkeys(parts))


@transaction.atomic
def segmentation_schedule_sync(*, segmentation: Segmentation) -> PeriodicTask | None:
    """Create, update or remove the periodic task of `segmentation` so it matches its `schedule`."""
    if not segmentation.schedule.strip():
        segmentation_schedule_remove(segmentation_id=segmentation.pk)
        return None
    minute, hour, day_of_month, month_of_year, day_of_week = segmentation.schedule.split()
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=minute,
        hour=hour,
        day_of_month=day_of_month,
        month_of_year=month_of_year,
        day_of_week=_day_of_week_for_celery(day_of_week),
        timezone=settings.TIME_ZONE,
    )
    task, _ = PeriodicTask.objects.update_or_create(
        name=periodic_task_name(segmentation.pk),
        defaults={
            "task": SCHEDULED_RUN_TASK,
            "crontab": crontab,
            "interval": None,
            "kwargs": json.dumps({"segmentation_id": segmentation.pk}),
            "enabled": True,
            "description": f"Re-segment {segmentation.name!r} on its schedule ({segmentation.schedule})",
        },
    )
    return task


def segmentation_schedule_remove(*, segmentation_id: int) -> None:
    """Remove the periodic task of a segmentation (no schedule any more, or the segmentation is gone)."""
    PeriodicTask.objects.filter(name=periodic_task_name(segmentation_id)).delete()


def run_scheduled(*, segmentation_id: int) -> SegmentRun | None:
    """Queue the scheduled run of a segmentation (trigger "schedule"); None when it cannot be queued."""
    segmentation = Segmentation.objects.filter(pk=segmentation_id).first()
    if segmentation is None:
        segmentation_schedule_remove(segmentation_id=segmentation_id)
        return None
    try:
        return run_request(segmentation=segmentation, requested_by=None, trigger="schedule")
    except ConfigError as exc:
        logger.warning("segmentation %s: scheduled run not queued: %s", segmentation_id, exc)
        return None
