"""Reads of the segmentation editor: the columns a segmentation may use, with their shape, and the preview.

Both work on a fixed-seed sample of at most `SAMPLE_LIMIT` customers, drawn in the database by a hash
of the customer id (as `samples.run_sample` does), so they take the same bounded time at 2,000 and at
1,000,000 customers: `customers_sample` reads only the sampled rows' columns (`loading.customers_frame`).
`column_stats` gives each column's coverage (share of non-missing values) and a histogram of binned
counts; `segmentation_preview` runs the engine on the sample for unsaved values and writes nothing.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from django.core.cache import cache
from django.db import connection
from django.db.models import F

from customers.models import Customer
from customers.selectors.columns import column_list
from customers.selectors.versions import customers_write_version
from segmentation import loading
from segmentation.ml import segment
from segmentation.ml.types import SegmentationConfig
from segmentation.models import Segment, Segmentation, SegmentRun

SAMPLE_LIMIT = 5_000
SAMPLE_SEED = 0
HISTOGRAM_BINS = 16
# The preview fits fewer KMeans starts and stability resamples than a run (said on the page): a few seconds.
PREVIEW_N_INIT = 4
PREVIEW_STABILITY_RESAMPLES = 3
_HASH_MULT = 2654435761
_HASH_MOD = 1_000_003


def customers_sample(
    *, features: Sequence[str], limit: int = SAMPLE_LIMIT, seed: int = SAMPLE_SEED
) -> tuple[pd.DataFrame, int]:
    """The feature columns of at most `limit` customers (the same ones for the same data and seed), and the total."""
    total = Customer.objects.count()
    ids = None
    if total > limit:
        threshold = math.ceil(_HASH_MOD * min(1.0, limit * 1.15 / total))
        hashed = Customer.objects.order_by().annotate(h=(F("id") * _HASH_MULT + seed) % _HASH_MOD)
        ids = list(hashed.filter(h__lt=threshold).order_by("h", "id").values_list("id", flat=True)[:limit])
    frame = loading.customers_frame(features=list(features), customer_ids=ids)
    return frame.sort_index(), total


@dataclass(frozen=True)
class ColumnStat:
    """One column a segmentation may use, with its coverage and histogram on the sample."""

    key: str
    label: str
    kind: str
    unit: str
    role: str
    coverage: float  # share of sampled customers with a value, 0..1
    bars: tuple[float, ...]  # bin counts relative to the fullest bin, 0..1
    low: float | None
    high: float | None

    @property
    def title(self) -> str:
        return f"{self.label} ({self.unit})" if self.unit else self.label

    @property
    def coverage_pct(self) -> float:
        return self.coverage * 100

    def histogram_rects(self, *, width: float = 96, height: float = 24) -> list[dict[str, float]]:
        """The bars of a `width` x `height` SVG histogram (x, y, w, h), empty bins left out."""
        if not self.bars:
            return []
        step = width / len(self.bars)
        return [
            {
                "x": round(i * step, 2),
                "y": round(height * (1 - b), 2),
                "w": round(step - 1, 2),
                "h": round(height * b, 2),
            }
            for i, b in enumerate(self.bars)
            if b > 0
        ]


@dataclass(frozen=True)
class ColumnStats:
    columns: list[ColumnStat]
    sample_size: int
    total: int


COLUMN_STATS_CACHE_SECONDS = 3600


def column_stats(*, limit: int = SAMPLE_LIMIT) -> ColumnStats:
    """Every column a segmentation may use (`loading.features_available`), described on a sample of customers.

    On PostgreSQL kept in the cache until the customers change (`customers_write_version`): the editor opens
    fast at 1M.
    """
    available = loading.features_available()
    meta = {c.key: c for c in column_list()}
    version = customers_write_version()
    key = None
    if version is not None:
        parts = (version, [(k, meta[k]) for k in available if k in meta], limit, connection.settings_dict.get("NAME"))
        key = "segmentation:column-stats:" + hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
        hit = cache.get(key)
        if hit is not None:
            return hit
    stats = _column_stats(available=available, meta=meta, limit=limit)
    if key is not None:
        cache.set(key, stats, COLUMN_STATS_CACHE_SECONDS)
    return stats


def _column_stats(*, available: list[str], meta: dict, limit: int) -> ColumnStats:
    frame, total = customers_sample(features=available, limit=limit)
    out = []
    for key in available:
        col = meta.get(key)
        values = frame[key]
        if key == "gender":
            text = values.astype("string").str.strip().str.lower()
            present = text.isin(["female", "male"])
            counts = np.array([(text == "female").sum(), (text == "male").sum()], dtype=float)
            low = high = None
        else:
            numbers = pd.to_numeric(values, errors="coerce").replace([np.inf, -np.inf], np.nan)
            present = numbers.notna()
            finite = numbers[present].to_numpy(dtype=float)
            counts = np.histogram(finite, bins=HISTOGRAM_BINS)[0].astype(float) if len(finite) else np.zeros(0)
            low, high = (float(finite.min()), float(finite.max())) if len(finite) else (None, None)
        peak = counts.max() if len(counts) and counts.max() > 0 else 1.0
        out.append(
            ColumnStat(
                key=key,
                label=col.label if col else key,
                kind=col.kind if col else "number",
                unit=col.unit if col else "",
                role=col.role if col else "other",
                coverage=float(present.mean()) if len(frame) else 0.0,
                bars=tuple(float(c / peak) for c in counts),
                low=low,
                high=high,
            )
        )
    return ColumnStats(columns=out, sample_size=len(frame), total=total)


@dataclass
class Preview:
    """The engine's answer on the sample: k evidence, the chosen k and why, segment sizes; or why there is none."""

    ok: bool
    reason: str
    sample_size: int
    total: int
    seconds: float
    n_init: int = PREVIEW_N_INIT
    stability_resamples: int = PREVIEW_STABILITY_RESAMPLES
    chosen_k: int | None = None
    evidence: list[dict] = field(default_factory=list)  # per k: k and each criterion
    preferred: dict[str, int] = field(default_factory=dict)
    sizes: list[dict] = field(default_factory=list)  # per segment: label, name, size, share
    excluded: int = 0
    outliers: int = 0


