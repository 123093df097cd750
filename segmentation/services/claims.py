"""Who may execute a run: the claim (a conditional UPDATE that must change exactly one row).

A claim answers CLAIMED, or why not: DUPLICATE (a duplicate delivery or a run already done),
SUPERSEDED (a newer request of the same segmentation exists), BUSY (another run of the
segmentation is running), MISSING (no such run) or FAILED (its worker was lost too often).
A running run may be re-claimed when its holder is gone (see `segmentation.services.runs`).
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from segmentation.models import RunStatus, SegmentRun
from segmentation.services.memberships import run_results_remove

# Outcomes of run_claim and run_execute
CLAIMED = "claimed"
SUCCEEDED = "succeeded"
FAILED = "failed"
SUPERSEDED = "superseded"
DUPLICATE = "duplicate"
BUSY = "busy"
MISSING = "missing"


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def worker_identity() -> str:
    """Who holds a claimed run: "host:pid" of the process executing it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed child not yet reaped by its parent is a zombie: dead for our purpose
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _holder_gone(*, holder: str, me: str, heartbeat_at: datetime | None) -> bool:
    if holder == me:
        return True  # a process runs one task at a time: its earlier attempt has ended
    host, _, pid = holder.rpartition(":")
    my_host = me.rpartition(":")[0]
    if host and host == my_host and pid.isdigit() and not _pid_alive(int(pid)):
        return True
    stale_after = _setting("SEGMENTA_RUN_RECLAIM_AFTER", 600)
    return heartbeat_at is None or heartbeat_at < timezone.now() - timedelta(seconds=stale_after)


def run_claim(*, run_id: int, worker: str) -> str:
    """Take the run for `worker`: CLAIMED, or why not (DUPLICATE, SUPERSEDED, BUSY, MISSING, FAILED)."""
    row = (
        SegmentRun.objects.filter(pk=run_id)
        .values("segmentation_id", "version", "status", "worker", "heartbeat_at", "attempts")
        .first()
    )
    if row is None:
        return MISSING
    now = timezone.now()
    if row["status"] == RunStatus.QUEUED:
        newer = SegmentRun.objects.filter(
            segmentation_id=row["segmentation_id"],
            version__gt=row["version"],
            status__in=(RunStatus.QUEUED, RunStatus.RUNNING),
        )
        if newer.exists():
            changed = SegmentRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
                status=RunStatus.SUPERSEDED,
                stage="superseded",
                finished_at=now,
                error="superseded by a newer request for the same segmentation",
            )
            return SUPERSEDED if changed else DUPLICATE
        running_other = SegmentRun.objects.filter(
            segmentation_id=OuterRef("segmentation_id"), status=RunStatus.RUNNING
        ).exclude(pk=run_id)
        try:
            with transaction.atomic():
                changed = (
                    SegmentRun.objects.filter(pk=run_id, status=RunStatus.QUEUED)
                    .filter(~Exists(running_other))
                    .update(
                        status=RunStatus.RUNNING,
                        stage="starting",
                        progress=0,
                        started_at=now,
                        heartbeat_at=now,
                        worker=worker,
                        attempts=F("attempts") + 1,
                    )  # `error` kept: a re-queued run's note ("re-queued: ...") ends in its evidence
                )
        except IntegrityError:  # another claim of the same segmentation won the race
            return BUSY
        if changed == 1:
            return CLAIMED
        if SegmentRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).exists():
            return BUSY
        return DUPLICATE
    if row["status"] == RunStatus.RUNNING and _holder_gone(
        holder=row["worker"], me=worker, heartbeat_at=row["heartbeat_at"]
    ):
        max_attempts = _setting("SEGMENTA_RUN_MAX_ATTEMPTS", 3)
        if row["attempts"] >= max_attempts:
            changed = SegmentRun.objects.filter(
                pk=run_id, status=RunStatus.RUNNING, worker=row["worker"], attempts=row["attempts"]
            ).update(
                status=RunStatus.FAILED,
                finished_at=now,
                error=f"the worker running it was lost {row['attempts']} times (last: {row['worker']}); giving up",
            )
            if changed:
                run_results_remove(run_id=run_id)
            return FAILED if changed else DUPLICATE
        changed = SegmentRun.objects.filter(
            pk=run_id, status=RunStatus.RUNNING, worker=row["worker"], attempts=row["attempts"]
        ).update(
            worker=worker,
            attempts=F("attempts") + 1,
            heartbeat_at=now,
            started_at=now,
            stage="restarting",
            progress=0,
            error=f"restarted: the worker {row['worker']} was lost during attempt {row['attempts']}",
        )
        if changed == 1:
            run_results_remove(run_id=run_id)
            return CLAIMED
    return DUPLICATE
