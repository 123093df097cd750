"""Segment runs: request, claim, execute, activate; reap stuck runs, prune history, assign new customers.

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
    and the claim checks it first. The rule:
    * the later request wins: when a queued run is picked up and a newer one (higher version) of the
      same segmentation is queued or running, the older one is marked superseded and skipped;
    * a request made while a run is running waits: its claim answers BUSY and the task retries after
      SEGMENTA_RUN_BUSY_RETRY seconds (the inline command says so and stops). The running run finishes
      and activates normally; the waiting one runs after it (unless a newer request supersedes it).

A worker that dies mid-run (the pool process is killed)
    The task is `acks_late` + `reject_on_worker_lost`, so the broker redelivers its message. A run that
    is "running" may be re-claimed when its holder is gone: the holder (`worker` = "host:pid") is this
    very process (its earlier attempt ended), or a process of this host that no longer exists, or its
    heartbeat is older than SEGMENTA_RUN_RECLAIM_AFTER seconds. A re-claim increments `attempts`, removes
    the partial segments/memberships and runs again; past SEGMENTA_RUN_MAX_ATTEMPTS attempts the run is
    failed with "worker lost ...". Either way the previous active run stays active and untouched until a
    run succeeds. A holder on another host that is still heartbeating makes the redelivery a no-op;
    if it died silently, `run_reap_stuck` fails the run once its heartbeat is older than
    SEGMENTA_RUN_STUCK_AFTER.

Execution
    Load the customers set-based (`loading.py`), call the engine with a progress callback (stage,
    percent and heartbeat written with a conditional, throttled UPDATE), write segments and
    memberships set-based (bulk_create in batches on other databases; on PostgreSQL a binary COPY
    into a new table without indexes, its indexes built once, attached as the run's partition of
    the membership table, all in one transaction: `memberships_partition_write`), then activate in ONE
    transaction: lineage carried from the previous active run, run succeeded, segmentation.active_run
    = run. Any exception or an engine result with ok=False fails the run with its reason and stage,
    removes its partial segments and memberships (on PostgreSQL: drops the run's partition), and
    leaves the previous active run untouched.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from core.exceptions import ConfigError, Conflict
from core.services import activity_record
from customers.models import Customer
from segmentation import loading
from segmentation.ml.types import SegmentationConfig, SegmentationResult
from segmentation.models import Membership, MissingPolicy, RunStatus, Scaler, Segment, Segmentation, SegmentRun

logger = logging.getLogger(__name__)

DEFAULT_SEGMENTATION_NAME = "Default"
K_LIMIT = 50  # the largest k a run may ask for

# Outcomes of run_execute
CLAIMED = "claimed"
SUCCEEDED = "succeeded"
FAILED = "failed"
SUPERSEDED = "superseded"
DUPLICATE = "duplicate"
BUSY = "busy"
MISSING = "missing"

OVERRIDABLE = ("features", "scaler", "k", "k_min", "k_max", "age_groups", "age_bins", "missing", "random_state")


def _setting(name: str, default: int | float) -> Any:
    return getattr(settings, name, default)


def worker_identity() -> str:
    """Who holds a claimed run: "host:pid" of the process executing it."""
    return f"{socket.gethostname()}:{os.getpid()}"


# --------------------------------------------------------------------------------------------- config


def segmentation_get_or_create_default() -> Segmentation:
    """The segmentation used when none is named (created with the model's defaults)."""
    segmentation, _ = Segmentation.objects.get_or_create(name=DEFAULT_SEGMENTATION_NAME)
    return segmentation


def segmentation_config(*, segmentation: Segmentation, overrides: dict[str, Any] | None = None) -> SegmentationConfig:
    """The engine configuration of `segmentation` with per-run `overrides`, validated."""
    values: dict[str, Any] = {
        "features": list(segmentation.features or []),
        "scaler": segmentation.scaler,
        "k": segmentation.k,
        "k_min": segmentation.k_min,
        "k_max": segmentation.k_max,
        "age_groups": segmentation.age_groups,
        "age_bins": list(segmentation.age_bins or []) or None,
        "missing": segmentation.missing_policy,
        "random_state": segmentation.random_state,
    }
    for key, value in (overrides or {}).items():
        if key not in OVERRIDABLE:
            raise ConfigError(f"override {key!r}: allowed are {', '.join(OVERRIDABLE)}; got {value!r}")
        if value is not None or key == "k":
            values[key] = value
    _config_validate(values)
    if values["age_bins"] is None:
        values.pop("age_bins")
    return SegmentationConfig.from_dict(values)


def _config_validate(values: dict[str, Any]) -> None:
    features = values["features"]
    if isinstance(features, str):
        features = [f.strip() for f in features.split(",") if f.strip()]
        values["features"] = features
    if not features:
        raise ConfigError("features: at least one feature is needed; got none")
    allowed = loading.features_available()
    for name in features:
        if name not in allowed:
            raise ConfigError(f"features: {name!r} is not a customer field; allowed are {', '.join(allowed)}")
    if len(set(features)) != len(features):
        raise ConfigError(f"features: each feature once; got {', '.join(features)}")
    if values["scaler"] not in Scaler.values:
        raise ConfigError(f"scaler: allowed are {', '.join(Scaler.values)}; got {values['scaler']!r}")
    if values["missing"] not in MissingPolicy.values:
        raise ConfigError(f"missing: allowed are {', '.join(MissingPolicy.values)}; got {values['missing']!r}")
    for field in ("k", "k_min", "k_max", "random_state"):
        value = values[field]
        if value is None and field == "k":
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{field}: expected a whole number; got {value!r}")
    k, k_min, k_max = values["k"], values["k_min"], values["k_max"]
    if k is not None and not 2 <= k <= K_LIMIT:
        raise ConfigError(f"k: allowed is auto or a number from 2 to {K_LIMIT}; got {k}")
    if not 2 <= k_min <= K_LIMIT:
        raise ConfigError(f"k_min: allowed is 2 to {K_LIMIT}; got {k_min}")
    if not k_min <= k_max <= K_LIMIT:
        raise ConfigError(f"k_max: allowed is k_min ({k_min}) to {K_LIMIT}; got {k_max}")
    bins = values["age_bins"]
    if bins is not None:
        if not isinstance(bins, list | tuple) or not all(isinstance(b, int) and not isinstance(b, bool) for b in bins):
            raise ConfigError(f"age_bins: expected increasing whole numbers; got {bins!r}")
        if list(bins) != sorted(set(bins)):
            raise ConfigError(f"age_bins: expected increasing whole numbers; got {list(bins)}")


# --------------------------------------------------------------------------------------------- request


def run_request(
    *,
    segmentation: Segmentation,
    requested_by: Any,
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
            params=config.to_dict(),
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


def run_enqueue(*, run_id: int) -> None:
    """Send the run's task to the broker; a broker that cannot be reached fails the run with the reason."""
    from segmentation.tasks import run_segment_run

    try:
        run_segment_run.delay(run_id)
    except Exception as exc:  # broker down: say so on the run rather than leaving it queued forever
        logger.exception("could not queue run %s", run_id)
        SegmentRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
            status=RunStatus.FAILED,
            stage="queueing",
            error=f"could not queue the run: the task broker is unreachable ({exc})",
            finished_at=timezone.now(),
        )


# --------------------------------------------------------------------------------------------- claim


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
                        error="",
                    )
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
                _run_results_remove(run_id=run_id)
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
            _run_results_remove(run_id=run_id)
            return CLAIMED
    return DUPLICATE


