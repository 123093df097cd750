"""Reads for the insight pages: dashboard, run page, segment page, history and comparison.

Stored evidence: `segmentation.ml.types.Evidence` (one shape, written by the run service).

Segment.profile: {feature: {"mean", "median", "min", "max", "z"}}; Segment.centroid: {feature: value},
both in real units (the engine's SegmentProfile.stats and .centroid).

Samples for scatter plots: `run_sample` draws a stratified sample of at most 20,000 memberships of
a run, proportional to segment sizes, with a fixed seed. A membership is drawn when a hash of its
customer id, h = (customer_id × 2654435761 + seed) mod 1,000,003, falls under a threshold that
keeps about 15 % more than needed; each segment then keeps its members with the lowest h up to its
quota (floor(limit × size / total)). The same run and seed always give the same sample, and the
database does the filtering (one scan of the run's memberships), so pages stay fast at 1M customers.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection
from django.db.models import F, Q, QuerySet

from customers.models import Customer
from segmentation.ml.fields import CANONICAL_FEATURES, NUMERIC_FEATURES
from segmentation.ml.types import Evidence
from segmentation.models import Membership, RunStatus, Segment, Segmentation, SegmentRun

SAMPLE_LIMIT = 20_000
SAMPLE_SEED = 0
_HASH_MULT = 2654435761
_HASH_MOD = 1_000_003

CANONICAL_NUMERIC = NUMERIC_FEATURES
DEFAULT_3D = NUMERIC_FEATURES
CRITERIA = ("silhouette", "calinski_harabasz", "davies_bouldin", "stability")


# --- runs and evidence ---


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
    out = list(CANONICAL_NUMERIC)
    for f in run_features(run=run, segments=segments):
        if f not in out:
            out.append(f)
    return out


def segment_dicts(*, segments: list[Segment]) -> list[dict[str, Any]]:
    return [
        {
            "id": s.id,
            "label": s.label,
            "name": s.name,
            "color": s.color,
            "size": s.size,
            "centroid": s.centroid or {},
            "profile": s.profile or {},
        }
        for s in segments
    ]


def run_get(*, run_id: int) -> SegmentRun | None:
    return SegmentRun.objects.select_related("segmentation", "requested_by").filter(pk=run_id).first()


def segment_get(*, segment_id: int) -> Segment | None:
    return (
        Segment.objects.select_related("run", "run__segmentation", "strategy_edited_by").filter(pk=segment_id).first()
    )


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


# --- samples ---


def _feature_column(feature: str) -> str:
    if feature in CANONICAL_FEATURES:
        return f"customer__{feature}"
    return f"customer__attributes__{feature}"


def run_sample(
    *, run: SegmentRun, features: list[str], limit: int = SAMPLE_LIMIT, seed: int = SAMPLE_SEED
) -> tuple[pd.DataFrame, int]:
    """A stratified sample (see module doc) with columns `label`, `segment_id`, `external_id` and the features."""
    segments = list(run.segments.all())
    label_of = {s.id: s.label for s in segments}
    total = sum(s.size for s in segments)
    qs = Membership.objects.filter(run=run)
    qs = qs.annotate(h=(F("customer_id") * _HASH_MULT + seed) % _HASH_MOD)
    if total > limit:
        threshold = math.ceil(_HASH_MOD * min(1.0, limit * 1.15 / total))
        qs = qs.filter(h__lt=threshold)
    features = list(dict.fromkeys(features))
    cols = [_feature_column(f) for f in features]
    rows = list(qs.values_list("segment_id", "h", "customer__external_id", *cols))
    df = pd.DataFrame(rows, columns=["segment_id", "h", "external_id", *features])
    if total > limit and len(df):
        quotas = {s.id: int(limit * s.size / total) for s in segments}
        df = df.sort_values(["segment_id", "h", "external_id"])
        df = df[df.groupby("segment_id").cumcount() < df["segment_id"].map(quotas)]
    df["label"] = df["segment_id"].map(label_of)
    for f in features:
        if f == "gender":
            df[f] = df[f].map({"female": 1.0, "male": 0.0})
        df[f] = pd.to_numeric(df[f], errors="coerce")
    df = df.sort_values(["h", "external_id"]).reset_index(drop=True)
    return df, total


def sample_silhouette(
    *, sample: pd.DataFrame, features: list[str], limit: int = 1500
) -> tuple[np.ndarray, np.ndarray] | None:
    """Silhouette per customer on (at most `limit` of) the sample, features min-max scaled over the sample."""
    from sklearn.metrics import silhouette_samples

    if not features:
        return None
    data = sample.dropna(subset=features)
    if len(data) > limit:
        share = limit / len(data)
        quota = data.groupby("label")["label"].transform("size").mul(share).astype(int).clip(lower=1)
        data = data[data.groupby("label").cumcount() < quota]
    labels = data["label"].to_numpy()
    if len(np.unique(labels)) < 2 or len(data) < 3:
        return None
    X = data[features].to_numpy(dtype=float)
    span = X.max(axis=0) - X.min(axis=0)
    span[span == 0] = 1.0
    X = (X - X.min(axis=0)) / span
    return silhouette_samples(X, labels), labels


# --- segment page ---


def segment_members(*, segment: Segment, search: str = "") -> QuerySet[Membership]:
    """Members of a segment: by customer id order (walks the (segment, customer) index, fast at any size);
    a search by external id (case-insensitive substring) is ordered by external id."""
    qs = Membership.objects.filter(segment=segment).select_related("customer")
    search = search.strip()
    if search:
        return qs.filter(customer__external_id__icontains=search).order_by("customer__external_id")
    return qs.order_by("customer_id")


def segment_member_rows(*, segment: Segment):
    """Rows for the members CSV, streamed from the database in chunks."""
    return (
        Membership.objects.filter(segment=segment)
        .order_by("customer__external_id")
        .values_list(
            "customer__external_id",
            "customer__gender",
            "customer__age",
            "customer__annual_income",
            "customer__spending_score",
            "distance",
            "fitted",
        )
        .iterator(chunk_size=5000)
    )


# --- comparison ---


def run_pair_counts(*, run_a: SegmentRun, run_b: SegmentRun) -> dict[tuple[int, int], int]:
    """Customers per (segment of A, segment of B), over the customers in both runs (one grouped query)."""
    table = Membership._meta.db_table
    sql = (
        f"SELECT a.segment_id, b.segment_id, COUNT(*) FROM {table} a "
        f"JOIN {table} b ON a.customer_id = b.customer_id "
        "WHERE a.run_id = %s AND b.run_id = %s GROUP BY a.segment_id, b.segment_id"
    )
    with connection.cursor() as cur:
        cur.execute(sql, [run_a.pk, run_b.pk])
        return {(int(sa), int(sb)): int(n) for sa, sb, n in cur.fetchall()}


def run_compare(*, run_a: SegmentRun, run_b: SegmentRun, examples: int = 5) -> dict[str, Any]:
    """Matched segments, migration matrix, ARI and who entered / left each of B's segments."""
    from segmentation.ml.compare import adjusted_rand_from_contingency

    segs_a = list(run_a.segments.order_by("label"))
    segs_b = list(run_b.segments.order_by("label"))
    counts = run_pair_counts(run_a=run_a, run_b=run_b)
    matrix = np.array([[counts.get((sa.id, sb.id), 0) for sb in segs_b] for sa in segs_a], dtype=np.int64)
    common = int(matrix.sum())
    ari = adjusted_rand_from_contingency(matrix) if common else None

    pairs = _segment_pairs(segs_a=segs_a, segs_b=segs_b)

    rows = []
    for j, sb in enumerate(segs_b):
        sa, dist = pairs.get(sb.id, (None, None))
        col = matrix[:, j] if len(segs_a) else np.zeros(0)
        stayed = int(matrix[segs_a.index(sa), j]) if sa is not None else 0
        entered = int(col.sum()) - stayed
        left = int(matrix[segs_a.index(sa), :].sum()) - stayed if sa is not None else 0
        rows.append(
            {
                "b": sb,
                "a": sa,
                "distance": dist,
                "stayed": stayed,
                "entered": entered,
                "left": left,
                "entered_ids": _mover_ids(run_a=run_a, seg_a=sa, seg_b=sb, direction="entered", limit=examples),
                "left_ids": _mover_ids(run_a=run_a, seg_a=sa, seg_b=sb, direction="left", limit=examples)
                if sa is not None
                else [],
            }
        )
    return {
        "segments_a": segs_a,
        "segments_b": segs_b,
        "matrix": matrix.tolist(),
        "common": common,
        "ari": ari,
        "rows": rows,
        "unmatched_a": [s for s in segs_a if s not in [p[0] for p in pairs.values()]],
    }


