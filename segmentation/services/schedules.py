"""Periodic runs: a segmentation's cron `schedule` queues a run when it matches the minute."""

from __future__ import annotations

import logging
from datetime import datetime

from celery.schedules import ParseException, crontab_parser
from django.utils import timezone

from core.exceptions import ConfigError
from segmentation.models import Segmentation, SegmentRun
from segmentation.services.runs import run_request

logger = logging.getLogger(__name__)


def run_scheduled_due(*, now: datetime | None = None) -> list[SegmentRun]:
    """Queue a run for every segmentation whose cron `schedule` matches this minute (once per minute)."""
    now = timezone.localtime(now or timezone.now())
    minute_start = now.replace(second=0, microsecond=0)
    runs = []
    for seg in Segmentation.objects.exclude(schedule=""):
        try:
            due = cron_matches(seg.schedule, now)
        except ConfigError:
            logger.warning("segmentation %s: bad schedule %r", seg.pk, seg.schedule)
            continue
        if not due:
            continue
        if SegmentRun.objects.filter(segmentation=seg, trigger="schedule", queued_at__gte=minute_start).exists():
            continue
        try:
            runs.append(run_request(segmentation=seg, requested_by=None, trigger="schedule"))
        except ConfigError as exc:
            logger.warning("segmentation %s: scheduled run not queued: %s", seg.pk, exc)
    return runs


def cron_matches(expression: str, when: datetime) -> bool:
    """Whether a 5-field cron expression (m h dom mon dow, dow 0 = Sunday) matches `when`'s minute."""
    fields = expression.split()
    if len(fields) != 5:
        raise ConfigError(f"schedule: expected 5 cron fields (m h dom mon dow); got {expression!r}")
    try:
        minute = crontab_parser(60).parse(fields[0])
        hour = crontab_parser(24).parse(fields[1])
        dom = crontab_parser(31, 1).parse(fields[2])
        month = crontab_parser(12, 1).parse(fields[3])
        dow = crontab_parser(7).parse(fields[4])
    except (ParseException, ValueError) as exc:
        raise ConfigError(f"schedule: not a cron expression ({exc}); got {expression!r}") from None
    weekday = (when.weekday() + 1) % 7  # Python Monday=0 -> cron Sunday=0
    return (
        when.minute in minute
        and when.hour in hour
        and when.day in dom
        and when.month in month
        and (weekday in dow or (weekday == 0 and 7 in dow))
    )
