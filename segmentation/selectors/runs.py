"""Reads of segmentations and runs: a run, its status and evidence, the dashboard, the history.

`SegmentRun.evidence` is `segmentation.ml.types.Evidence.as_dict()`: one shape, written by the run service.
A succeeded run with `attempts` > 1 was restarted after its worker was lost (see the run service).

Segment.profile: {feature: {"mean", "median", "min", "max", "z"}}; Segment.centroid: {feature: value},
both in real units (the engine's SegmentProfile.stats and .centroid).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db.models import QuerySet

from core.exceptions import ConfigError
from segmentation.ml.fields import NUMERIC_FEATURES
from segmentation.ml.types import Evidence
from segmentation.models import Membership, RunStatus, Segment, Segmentation, SegmentRun


def segmentation_by_name(*, name: str) -> Segmentation:
    segmentation = Segmentation.objects.filter(name=name).first()
    if segmentation is None:
        names = list(Segmentation.objects.values_list("name", flat=True))
        raise ConfigError(f"segmentation: no segmentation named {name!r}; existing are {', '.join(names) or 'none'}")
    return segmentation


def run_get(*, run_id: int) -> SegmentRun | None:
    return SegmentRun.objects.select_related("segmentation", "requested_by").filter(pk=run_id).first()


def run_status(*, run: SegmentRun) -> dict[str, Any]:
    """The small polling payload of a run."""
    return {
        "id": run.pk,
        "status": run.status,
        "stage": run.stage,
        "progress": run.progress,
        "error": run.error,
        "chosen_k": run.chosen_k,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


def run_evidence(*, run: SegmentRun) -> dict[str, Any]:
    """The run's evidence (the one stored shape, `segmentation.ml.types.Evidence`) for the run page."""
    ev = Evidence.from_dict(run.evidence or {})
    return {
        "per_k": [asdict(e) for e in ev.per_k],
        "preferred": ev.preferred,
        "knee": ev.knee,
        "disagreement": ev.disagreement,
    }


def run_features(*, run: SegmentRun, segments: list[Segment] | None = None) -> list[str]:
    """The features the run clustered on (its frozen params, else its centroids' keys)."""
    feats = (run.params or {}).get("features")
    if feats:
        return [str(f) for f in feats]
    segs = segments if segments is not None else list(run.segments.all()[:1])
    return list((segs[0].centroid or {}).keys()) if segs else []


def run_feature_choices(*, run: SegmentRun, segments: list[Segment] | None = None) -> list[str]:
    """Features a user may put on a scatter plot's axes: the canonical numbers and the run's features."""
    out = list(NUMERIC_FEATURES)
    for f in run_features(run=run, segments=segments):
        if f not in out:
            out.append(f)
    return out


def run_summary(*, run: SegmentRun) -> dict[str, Any]:
    """A run with its evidence and segments, as the `segment --json` command prints it."""
    segments = [
        {
            "id": s.pk,
            "label": s.label,
            "name": s.name,
            "size": s.size,
            "share": s.share,
            "centroid": s.centroid,
            "flags": s.flags,
            "strategy": s.strategy,
        }
        for s in run.segments.order_by("label")
    ]
    evidence = run_evidence(run=run)
    return {
        "run": run.pk,
        "segmentation": run.segmentation.name,
        "status": run.status,
        "k": run.chosen_k,
        "reason": run.error if run.status != "succeeded" else run.k_reason,
        "error": run.error,
        "rows_used": run.rows_used,
        "rows_dropped": run.rows_dropped,
        "params": run.params,
        "evidence": evidence["per_k"],
        "preferred": evidence["preferred"],
        "disagreement": evidence["disagreement"],
        "quality": run.quality,
        "segments": segments,
    }


def memberships_export_rows(*, run: SegmentRun) -> Iterator[tuple[str, int, str, float]]:
    """(external_id, segment_label, segment_name, distance) of every membership of `run`, streamed."""
    return (
        Membership.objects.filter(run=run)
        .order_by("customer__external_id")
        .values_list("customer__external_id", "segment__label", "segment__name", "distance")
        .iterator(chunk_size=10_000)
    )


def run_wait(
    *, run_id: int, timeout: float, poll: float = 0.5, on_tick: Callable[[SegmentRun], None] | None = None
) -> SegmentRun:
    """Poll the run row until it is finished or `timeout` seconds passed; returns the last state."""
    deadline = time.monotonic() + timeout
    while True:
        run = SegmentRun.objects.get(pk=run_id)
        if on_tick is not None:
            on_tick(run)
        if run.is_finished or time.monotonic() >= deadline:
            return run
        time.sleep(poll)


@dataclass
class DashboardEntry:
    segmentation: Segmentation
    active: SegmentRun | None
    segments: list[Segment] = field(default_factory=list)
    in_progress: SegmentRun | None = None
    failed: SegmentRun | None = None  # the latest run, when it failed after the active one
    customers: int | None = None


def dashboard_entries() -> list[DashboardEntry]:
    """Every segmentation with its active run and segments, any run in progress, and a failure to warn about."""
    entries = []
    for seg in Segmentation.objects.select_related("active_run", "active_run__requested_by").order_by("name"):
        active = seg.active_run
        latest = seg.runs.select_related("requested_by").order_by("-queued_at", "-id").first()
        in_progress = (
            seg.runs.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).order_by("-queued_at", "-id").first()
        )
        failed = latest if latest is not None and latest.status == RunStatus.FAILED else None
        segments = list(active.segments.order_by("label")) if active else []
        customers = active.rows_used if active and active.rows_used is not None else sum(s.size for s in segments)
        entries.append(
            DashboardEntry(
                segmentation=seg,
                active=active,
                segments=segments,
                in_progress=in_progress,
                failed=failed,
                customers=customers,
            )
        )
    return entries


def segmentation_runs(*, segmentation: Segmentation) -> QuerySet[SegmentRun]:
    return segmentation.runs.select_related("requested_by").order_by("-queued_at", "-id")


def recent_runs(*, limit: int = 50) -> QuerySet[SegmentRun]:
    return SegmentRun.objects.select_related("segmentation").filter(status=RunStatus.SUCCEEDED)[:limit]
