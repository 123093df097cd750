"""Segment runs: request, enqueue, execute, activate (claims, memberships and housekeeping have their modules).

A run is a row (`SegmentRun`). Its life: queued -> running -> succeeded | failed, or queued -> superseded.

Requests
    `run_request` freezes the segmentation's configuration (plus per-run overrides) into `params`,
    validates it (ConfigError naming field, allowed values and value received), bumps
    `Segmentation.version` with an F() update, stores that version on the run and enqueues the Celery
    task with `transaction.on_commit`.

Claim (`run_execute`)
    A conditional UPDATE queued -> running that must change exactly one row. Anything else is a
    duplicate delivery or a run already done, and the call is a no-op.

Two requests for the same segmentation at once
    Never two running: the partial unique constraint `one_running_run_per_segmentation` guarantees it
    and the claim checks it first. The rule (`segmentation.services.runs_queue`, README "Runs: what
    happens to a request"):
    * the later request wins: once a request's message is sent, older queued runs of the same
      segmentation are superseded at once (and a queued run picked up while a newer one is queued or
      running is superseded then);
    * a request made while a run is running waits: its claim answers BUSY and the task sends its
      message again with a countdown growing from SEGMENTA_RUN_BUSY_RETRY s to a minute, with no cap on
      the tries, until SEGMENTA_RUN_WAIT_LIMIT (then it fails with the reason). `segment --inline`
      waits the same way in its own process (`run_execute_waiting`).

A worker that dies mid-run (the pool process is killed)
    The task is `acks_late` + `reject_on_worker_lost`, so the broker redelivers its message. A run that
    is "running" may be re-claimed when its holder is gone: the holder (`worker` = "host:pid") is this
    very process (its earlier attempt ended), or a process of this host that no longer exists, or its
    heartbeat is older than SEGMENTA_RUN_RECLAIM_AFTER seconds. A re-claim increments `attempts`, removes
    the partial segments/memberships and runs again; past SEGMENTA_RUN_MAX_ATTEMPTS attempts the run is
    failed with "worker lost ...". Either way the previous active run stays active and untouched until a
    run succeeds. A holder on another host that is still heartbeating makes the redelivery a no-op.

A whole worker killed (nothing redelivers its message before the broker's visibility timeout)
    While a run is held, its heartbeat is written at each progress step and by a thread (`Heartbeat`)
    every SEGMENTA_RUN_HEARTBEAT s; the reaper (`run_reap_stuck`, every minute) re-queues a running run
    whose heartbeat is older than SEGMENTA_RUN_SILENT_AFTER (or fails it past SEGMENTA_RUN_MAX_ATTEMPTS).

Execution
    Load the customers set-based (`loading.py`), call the engine with a progress callback (stage,
    percent and heartbeat written with a conditional, throttled UPDATE), write segments and
    memberships set-based (bulk_create in batches on other databases; on PostgreSQL a binary COPY
    into a new table without indexes, its indexes built once, attached as the run's partition of
    the membership table, all in one transaction: `segmentation.services.memberships`), then activate in
    ONE transaction: lineage carried from the previous active run, run succeeded, segmentation.active_run
    = run. Any exception or an engine result with ok=False fails the run with its reason and stage,
    removes its partial segments and memberships (on PostgreSQL: drops the run's partition), and
    leaves the previous active run untouched.

Modules: claims (`run_claim`), memberships (writing and removing memberships), housekeeping
(`run_reap_stuck`, `runs_prune_history`), lineage (carried at activation).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from core.exceptions import ConfigError, Conflict
from core.services import activity_record
from segmentation import loading, ml
from segmentation.ml.rfm import rfm_segment
from segmentation.ml.types import Evidence, SegmentationConfig, SegmentationResult
from segmentation.models import Method, RunStatus, Segment, Segmentation, SegmentRun
from segmentation.services import housekeeping, lineage, memberships
from segmentation.services.claims import BUSY, CLAIMED, FAILED, SUCCEEDED, run_claim, worker_identity
from segmentation.services.config import segmentation_config
from segmentation.services.runs_queue import run_busy_wait, run_enqueue, run_status_of, runs_supersede_older
from segmentation.services.strategies import strategy_for_segment
from segmentation.services.value_flags import segment_flags_apply_values

logger = logging.getLogger(__name__)


def run_request(
    *,
    segmentation: Segmentation,
    requested_by: AbstractBaseUser | AnonymousUser | None,
    trigger: str,
    overrides: dict[str, Any] | None = None,
    enqueue: bool = True,
) -> SegmentRun:
    """Queue a run of `segmentation` with its configuration frozen now (+ `overrides` for this run only).

    `enqueue=False` leaves the task unqueued, for callers that execute the run in their own process.
    """
    config = segmentation_config(segmentation=segmentation, overrides=overrides)
    user = requested_by if getattr(requested_by, "is_authenticated", False) else None
    with transaction.atomic():
        Segmentation.objects.filter(pk=segmentation.pk).update(version=F("version") + 1, updated_at=timezone.now())
        version = Segmentation.objects.filter(pk=segmentation.pk).values_list("version", flat=True).get()
        run = SegmentRun.objects.create(
            segmentation=segmentation,
            version=version,
            params={**config.to_dict(), **_method_params(segmentation)},
            requested_by=user,
            trigger=trigger,
            stage="queued",
        )
        segmentation.version = version
        activity_record(
            actor=user,
            verb="segmentation.run_requested",
            obj=run,
            detail={"segmentation": segmentation.name, "trigger": trigger, "overrides": overrides or {}},
        )
        if enqueue:
            run_id = run.pk
            transaction.on_commit(lambda: run_enqueue(run_id=run_id))
    return run


class ProgressWriter:
    """The engine's progress callback: writes stage, percent and heartbeat, throttled, only while we hold the run.

    Accepts `progress(stage, fraction_or_percent)`; the engine's 0..1 fraction (or 0..100 percent) is
    mapped into this writer's [start, end] percent band of the whole run.
    """

    def __init__(self, *, run_id: int, worker: str, start: int = 0, end: int = 100, every: float = 1.0) -> None:
        self.run_id, self.worker, self.start, self.end, self.every = run_id, worker, start, end, every
        self._last_at = 0.0
        self._last_stage = ""
        self.lost = False

    def __call__(self, stage: str, done: float | None = None, *args: Any, **kwargs: Any) -> None:
        fraction = 0.0
        if done is not None:  # an int is a percent; a float up to 1.0 is a fraction
            is_percent = isinstance(done, int) or float(done) > 1.0
            fraction = float(done) / 100.0 if is_percent else float(done)
        fraction = min(max(fraction, 0.0), 1.0)
        percent = int(round(self.start + (self.end - self.start) * fraction))
        now = time.monotonic()
        if stage == self._last_stage and now - self._last_at < self.every:
            return
        self.write(stage=stage, percent=percent)

    def write(self, *, stage: str, percent: int) -> None:
        self._last_at, self._last_stage = time.monotonic(), stage
        changed = SegmentRun.objects.filter(pk=self.run_id, status=RunStatus.RUNNING, worker=self.worker).update(
            stage=str(stage)[:64], progress=max(0, min(100, percent)), heartbeat_at=timezone.now()
        )
        self.lost = changed == 0


class Heartbeat:
    """A thread that writes the run's `heartbeat_at` every SEGMENTA_RUN_HEARTBEAT seconds while we hold it.

    Progress writes heartbeat too, but a long stage reports no progress (loading a million customers,
    writing their memberships): the reaper must not take a silent stage for a dead worker. The thread
    has its own database connection, closed when it stops. Not started inside a transaction (tests):
    its connection could not see the run.
    """

    def __init__(self, *, run_id: int, worker: str) -> None:
        self.run_id, self.worker = run_id, worker
        self.every = float(settings.SEGMENTA_RUN_HEARTBEAT)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Heartbeat:
        if not connection.in_atomic_block:
            self._thread = threading.Thread(target=self._beat, name=f"run-{self.run_id}-heartbeat", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _beat(self) -> None:
        from django.db import connections

        try:
            while not self._stop.wait(self.every):
                try:
                    changed = SegmentRun.objects.filter(
                        pk=self.run_id, status=RunStatus.RUNNING, worker=self.worker
                    ).update(heartbeat_at=timezone.now())
                except Exception:  # a busy database: the next beat tries again
                    logger.warning("heartbeat of run %s not written", self.run_id, exc_info=True)
                    continue
                if not changed:
                    return  # the run is no longer ours (finished, reaped or taken over)
        finally:
            connections.close_all()


# --------------------------------------------------------------------------------------------- execute


class RunTakenOver(Exception):
    """The run was reaped or re-claimed by another process while this one worked on it."""


def _failure_message(exc: BaseException) -> str:
    if isinstance(exc, SoftTimeLimitExceeded):
        return f"timed out after {settings.SEGMENTA_RUN_TIME_LIMIT} s"
    if isinstance(exc, KeyboardInterrupt | SystemExit):
        return "interrupted before it finished"
    text = str(exc) or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text}" if not isinstance(exc, ConfigError | Conflict) else text


def run_execute(*, run_id: int, worker: str = "") -> str:
    """Claim and execute the run; returns the outcome (SUCCEEDED, FAILED, or why nothing was done)."""
    worker = worker or worker_identity()
    outcome = run_claim(run_id=run_id, worker=worker)
    if outcome != CLAIMED:
        logger.info("run %s not executed: %s", run_id, outcome)
        return outcome
    with Heartbeat(run_id=run_id, worker=worker):
        outcome = _run_execute_claimed(run_id=run_id, worker=worker)
    if outcome == SUCCEEDED:  # customers added while the run computed get their segment now; never fails the run
        run = SegmentRun.objects.select_related("segmentation").get(pk=run_id)
        try:
            memberships.memberships_assign_new(segmentation=run.segmentation)
            housekeeping.runs_prune_history(segmentation=run.segmentation)
        except Exception:
            logger.exception("follow-up of run %s failed", run_id)
    return outcome


def run_execute_waiting(
    *,
    run_id: int,
    worker: str = "",
    on_wait: Callable[[float], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Execute the run in this process (`segment --inline`), waiting as a queued run does while another runs.

    The same claim and the same wait policy as the worker's task (`runs_queue.run_busy_wait`): returns
    the outcome; a run that waited past SEGMENTA_RUN_WAIT_LIMIT, or was superseded meanwhile, is not
    executed. Interrupted while waiting (Ctrl-C), the run is failed with that reason: no orphan queued run.
    """
    runs_supersede_older(run_id=run_id)
    while True:
        outcome = run_execute(run_id=run_id, worker=worker)
        if outcome != BUSY:
            return outcome
        countdown = run_busy_wait(run_id=run_id)
        if countdown is None:
            return run_status_of(run_id=run_id)
        if on_wait is not None:
            on_wait(countdown)
        try:
            sleep(countdown)
        except BaseException:
            SegmentRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
                status=RunStatus.FAILED,
                stage="waiting",
                error="the command that was waiting to run it was interrupted",
                finished_at=timezone.now(),
            )
            raise


