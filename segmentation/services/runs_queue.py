"""A queued run until a worker claims it: sending its message, superseding, waiting, and giving up.

Policy (README "Runs: what happens to a request"):
* A request's task message is sent once the request commits (`run_enqueue`). Sent, the run records
  it (`heartbeat_at`, for a queued run "the last sign of its message") and every OLDER queued run of
  the same segmentation is marked superseded at once: the later request wins, nothing is left queued.
  A broker that cannot be reached fails the run "could not queue the run: ..." and the user is told.
* A queued run whose segmentation has a run running waits (`run_busy_wait`): the worker sends its
  message again with a countdown that grows with the time waited (SEGMENTA_RUN_BUSY_RETRY s at
  first, at most once a minute), with no cap on the number of tries; the inline command
  (`segment --inline`) waits the same way in its own process. Queued longer than
  SEGMENTA_RUN_WAIT_LIMIT s, the run is failed with the reason.
* The reaper (`segmentation.services.housekeeping.run_reap_stuck`) handles queued runs with no sign
  of a message for SEGMENTA_RUN_QUEUED_STALE s: sent again (a duplicate message is a no-op for the
  claim), or failed once queued longer than SEGMENTA_RUN_WAIT_LIMIT.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from core.queueing import task_send
from segmentation.models import RunStatus, SegmentRun

logger = logging.getLogger(__name__)

RUN_TASK = "segmentation.run_segment_run"  # the Celery task that executes a run (segmentation.tasks)
MAX_WAIT_COUNTDOWN = 60  # a waiting run is looked at again at least once a minute


def run_enqueue(*, run_id: int) -> bool:
    """Send the run's task to the broker; True when sent. A broker that cannot be reached fails the run."""
    reason = task_send(RUN_TASK, args=[run_id], what="the run")
    if reason:  # broker down: say so on the run rather than leaving it queued forever
        SegmentRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
            status=RunStatus.FAILED, stage="queueing", error=reason, finished_at=timezone.now()
        )
        return False
    SegmentRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(heartbeat_at=timezone.now())
    runs_supersede_older(run_id=run_id)
    return True


def runs_supersede_older(*, run_id: int) -> int:
    """Mark the queued runs of the same segmentation requested before `run_id` superseded; returns how many."""
    row = SegmentRun.objects.filter(pk=run_id).values("segmentation_id", "version").first()
    if row is None:
        return 0
    return SegmentRun.objects.filter(
        segmentation_id=row["segmentation_id"], version__lt=row["version"], status=RunStatus.QUEUED
    ).update(
        status=RunStatus.SUPERSEDED,
        stage="superseded",
        finished_at=timezone.now(),
        error=f"superseded by run #{run_id}, a newer request for the same segmentation",
    )


def run_wait_expired(*, run_id: int, reason: str) -> bool:
    """Fail a queued run that waited past SEGMENTA_RUN_WAIT_LIMIT with `reason`; True when it was failed."""
    changed = SegmentRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.FAILED, stage="waiting", error=reason, finished_at=timezone.now()
    )
    return changed == 1


def run_busy_wait(*, run_id: int) -> float | None:
    """The claim answered BUSY: seconds to wait before trying again, or None when the run may not wait longer.

    Records the wait on the run (stage "waiting for run #N", heartbeat_at: a message is alive). Past
    SEGMENTA_RUN_WAIT_LIMIT seconds in the queue the run is failed with the reason and None is returned
    (None too when the run is no longer queued: superseded meanwhile).
    """
    run = SegmentRun.objects.filter(pk=run_id).values("segmentation_id", "queued_at", "status").first()
    if run is None or run["status"] != RunStatus.QUEUED:
        return None
    running = (
        SegmentRun.objects.filter(segmentation_id=run["segmentation_id"], status=RunStatus.RUNNING)
        .values_list("id", flat=True)
        .first()
    )
    now = timezone.now()
    waited = (now - run["queued_at"]).total_seconds()
    limit = settings.SEGMENTA_RUN_WAIT_LIMIT
    if waited > limit:
        run_wait_expired(
            run_id=run_id,
            reason=(
                f"waited {int(waited)} s for run #{running or '?'} of the same segmentation to finish; gave up "
                f"after SEGMENTA_RUN_WAIT_LIMIT ({limit} s). Request it again."
            ),
        )
        return None
    SegmentRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        stage=f"waiting for run #{running}" if running else "waiting", heartbeat_at=now
    )
    first = float(settings.SEGMENTA_RUN_BUSY_RETRY)
    return float(min(MAX_WAIT_COUNTDOWN, max(first, waited / 4), limit - waited + 1))


def run_status_of(*, run_id: int) -> str:
    """The run's status now ("missing" when it was deleted)."""
    return SegmentRun.objects.filter(pk=run_id).values_list("status", flat=True).first() or "missing"


def runs_queued_stale(*, stale_after: int) -> list[tuple[int, object]]:
    """Queued runs with no sign of a message for `stale_after` seconds: [(id, heartbeat_at)]."""
    limit = timezone.now() - timedelta(seconds=stale_after)
    stale = SegmentRun.objects.filter(status=RunStatus.QUEUED, queued_at__lt=limit).exclude(heartbeat_at__gte=limit)
    return list(stale.values_list("id", "heartbeat_at"))
