"""Failing upload jobs (customer imports, order imports) that a dead worker left queued or running.

Each reaper sets its own clocks and words its own reasons; this is the part they share: which rows are
stuck (`stuck_jobs`), and failing each conditionally (a worker finishing meanwhile wins), with its reason,
its stored upload deleted (`stuck_jobs_fail`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db.models import Model, Q, QuerySet

QUEUED, RUNNING = "queued", "running"  # the statuses every upload job's row shares


def stuck_jobs(model: type[Model], *, running_before: datetime, queued_before: datetime) -> QuerySet:
    """Rows of `model` "running" since before `running_before` (created then, if never started) or "queued"
    since before `queued_before`."""
    return model.objects.filter(
        Q(status=RUNNING, started_at__lt=running_before)
        | Q(status=RUNNING, started_at__isnull=True, created_at__lt=running_before)
        | Q(status=QUEUED, created_at__lt=queued_before)
    )


def stuck_jobs_fail(*, stuck: QuerySet, reason: Callable[[str], str], failed: dict[str, Any]) -> int:
    """Fail each row of `stuck` still in the status it was read in: `failed` fields plus `error=reason(status)`,
    `stored_path` emptied; its stored file deleted. Returns how many were failed."""
    count = 0
    for job_id, status, stored_path in stuck.values_list("id", "status", "stored_path"):
        changed = stuck.model.objects.filter(pk=job_id, status=status).update(
            **failed, error=reason(status), stored_path=""
        )
        if changed:
            if stored_path:
                Path(stored_path).unlink(missing_ok=True)
            count += 1
    return count
