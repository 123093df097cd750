"""Housekeeping of runs: the reaper (runs nobody will finish), pruning finished runs beyond the retention."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from segmentation.models import RunPin, RunStatus, Segment, Segmentation, SegmentRun
from segmentation.services import runs_queue
from segmentation.services.memberships import memberships_remove, run_results_remove

logger = logging.getLogger(__name__)


def run_reap_stuck(*, older_than: int | None = None) -> int:
    """Runs nobody will finish: returns how many were re-queued, re-sent, superseded or failed.

    * running with a heartbeat (or start) older than `older_than` (SEGMENTA_RUN_SILENT_AFTER) seconds: its
      worker is gone (a whole worker killed: nothing redelivers its message before the broker's
      visibility timeout). Its partial results are removed and it is re-queued (sent again) while it
      had fewer than SEGMENTA_RUN_MAX_ATTEMPTS attempts, otherwise failed with the reason;
    * queued with no sign of a message for SEGMENTA_RUN_QUEUED_STALE seconds (`runs_queue`): failed once
      queued longer than SEGMENTA_RUN_WAIT_LIMIT, superseded when a newer request exists, else sent again.
    The previous active run is never touched.
    """
    older_than = settings.SEGMENTA_RUN_SILENT_AFTER if older_than is None else older_than
    return _reap_running(older_than=older_than) + _reap_queued(stale_after=settings.SEGMENTA_RUN_QUEUED_STALE)


def _reap_running(*, older_than: int) -> int:
    limit = timezone.now() - timedelta(seconds=older_than)
    stuck = SegmentRun.objects.filter(status=RunStatus.RUNNING).filter(
        Q(heartbeat_at__lt=limit)
        | Q(heartbeat_at__isnull=True, started_at__lt=limit)
        | Q(heartbeat_at__isnull=True, started_at__isnull=True)
    )
    max_attempts = int(settings.SEGMENTA_RUN_MAX_ATTEMPTS)
    count = 0
    for run_id, holder, attempts in stuck.values_list("id", "worker", "attempts"):
        silent = f"no sign of life from worker {holder or '?'} for more than {older_than} s"
        held = SegmentRun.objects.filter(pk=run_id, status=RunStatus.RUNNING, worker=holder, attempts=attempts)
        now = timezone.now()
        if attempts < max_attempts:
            changed = held.update(
                status=RunStatus.QUEUED,
                worker="",
                stage="queued",
                progress=0,
                heartbeat_at=now,
                error=f"re-queued: {silent} during attempt {attempts}",
            )
            if changed:
                run_results_remove(run_id=run_id)
                runs_queue.run_enqueue(run_id=run_id)
                logger.warning("run %s re-queued: %s", run_id, silent)
        else:
            changed = held.update(
                status=RunStatus.FAILED,
                finished_at=now,
                error=f"stuck: {silent} (attempt {attempts} of {max_attempts}); giving up",
            )
            if changed:
                run_results_remove(run_id=run_id)
                logger.warning("run %s failed: %s", run_id, silent)
        count += changed
    return count


def _reap_queued(*, stale_after: int) -> int:
    wait_limit = int(settings.SEGMENTA_RUN_WAIT_LIMIT)
    count = 0
    for run_id, seen_at in runs_queue.runs_queued_stale(stale_after=stale_after):
        run = SegmentRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).first()
        if run is None:
            continue
        waited = (timezone.now() - run.queued_at).total_seconds()
        if waited > wait_limit:
            count += runs_queue.run_wait_expired(
                run_id=run_id,
                reason=(
                    f"still queued after {int(waited)} s: no worker took it up (is a worker running?); gave up "
                    f"after SEGMENTA_RUN_WAIT_LIMIT ({wait_limit} s). Request it again."
                ),
            )
            continue
        newer = SegmentRun.objects.filter(
            segmentation_id=run.segmentation_id,
            version__gt=run.version,
            status__in=(RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.SUCCEEDED),
        ).first()
        if newer is not None:
            count += SegmentRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
                status=RunStatus.SUPERSEDED,
                stage="superseded",
                finished_at=timezone.now(),
                error=f"superseded by run #{newer.pk}, a newer request for the same segmentation",
            )
            continue
        # Claim the re-send (another reaper may look at the same run), then send.
        if SegmentRun.objects.filter(pk=run_id, status=RunStatus.QUEUED, heartbeat_at=seen_at).update(
            heartbeat_at=timezone.now()
        ):
            logger.warning("run %s: no sign of its message for %s s; sending it again", run_id, stale_after)
            runs_queue.run_enqueue(run_id=run_id)
            count += 1
    return count


def runs_prune_history(*, keep: int | None = None, segmentation: Segmentation | None = None) -> int:
    """Delete finished runs beyond the newest `keep` per segmentation, except the active and pinned runs (RunPin)."""
    keep = settings.SEGMENTA_RUN_RETENTION if keep is None else keep
    segmentations = [segmentation] if segmentation is not None else list(Segmentation.objects.all())
    deleted = 0
    for seg in segmentations:
        active_id = Segmentation.objects.filter(pk=seg.pk).values_list("active_run_id", flat=True).first()
        finished = (
            SegmentRun.objects.filter(segmentation_id=seg.pk)
            .exclude(status__in=(RunStatus.QUEUED, RunStatus.RUNNING))
            .order_by("-queued_at", "-id")
            .values_list("id", flat=True)
        )
        beyond = [rid for rid in list(finished)[keep:] if rid != active_id]
        pinned = Exists(RunPin.objects.filter(run_id=OuterRef("pk")))
        old = list(SegmentRun.objects.filter(pk__in=beyond).exclude(pinned).values_list("id", flat=True))
        if old:
            with transaction.atomic():
                memberships_remove(run_ids=old, lock_timeout_ms=5000)  # busy readers: prune next time
                Segment.objects.filter(run_id__in=old).delete()
                deleted += SegmentRun.objects.filter(pk__in=old).delete()[1].get(SegmentRun._meta.label, 0)
    return deleted