def _segment_pairs(*, segs_a: list[Segment], segs_b: list[Segment]) -> dict[int, tuple[Segment, float | None]]:
    """B segment id -> (the same group in A, scaled centroid distance or None when paired by lineage).

    Segments sharing a lineage (carried by `segments_inherit`) are the same group by definition;
    otherwise segments are paired by the optimal matching of their centroids.
    """
    from segmentation.ml.compare import feature_scales, match_centroids

    pairs: dict[int, tuple[Segment, float | None]] = {}
    by_lineage = {s.lineage: s for s in segs_a if s.lineage}
    for sb in segs_b:
        if sb.lineage and sb.lineage in by_lineage:
            pairs[sb.id] = (by_lineage[sb.lineage], None)
    if pairs or not segs_a or not segs_b:
        return pairs
    features = sorted(set.intersection(*[set(s.centroid or {}) for s in segs_a + segs_b]))
    scales = feature_scales(features, [s.profile or {} for s in segs_a], [s.profile or {} for s in segs_b])
    a_by_label = {s.label: s for s in segs_a}
    b_by_label = {s.label: s for s in segs_b}
    for m in match_centroids(
        {s.label: s.centroid for s in segs_a}, {s.label: s.centroid for s in segs_b}, features=features, scales=scales
    ):
        pairs[b_by_label[m.b].id] = (a_by_label[m.a], m.distance)
    return pairs


