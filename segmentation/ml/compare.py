"""Comparing two clusterings of the same customers: matching, migration, agreement.

Pure (numpy / scipy only, never Django).

- `match_centroids`: pairs segments of run A with segments of run B by the optimal assignment
  (Hungarian method, scipy `linear_sum_assignment`) on the Euclidean distance between their
  centroids, each feature divided by a scale (its range over the customers) so that a feature in
  k$ does not outweigh one in years. With different numbers of segments the extra ones stay unmatched.
- `migration_matrix`: customers in segment i of A and segment j of B, for the customers in both.
- `adjusted_rand_from_contingency`: the adjusted Rand index (Hubert & Arabie) from that matrix,
  equal to sklearn's `adjusted_rand_score` on the common customers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment


@dataclass(frozen=True)
class Match:
    a: int  # label in run A
    b: int  # label in run B
    distance: float  # scaled centroid distance (features divided by their scale)


def feature_scales(features: Sequence[str], *profiles: Sequence[Mapping[str, Mapping[str, float]]]) -> dict[str, float]:
    """Per feature, the range (max − min) over every segment profile given; 1.0 when unknown or zero."""
    scales: dict[str, float] = {}
    for f in features:
        lo, hi = np.inf, -np.inf
        for segs in profiles:
            for prof in segs:
                stats = prof.get(f) or {}
                if stats.get("min") is not None:
                    lo = min(lo, float(stats["min"]))
                if stats.get("max") is not None:
                    hi = max(hi, float(stats["max"]))
        span = hi - lo
        scales[f] = float(span) if np.isfinite(span) and span > 0 else 1.0
    return scales


def centroid_distances(
    a: Mapping[int, Mapping[str, float]],
    b: Mapping[int, Mapping[str, float]],
    *,
    features: Sequence[str],
    scales: Mapping[str, float] | None = None,
) -> tuple[list[int], list[int], np.ndarray]:
    """Labels of A, labels of B and the matrix of scaled Euclidean distances between their centroids."""
    la, lb = sorted(a), sorted(b)
    s = np.array([float((scales or {}).get(f, 1.0)) or 1.0 for f in features])
    ca = np.array([[float(a[label][f]) for f in features] for label in la], dtype=float).reshape(len(la), len(features))
    cb = np.array([[float(b[label][f]) for f in features] for label in lb], dtype=float).reshape(len(lb), len(features))
    d = np.sqrt((((ca[:, None, :] - cb[None, :, :]) / s) ** 2).sum(axis=2))
    return la, lb, d


def match_centroids(
    a: Mapping[int, Mapping[str, float]],
    b: Mapping[int, Mapping[str, float]],
    *,
    features: Sequence[str],
    scales: Mapping[str, float] | None = None,
) -> list[Match]:
    """Optimal one-to-one matching of A's segments to B's by centroid distance, sorted by A's label."""
    if not a or not b or not features:
        return []
    la, lb, d = centroid_distances(a, b, features=features, scales=scales)
    rows, cols = linear_sum_assignment(d)
    return sorted(
        (Match(a=la[r], b=lb[c], distance=float(d[r, c])) for r, c in zip(rows, cols, strict=True)), key=lambda m: m.a
    )


def migration_matrix(labels_a: np.ndarray, labels_b: np.ndarray) -> tuple[list[int], list[int], np.ndarray]:
    """Contingency table of two label arrays aligned on the same customers: (A labels, B labels, counts)."""
    labels_a = np.asarray(labels_a)
    labels_b = np.asarray(labels_b)
    if labels_a.shape != labels_b.shape:
        raise ValueError(f"labels_a has {labels_a.shape[0]} rows but labels_b has {labels_b.shape[0]}")
    ua, ia = np.unique(labels_a, return_inverse=True)
    ub, ib = np.unique(labels_b, return_inverse=True)
    m = np.zeros((len(ua), len(ub)), dtype=np.int64)
    np.add.at(m, (ia, ib), 1)
    return [int(v) for v in ua], [int(v) for v in ub], m


def _comb2(x: np.ndarray | float) -> np.ndarray | float:
    return x * (x - 1) / 2.0


def adjusted_rand_from_contingency(matrix: np.ndarray | Sequence[Sequence[int]]) -> float | None:
    """Adjusted Rand index from a contingency table; None when there are fewer than two customers."""
    m = np.asarray(matrix, dtype=float)
    n = m.sum()
    if n < 2:
        return None
    sum_cells = _comb2(m).sum()
    sum_a = _comb2(m.sum(axis=1)).sum()
    sum_b = _comb2(m.sum(axis=0)).sum()
    expected = sum_a * sum_b / _comb2(n)
    maximum = (sum_a + sum_b) / 2.0
    if maximum == expected:  # both clusterings trivial (one group each, or all singletons)
        return 1.0
    return float((sum_cells - expected) / (maximum - expected))


def jaccard(intersection: int, size_a: int, size_b: int) -> float:
    """|A ∩ B| / |A ∪ B| from the intersection and both sizes."""
    union = size_a + size_b - intersection
    return float(intersection) / union if union > 0 else 0.0
