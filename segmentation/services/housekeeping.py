"""Housekeeping of runs: fail runs stuck in "running", prune finished runs beyond the retention."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from segmentation.models import RunPin, RunStatus, Segment, Segmentation, SegmentRun
from segmentation.services.memberships import memberships_remove, run_results_remove


def run_reap_stuck(*, older_than: int | None = None) -> int:
    """Fail runs "running" whose heartbeat (or start) is older than `older_than` seconds; returns how many."""
    older_than = settings.SEGMENTA_RUN_STUCK_AFTER if older_than is None else older_than
    limit = timezone.now() - timedelta(seconds=older_than)
    stuck = SegmentRun.objects.filter(status=RunStatus.RUNNING).filter(
        Q(heartbeat_at__lt=limit)
        | Q(heartbeat_at__isnull=True, started_at__lt=limit)
        | Q(heartbeat_at__isnull=True, started_at__isnull=True)
    )
    count = 0
    for run_id, holder in stuck.values_list("id", "worker"):
        changed = SegmentRun.objects.filter(pk=run_id, status=RunStatus.RUNNING, worker=holder).update(
            status=RunStatus.FAILED,
            finished_at=timezone.now(),
            error=f"stuck: no sign of life from worker {holder or '?'} for more than {older_than} s",
        )
        if changed:
            run_results_remove(run_id=run_id)
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