# --------------------------------------------------------------------------------------------- progress


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


# --------------------------------------------------------------------------------------------- execute


class RunTakenOver(Exception):
    """The run was reaped or re-claimed by another process while this one worked on it."""


def _failure_message(exc: BaseException) -> str:
    try:
        from celery.exceptions import SoftTimeLimitExceeded
    except ImportError:  # pragma: no cover - celery is a dependency
        SoftTimeLimitExceeded = ()  # type: ignore[assignment]  # noqa: N806
    if isinstance(exc, SoftTimeLimitExceeded):
        return f"timed out after {settings.SEGMENTA_RUN_TIME_LIMIT} s"
    if isinstance(exc, KeyboardInterrupt | SystemExit):
        return "interrupted before it finished"
    text = str(exc) or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text}" if not isinstance(exc, ConfigError | Conflict) else text


def run_execute(*, run_id: int, worker: str = "") -> str:
    """Claim and execute the run; returns the outcome (SUCCEEDED, FAILED, or why nothing was done)."""
    from segmentation import ml

    worker = worker or worker_identity()
    outcome = run_claim(run_id=run_id, worker=worker)
    if outcome != CLAIMED:
        logger.info("run %s not executed: %s", run_id, outcome)
        return outcome
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
        _memberships_write(run=run, result=result, segments=segments)
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
    try:  # customers added while the run computed get their segment now; never fails the run
        memberships_assign_new(segmentation=run.segmentation)
        runs_prune_history(segmentation=run.segmentation)
    except Exception:
        logger.exception("follow-up of run %s failed", run_id)
    return SUCCEEDED


