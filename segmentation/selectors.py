"""Reads of segmentations, runs, segments and memberships.

`SegmentRun.evidence` is `segmentation.ml.types.Evidence.as_dict()`.
A succeeded run with `attempts` > 1 was restarted after its worker was lost (see services).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from core.exceptions import ConfigError
from segmentation.ml.types import Evidence
from segmentation.models import Membership, Segmentation, SegmentRun


def segmentation_by_name(*, name: str) -> Segmentation:
    segmentation = Segmentation.objects.filter(name=name).first()
    if segmentation is None:
        names = list(Segmentation.objects.values_list("name", flat=True))
        raise ConfigError(f"segmentation: no segmentation named {name!r}; existing are {', '.join(names) or 'none'}")
    return segmentation


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
    evidence = Evidence.from_dict(run.evidence or {}).as_dict()
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
