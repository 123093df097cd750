"""Failing upload jobs (customer imports, order imports) that a dead worker left queued or running.

Each reaper picks its own stuck rows and words its own reasons; this is the part they share: fail each
row conditionally (a worker finishing meanwhile wins), with its reason, and delete its stored upload.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db.models import QuerySet


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