def _run_execute_claimed(*, run_id: int, worker: str) -> str:
    run = SegmentRun.objects.select_related("segmentation").get(pk=run_id)
    writer = ProgressWriter(run_id=run_id, worker=worker)
    stage = "loading customers"
    try:
        config = SegmentationConfig.from_dict(run.params)
        writer.write(stage=stage, percent=2)
        df = loading.customers_frame(features=config.features)
        stage = "segmenting"
        writer.write(stage=stage, percent=10)
        engine_progress = ProgressWriter(run_id=run_id, worker=worker, start=10, end=85)
        if run.params.get("method") == Method.RFM:  # RFM groups, then the same path as KMeans
            result = rfm_segment(df, config, cuts=run.params.get("rfm_cuts") or None)
        else:
            result = ml.segment(df, config, progress=engine_progress)
        del df
        if engine_progress.lost:
            raise RunTakenOver(f"run #{run_id} was taken over while it was computing")
        if not result.ok:
            stage = "checking the data"
            _run_fail(
                run_id=run_id,
                worker=worker,
                error=result.reason or "the engine gave no result",
                stage=stage,
                result=result,
            )
            return FAILED
        stage = "saving segments"
        writer.write(stage=stage, percent=86)
        segments = _segments_write(run=run, result=result)
        stage = "saving memberships"
        writer.write(stage=stage, percent=88)
        memberships.memberships_write(run=run, result=result, segments=segments)
        try:  # high value / at risk from lifetime values; the engine's flags stay if this fails
            segment_flags_apply_values(run_id=run.pk)
        except Exception:
            logger.exception("run %s: segment flags from lifetime values could not be applied", run_id)
        stage = "activating"
        writer.write(stage=stage, percent=98)
        run_activate(run=run, result=result, worker=worker)
    except BaseException as exc:
        logger.exception("run %s failed at stage %s", run_id, stage)
        if not isinstance(exc, RunTakenOver):
            _run_fail(run_id=run_id, worker=worker, error=_failure_message(exc), stage=stage)
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        return FAILED
    return SUCCEEDED