def _run_results_remove(*, run_id: int) -> None:
    memberships_remove(run_ids=[run_id])
    Segment.objects.filter(run_id=run_id).delete()


def _result_fields(result: SegmentationResult) -> dict[str, Any]:
    return {
        "chosen_k": result.chosen_k,
        "k_reason": result.reason or "",
        "evidence": {
            "per_k": [asdict(e) for e in result.evidence],
            "preferred": dict(result.preferred),
            "disagreement": bool(result.disagreement),
            "missing": dict(result.missing),
            "timings": dict(result.timings),
        },
        "quality": _jsonable(dict(result.quality)),
        "model": _jsonable(result.model),
        "rows_used": int(result.rows_used or 0),
        "rows_dropped": int(result.rows_dropped or 0),
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
        _run_results_remove(run_id=run_id)
        run = SegmentRun.objects.filter(pk=run_id).select_related("segmentation").first()
        if run is not None:
            activity_record(
                actor=None, verb="segmentation.run_failed", obj=run, detail={"error": error, "stage": stage}
            )


def _segments_write(*, run: SegmentRun, result: SegmentationResult) -> dict[int, int]:
    """Create the run's segments; returns label -> Segment id."""
    from segmentation.strategy import strategy_for_segment

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


def _memberships_frame(*, result: SegmentationResult, segments: dict[int, int]) -> pd.DataFrame:
    labels = np.asarray(result.labels, dtype=np.int64)
    lookup = np.full(labels.max() + 1 if len(labels) else 1, -1, dtype=np.int64)
    for label, seg_id in segments.items():
        if label < len(lookup):
            lookup[label] = seg_id
    segment_ids = lookup[labels]
    if (segment_ids < 0).any():
        missing = sorted(set(labels[segment_ids < 0].tolist()))
        raise ValueError(f"labels {missing} have no segment profile in the engine result")
    return pd.DataFrame(
        {
            "customer_id": np.asarray(result.index, dtype=np.int64),
            "segment_id": segment_ids,
            "distance": np.asarray(result.distances, dtype=np.float64),
        }
    )


def _memberships_write(
    *, run: SegmentRun, result: SegmentationResult, segments: dict[int, int], fitted: bool = True
) -> int:
    frame = _memberships_frame(result=result, segments=segments)
    if fitted and connection.vendor == "postgresql":
        return memberships_partition_write(run_id=run.pk, frame=frame)
    return memberships_bulk_insert(run_id=run.pk, frame=frame, fitted=fitted)


def _membership_partition(run_id: int) -> str:
    return f"{Membership._meta.db_table}_run_{int(run_id)}"


def memberships_partition_write(*, run_id: int, frame: pd.DataFrame, batch: int = 200_000) -> int:
    """PostgreSQL: a run's fitted memberships as the run's own partition, in ONE transaction.

    The rows are copied (binary COPY, FREEZE: no hint-bit writes or vacuum later) into a new table
    without indexes, its primary key and (segment, customer) index are built once over the whole
    table (several times faster than maintaining them row by row), and the table is attached as the
    run's partition; its CHECK constraint spares the attach a validation scan. Any failure rolls all
    of it back: no partial rows, no stray table. A partition left by an earlier attempt is replaced.
    (Measured: splitting the COPY and the two index builds over extra connections gained nothing on
    a two-core machine, so it stays one transaction.)
    """
    run_id = int(run_id)
    parent = Membership._meta.db_table
    part = _membership_partition(run_id)
    # Rows in (segment, customer) order: the (segment, customer) index is then built from sorted input
    # and the primary key from a few sorted runs (measured ~0.5 s less per million than customer
    # order), and a segment's members lie together on disk for the pages and audiences that read them.
    order = np.argsort(frame["segment_id"].to_numpy(), kind="stable")
    if not frame["customer_id"].is_monotonic_increasing:
        order = np.lexsort((frame["customer_id"].to_numpy(), frame["segment_id"].to_numpy()))
    frame = frame.iloc[order]
    with transaction.atomic(), connection.cursor() as cursor:
        # The commit need not wait for its WAL flush: the activation, a later transaction committed
        # synchronously, flushes it first, so no crash can leave an active run without its memberships.
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")  # each index sorted in memory
        _partition_create(cursor=cursor, run_id=run_id)
        with cursor.cursor.copy(_partition_copy_sql(part=part)) as copy:
            _partition_copy_rows(copy=copy, run_id=run_id, frame=frame, batch=batch)
        cursor.execute(f'ALTER TABLE "{part}" ADD CONSTRAINT "{part}_pkey" PRIMARY KEY (customer_id, run_id)')
        cursor.execute(f'CREATE INDEX "{part}_segment" ON "{part}" (segment_id, customer_id)')
        cursor.execute(f'ALTER TABLE "{parent}" ATTACH PARTITION "{part}" FOR VALUES IN ({run_id})')
    return len(frame)


def _partition_create(*, cursor: Any, run_id: int) -> None:
    parent, part = Membership._meta.db_table, _membership_partition(run_id)
    cursor.execute(f'DROP TABLE IF EXISTS "{part}"')
    cursor.execute(f'DELETE FROM "{parent}" WHERE run_id = %s', [run_id])  # rows in the default partition
    cursor.execute(
        f'CREATE TABLE "{part}" (LIKE "{parent}" INCLUDING DEFAULTS, CONSTRAINT "{part}_run" CHECK (run_id = {run_id}))'
    )


def _partition_copy_sql(*, part: str) -> str:
    return f'COPY "{part}" (run_id, customer_id, segment_id, distance, fitted) FROM STDIN WITH (FORMAT binary, FREEZE)'


def _partition_copy_rows(*, copy: Any, run_id: int, frame: pd.DataFrame, batch: int) -> None:
    copy.write(_PGCOPY_HEADER)
    for start in range(0, len(frame), batch):
        copy.write(_membership_rows_binary(run_id=run_id, part=frame.iloc[start : start + batch], fitted=True))
    copy.write(b"\xff\xff")  # end of data


def memberships_remove(*, run_ids: list[int], lock_timeout_ms: int | None = None) -> None:
    """Remove the memberships of `run_ids`: on PostgreSQL drop their partitions (instant), then any other rows.

    Dropping a partition waits for the readers of the membership table and holds new ones back while
    it waits; `lock_timeout_ms` bounds that wait (the call then raises and nothing is removed), for
    housekeeping that can simply try again later.
    """
    if not run_ids:
        return
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            if lock_timeout_ms is not None:
                cursor.execute(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}")
            for run_id in run_ids:
                cursor.execute(f'DROP TABLE IF EXISTS "{_membership_partition(run_id)}"')
            Membership.objects.filter(run_id__in=run_ids).delete()
        return
    Membership.objects.filter(run_id__in=run_ids).delete()


_PGCOPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_MEMBERSHIP_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("run_len", ">i4"),
        ("run", ">i8"),
        ("customer_len", ">i4"),
        ("customer", ">i8"),
        ("segment_len", ">i4"),
        ("segment", ">i8"),
        ("distance_len", ">i4"),
        ("distance", ">f8"),
        ("fitted_len", ">i4"),
        ("fitted", "u1"),
    ]
)