def segmentation_preview(*, config: SegmentationConfig, limit: int = SAMPLE_LIMIT) -> Preview:
    """Run the engine on a sample of at most `limit` customers for `config` (saved or not); nothing is written.

    Fewer KMeans starts and stability resamples than a run (`PREVIEW_N_INIT`, `PREVIEW_STABILITY_RESAMPLES`).
    """
    started = time.perf_counter()
    config = replace(
        config,
        n_init=min(config.n_init, PREVIEW_N_INIT),
        stability_resamples=min(config.stability_resamples, PREVIEW_STABILITY_RESAMPLES),
    )
    frame, total = customers_sample(features=config.features, limit=limit)
    result = segment(frame, config)
    seconds = time.perf_counter() - started
    preview = Preview(
        ok=result.ok,
        reason=result.reason,
        sample_size=len(frame),
        total=total,
        seconds=seconds,
        n_init=config.n_init,
        stability_resamples=config.stability_resamples,
    )
    if not result.ok:
        return preview
    preview.chosen_k = result.chosen_k
    preview.preferred = dict(result.preferred)
    preview.evidence = [
        {
            "k": e.k,
            "inertia": e.inertia,
            "silhouette": e.silhouette,
            "calinski_harabasz": e.calinski_harabasz,
            "davies_bouldin": e.davies_bouldin,
            "stability": e.stability,
            "chosen": e.k == result.chosen_k,
        }
        for e in sorted(result.evidence, key=lambda e: e.k)
    ]
    members = sum(s.size for s in result.segments) or 1
    preview.sizes = [
        {"label": s.label, "name": s.name, "size": s.size, "share_pct": 100 * s.size / members, "width": 0.0}
        for s in result.segments
    ]
    widest = max((s["size"] for s in preview.sizes), default=1) or 1
    for s in preview.sizes:
        s["width"] = 100 * s["size"] / widest
    preview.excluded = sum(result.excluded.values())
    preview.outliers = int((result.outliers or {}).get("count", 0))
    return preview


@dataclass
class ListEntry:
    """A segmentation on the list page: its active run with segment sizes, and its latest run."""

    segmentation: Segmentation
    active: SegmentRun | None
    sizes: list[dict]
    customers: int
    latest: SegmentRun | None
    columns: list[str]  # the features' titles ("Annual income (k$)")


def segmentation_list_entries() -> list[ListEntry]:
    """Every segmentation by name with its active run's segment sizes (three queries in all)."""
    segmentations = list(Segmentation.objects.select_related("active_run").order_by("name"))
    active_ids = [s.active_run_id for s in segmentations if s.active_run_id]
    sizes: dict[int, list[dict]] = {}
    for row in (
        Segment.objects.filter(run_id__in=active_ids)
        .order_by("run_id", "label")
        .values("run_id", "label", "name", "size")
    ):
        sizes.setdefault(row["run_id"], []).append(row)
    latest: dict[int, SegmentRun] = {}
    runs = SegmentRun.objects.filter(segmentation__in=segmentations).only(
        "id", "segmentation_id", "status", "queued_at", "finished_at", "chosen_k"
    )
    for run in runs.order_by("segmentation_id", "-queued_at", "-id"):
        latest.setdefault(run.segmentation_id, run)
    titles = {c.key: c.title for c in column_list()}
    entries = []
    for s in segmentations:
        rows = sizes.get(s.active_run_id, [])
        total = sum(r["size"] for r in rows) or 1
        for r in rows:
            r["share_pct"] = 100 * r["size"] / total
        entries.append(
            ListEntry(
                segmentation=s,
                active=s.active_run,
                sizes=rows,
                customers=sum(r["size"] for r in rows),
                latest=latest.get(s.pk),
                columns=[titles.get(f, f) for f in s.features or []],
            )
        )
    return entries