def _mover_ids(*, run_a: SegmentRun, seg_a: Segment | None, seg_b: Segment, direction: str, limit: int) -> list[str]:
    if direction == "entered":
        qs = Membership.objects.filter(segment=seg_b, customer__memberships__run=run_a)
        if seg_a is not None:
            qs = qs.exclude(customer__memberships__segment=seg_a)
    else:
        qs = Membership.objects.filter(segment=seg_a, customer__memberships__run=seg_b.run_id).exclude(
            customer__memberships__segment=seg_b
        )
    return list(qs.order_by("customer__external_id").values_list("customer__external_id", flat=True)[:limit])


def run_moves_rows(*, run_a: SegmentRun, run_b: SegmentRun):
    """(external_id, segment in A, segment in B) for every common customer who is not in the same group in both."""
    segs_a = list(run_a.segments.order_by("label"))
    segs_b = list(run_b.segments.order_by("label"))
    same = {sa.id: sb_id for sb_id, (sa, _d) in _segment_pairs(segs_a=segs_a, segs_b=segs_b).items()}
    names = {s.id: s.name for s in segs_a + segs_b}
    table = Membership._meta.db_table
    ctable = Customer._meta.db_table
    sql = (
        f"SELECT c.external_id, a.segment_id, b.segment_id FROM {table} a "
        f"JOIN {table} b ON a.customer_id = b.customer_id JOIN {ctable} c ON c.id = a.customer_id "
        "WHERE a.run_id = %s AND b.run_id = %s ORDER BY c.external_id"
    )
    with connection.cursor() as cur:
        cur.execute(sql, [run_a.pk, run_b.pk])
        while chunk := cur.fetchmany(5000):
            for ext, sa, sb in chunk:
                if same.get(sa) != sb:
                    yield (ext, names.get(sa, ""), names.get(sb, ""))


def runs_for_compare_choices() -> QuerySet[SegmentRun]:
    return SegmentRun.objects.select_related("segmentation").filter(
        Q(status=RunStatus.SUCCEEDED) | Q(status=RunStatus.SUPERSEDED)
    )[:100]