def _membership_rows_binary(*, run_id: int, part: pd.DataFrame, fitted: bool) -> bytes:
    """Rows in PostgreSQL's binary COPY format, built by numpy (fixed-width rows, no per-row Python)."""
    rows = np.empty(len(part), dtype=_MEMBERSHIP_ROW)
    rows["fields"] = 5
    rows["run_len"] = rows["customer_len"] = rows["segment_len"] = rows["distance_len"] = 8
    rows["fitted_len"] = 1
    rows["run"] = run_id
    rows["customer"] = part["customer_id"].to_numpy(dtype=np.int64)
    rows["segment"] = part["segment_id"].to_numpy(dtype=np.int64)
    rows["distance"] = part["distance"].to_numpy(dtype=np.float64)
    rows["fitted"] = 1 if fitted else 0
    return rows.tobytes()


def memberships_bulk_insert(*, run_id: int, frame: pd.DataFrame, fitted: bool, batch: int = 200_000) -> int:
    """Insert memberships (columns customer_id, segment_id, distance): COPY on PostgreSQL, bulk_create elsewhere."""
    if frame.empty:
        return 0
    if connection.vendor == "postgresql":
        table = Membership._meta.db_table
        with connection.cursor() as cursor:
            with cursor.cursor.copy(
                f'COPY "{table}" (run_id, customer_id, segment_id, distance, fitted) FROM STDIN WITH (FORMAT binary)'
            ) as copy:
                copy.write(_PGCOPY_HEADER)
                for start in range(0, len(frame), batch):
                    part = frame.iloc[start : start + batch]
                    copy.write(_membership_rows_binary(run_id=run_id, part=part, fitted=fitted))
                copy.write(b"\xff\xff")  # end of data
        return len(frame)
    size = 5000
    customers = frame["customer_id"].to_numpy()
    segs = frame["segment_id"].to_numpy()
    dists = frame["distance"].to_numpy()
    for start in range(0, len(frame), size):
        Membership.objects.bulk_create(
            [
                Membership(run_id=run_id, customer_id=int(c), segment_id=int(s), distance=float(d), fitted=fitted)
                for c, s, d in zip(
                    customers[start : start + size],
                    segs[start : start + size],
                    dists[start : start + size],
                    strict=True,
                )
            ],
            ignore_conflicts=not fitted,
        )
    return len(frame)