def _method_params(segmentation: Segmentation) -> dict[str, Any]:
    """What a run of an RFM segmentation freezes beside the engine configuration (nothing for KMeans)."""
    if segmentation.method != Method.RFM:
        return {}
    return {"method": Method.RFM, "rfm_cuts": dict(segmentation.rfm_cuts or {})}


def _result_fields(result: SegmentationResult, *, notes: tuple[str, ...] = ()) -> dict[str, Any]:
    evidence = Evidence.from_result(result, notes=notes).as_dict()
    if result.details:  # RFM: the cut points, score counts and group sizes
        evidence[str(result.details.get("method", "details"))] = _jsonable(result.details)
    return {
        "chosen_k": result.chosen_k,
        "k_reason": result.reason or "",
        "evidence": evidence,
        "quality": _jsonable(dict(result.quality)),
        "model": _jsonable(result.model),
        "rows_used": int(result.rows_used or 0),
        "rows_dropped": int(result.rows_dropped or 0),
        "excluded": {str(reason): int(n) for reason, n in (result.excluded or {}).items()},
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _run_fail(*, run_id: int, worker: str, error: str, stage: str, result: SegmentationResult | None = None) -> None:
    """Fail the run (only while `worker` holds it) and remove its partial segments and memberships."""
    fields: dict[str, Any] = {
        "status": RunStatus.FAILED,
        "error": error,
        "stage": stage[:64],
        "finished_at": timezone.now(),
    }
    if result is not None:
        fields.update(_result_fields(result))
        fields["k_reason"] = ""
        fields["model"] = {}
    changed = SegmentRun.objects.filter(pk=run_id, status=RunStatus.RUNNING, worker=worker).update(**fields)
    if changed:
        memberships.run_results_remove(run_id=run_id)
        run = SegmentRun.objects.filter(pk=run_id).select_related("segmentation").first()
        if run is not None:
            activity_record(
                actor=None, verb="segmentation.run_failed", obj=run, detail={"error": error, "stage": stage}
            )


def _segments_write(*, run: SegmentRun, result: SegmentationResult) -> dict[int, int]:
    """Create the run's segments; returns label -> Segment id."""
    objs = [
        Segment(
            run=run,
            label=int(p.label),
            name=p.name[:120],
            size=int(p.size),
            share=float(p.share),
            centroid=_jsonable(dict(p.centroid)),
            profile=_jsonable(dict(p.stats)),
            flags=list(p.flags),
            strategy=strategy_for_segment(p) or "",
            strategy_source="playbook",
        )
        for p in result.segments
    ]
    Segment.objects.bulk_create(objs)
    return dict(Segment.objects.filter(run=run).values_list("label", "id"))


def run_activate(*, run: SegmentRun, result: SegmentationResult, worker: str) -> None:
    """In ONE transaction: carry lineage from the previous active run, mark the run succeeded, make it active."""
    # A restart after a lost worker left a note in `error`: keep it with the evidence of the succeeded run.
    note = SegmentRun.objects.filter(pk=run.pk).values_list("error", flat=True).first()
    fields = _result_fields(result, notes=(note,) if note else ())
    with transaction.atomic():
        segmentation = Segmentation.objects.select_for_update().get(pk=run.segmentation_id)
        previous = segmentation.active_run
        changed = SegmentRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING, worker=worker).update(
            status=RunStatus.SUCCEEDED,
            stage="done",
            progress=100,
            finished_at=timezone.now(),
            error="",
            heartbeat_at=timezone.now(),
            **fields,
        )
        if changed != 1:
            raise RunTakenOver(f"run #{run.pk} was reaped or re-claimed before it could be activated")
        run.refresh_from_db()
        lineage.segments_inherit(run=run, previous=previous)
        Segmentation.objects.filter(pk=segmentation.pk).update(active_run=run, updated_at=timezone.now())
        activity_record(
            actor=run.requested_by,
            verb="segmentation.run_activated",
            obj=run,
            before={"active_run": previous.pk if previous else None},
            after={"active_run": run.pk, "k": run.chosen_k},
        )
