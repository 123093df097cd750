"""Two runs side by side: customers per pair of segments, matched segments, ARI and who moved.

The pair counts and the movers are one self-join of the memberships on the customer (raw SQL: the
ORM would join through the customers table). The table names are composed as identifiers with
psycopg's `sql` module; `as_string(None)` quotes them without a connection, so the same text runs on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from django.db import connection
from django.db.models import Q, QuerySet
from psycopg import sql

from customers.models import Customer
from segmentation.ml.compare import adjusted_rand_from_contingency, feature_scales, match_centroids
from segmentation.models import Membership, RunStatus, Segment, SegmentRun

_PAIR_COUNTS = sql.SQL(
    "SELECT a.segment_id, b.segment_id, COUNT(*) FROM {memberships} a "
    "JOIN {memberships} b ON a.customer_id = b.customer_id "
    "WHERE a.run_id = %s AND b.run_id = %s GROUP BY a.segment_id, b.segment_id"
)
_MOVES = sql.SQL(
    "SELECT c.external_id, a.segment_id, b.segment_id FROM {memberships} a "
    "JOIN {memberships} b ON a.customer_id = b.customer_id JOIN {customers} c ON c.id = a.customer_id "
    "WHERE a.run_id = %s AND b.run_id = %s ORDER BY c.external_id"
)


def run_pair_counts(*, run_a: SegmentRun, run_b: SegmentRun) -> dict[tuple[int, int], int]:
    """Customers per (segment of A, segment of B), over the customers in both runs (one grouped query)."""
    query = _PAIR_COUNTS.format(memberships=sql.Identifier(Membership._meta.db_table))
    with connection.cursor() as cur:
        cur.execute(query.as_string(None), [run_a.pk, run_b.pk])
        return {(int(sa), int(sb)): int(n) for sa, sb, n in cur.fetchall()}


def run_compare(*, run_a: SegmentRun, run_b: SegmentRun, examples: int = 5) -> dict[str, Any]:
    """Matched segments, migration matrix, ARI and who entered / left each of B's segments."""
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


def run_moves_rows(*, run_a: SegmentRun, run_b: SegmentRun) -> Iterator[tuple[str, str, str]]:
    """(external_id, segment in A, segment in B) for every common customer who is not in the same group in both."""
    segs_a = list(run_a.segments.order_by("label"))
    segs_b = list(run_b.segments.order_by("label"))
    same = {sa.id: sb_id for sb_id, (sa, _d) in _segment_pairs(segs_a=segs_a, segs_b=segs_b).items()}
    names = {s.id: s.name for s in segs_a + segs_b}
    query = _MOVES.format(
        memberships=sql.Identifier(Membership._meta.db_table), customers=sql.Identifier(Customer._meta.db_table)
    )
    with connection.cursor() as cur:
        cur.execute(query.as_string(None), [run_a.pk, run_b.pk])
        while chunk := cur.fetchmany(5000):
            for ext, sa, sb in chunk:
                if same.get(sa) != sb:
                    yield (ext, names.get(sa, ""), names.get(sb, ""))


def runs_for_compare_choices() -> QuerySet[SegmentRun]:
    return SegmentRun.objects.select_related("segmentation").filter(
        Q(status=RunStatus.SUCCEEDED) | Q(status=RunStatus.SUPERSEDED)
    )[:100]