def run_activate(*, run: SegmentRun, result: SegmentationResult, worker: str) -> None:
    """In ONE transaction: carry lineage from the previous active run, mark the run succeeded, make it active."""
    from segmentation.lineage import segments_inherit

    fields = _result_fields(result)
    # A restart after a lost worker left a note in `error`: keep it with the evidence of the succeeded run.
    note = SegmentRun.objects.filter(pk=run.pk).values_list("error", flat=True).first()
    if note:
        fields["evidence"]["notes"] = [note]
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
        segments_inherit(run=run, previous=previous)
        Segmentation.objects.filter(pk=segmentation.pk).update(active_run=run, updated_at=timezone.now())
        activity_record(
            actor=run.requested_by,
            verb="segmentation.run_activated",
            obj=run,
            before={"active_run": previous.pk if previous else None},
            after={"active_run": run.pk, "k": run.chosen_k},
        )


# --------------------------------------------------------------------------------------------- upkeep


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
            _run_results_remove(run_id=run_id)
            count += 1
    return count


def runs_prune_history(*, keep: int | None = None, segmentation: Segmentation | None = None) -> int:
    """Delete finished, non-active runs beyond the newest `keep` per segmentation (memberships cascade)."""
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
        from campaigns.selectors import run_ids_in_use  # campaigns pin runs: their audiences must survive

        in_use = run_ids_in_use()
        old = [rid for rid in list(finished)[keep:] if rid != active_id and rid not in in_use]
        if old:
            with transaction.atomic():
                memberships_remove(run_ids=old, lock_timeout_ms=5000)  # busy readers: prune next time
                Segment.objects.filter(run_id__in=old).delete()
                deleted += SegmentRun.objects.filter(pk__in=old).delete()[1].get(SegmentRun._meta.label, 0)
    return deleted


def memberships_assign_new(*, segmentation: Segmentation | None = None) -> int:
    """Customers without a membership in the active run get the nearest segment (fitted=False); returns how many."""
    from segmentation import ml

    segmentations = (
        [segmentation] if segmentation is not None else list(Segmentation.objects.filter(active_run__isnull=False))
    )
    total = 0
    for seg in segmentations:
        run_id = Segmentation.objects.filter(pk=seg.pk).values_list("active_run_id", flat=True).first()
        if run_id is None:
            continue
        run = SegmentRun.objects.get(pk=run_id)
        new_ids = Customer.objects.exclude(
            Exists(Membership.objects.filter(run_id=run_id, customer_id=OuterRef("pk")))
        ).values("pk")
        features = list(run.params.get("features") or [])
        df = loading.customers_frame(features=features, customer_ids=new_ids)
        if df.empty or not run.model:
            continue
        labels, distances = ml.assign(df, run.model)
        labels = pd.to_numeric(pd.Series(np.asarray(labels, dtype=object)), errors="coerce").to_numpy()
        distances = np.asarray(distances, dtype=np.float64)
        keep = ~np.isnan(labels.astype(np.float64)) & (labels.astype(np.float64) >= 0)
        if not keep.any():
            continue
        segments = dict(Segment.objects.filter(run_id=run_id).values_list("label", "id"))
        lab = labels[keep].astype(np.int64)
        frame = pd.DataFrame(
            {
                "customer_id": df.index.to_numpy()[keep],
                "segment_id": [segments.get(int(x), -1) for x in lab],
                "distance": distances[keep],
            }
        )
        frame = frame[frame["segment_id"] >= 0]
        # Small sets (new customers): bulk_create ignoring conflicts, safe against a concurrent assignment.
        total += _memberships_insert_ignoring_conflicts(run_id=run_id, frame=frame)
    return total


def _memberships_insert_ignoring_conflicts(*, run_id: int, frame: pd.DataFrame) -> int:
    objs = [
        Membership(run_id=run_id, customer_id=int(c), segment_id=int(s), distance=float(d), fitted=False)
        for c, s, d in frame[["customer_id", "segment_id", "distance"]].itertuples(index=False, name=None)
    ]
    Membership.objects.bulk_create(objs, batch_size=5000, ignore_conflicts=True)
    return len(objs)


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
    from celery.schedules import ParseException, crontab_parser

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
