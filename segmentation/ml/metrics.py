"""Partition metrics for the evidence of a k, fast on the samples the engine measures them on.

`silhouette_many` is scikit-learn's `silhouette_score` for several labelings of the same points at the cost
of one; `adjusted_rand` is scikit-learn's `adjusted_rand_score` from one `bincount` (a contingency table
of the two labelings), without its sparse matrices: the stability of a k compares many pairs of
partitions of the same sample.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.metrics.pairwise import euclidean_distances

# Above this many segments a silhouette sums the distances per segment instead of through one-hot products.
ONEHOT_MAX_SEGMENTS = 16


def silhouette_many(x: np.ndarray, labelings: dict[int, np.ndarray], *, chunk_rows: int = 512) -> dict[int, float]:
    """The mean silhouette of several labelings of the same points, computing the distances once.

    Same definition as scikit-learn's `silhouette_score` (a point alone in its segment scores 0; only the
    segments present count), but each chunk of pairwise distances serves every labeling: the labelings
    with few segments through one matrix product with their stacked one-hot encodings; those with many
    (more than `ONEHOT_MAX_SEGMENTS`, where that product costs k times the distances) with the points
    ordered by the first of them, whose per-segment sums are then sums over consecutive columns, and a
    sparse product for any other.
    """
    if not labelings:
        return {}
    n = len(x)
    dense = {key: _encoded(labels) for key, labels in labelings.items()}
    many = [key for key, (_, m) in dense.items() if m > ONEHOT_MAX_SEGMENTS]
    if many:  # the mean silhouette does not depend on the order of the points
        order = np.argsort(dense[many[0]][0], kind="stable")
        x = x[order]
        dense = {key: (codes[order], m) for key, (codes, m) in dense.items()}
    encodings = {}
    for key, (codes, m) in dense.items():
        if key in many[1:]:
            encodings[key] = sparse.csr_matrix((np.ones(n), codes, np.arange(n + 1)), shape=(n, m)).T.tocsr()
        elif key not in many:
            onehot = np.zeros((n, m))
            onehot[np.arange(n), codes] = 1.0
            encodings[key] = onehot
    bounds = np.searchsorted(dense[many[0]][0], np.arange(dense[many[0]][1])) if many else None
    sums = {key: np.empty((n, m)) for key, (_, m) in dense.items()}
    for start in range(0, n, chunk_rows):
        rows = slice(start, start + chunk_rows)
        d = euclidean_distances(x[rows], x)
        d[np.arange(len(d)), np.arange(start, start + len(d))] = 0.0
        for key, encoding in encodings.items():
            sums[key][rows] = d @ encoding if key not in many else (encoding @ d.T).T
        if many:
            sums[many[0]][rows] = np.add.reduceat(d, bounds, axis=1)
    out: dict[int, float] = {}
    for key, (codes, m) in dense.items():
        per_cluster = sums[key]
        counts = np.bincount(codes, minlength=m).astype(float)
        own = counts[codes]
        a = per_cluster[np.arange(n), codes] / np.maximum(own - 1, 1)
        others = per_cluster / counts
        others[np.arange(n), codes] = np.inf
        b = others.min(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            s = np.where(own > 1, (b - a) / np.maximum(a, b), 0.0)
        out[key] = float(np.mean(np.nan_to_num(s)))
    return out


def _encoded(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Labels renumbered 0..m-1 over the segments present (as scikit-learn's silhouette does), and m."""
    present, codes = np.unique(labels, return_inverse=True)
    return codes.reshape(-1), len(present)


def adjusted_rand(a: np.ndarray, b: np.ndarray) -> float:
    """The adjusted Rand index of two labelings of the same points (as `sklearn.metrics.adjusted_rand_score`)."""
    a, b = _encoded(a)[0], _encoded(b)[0]
    n = len(a)
    if n < 2:
        return 1.0
    kb = int(b.max()) + 1
    table = np.bincount(a * kb + b, minlength=(int(a.max()) + 1) * kb).astype(float)
    pairs = float((table * (table - 1)).sum() / 2)
    rows = np.bincount(a).astype(float)
    cols = np.bincount(b).astype(float)
    sum_a, sum_b = float((rows * (rows - 1)).sum() / 2), float((cols * (cols - 1)).sum() / 2)
    total = n * (n - 1) / 2
    expected = sum_a * sum_b / total
    maximum = (sum_a + sum_b) / 2
    if maximum == expected:  # both trivial (one segment, or every point alone): identical partitions
        return 1.0
    return (pairs - expected) / (maximum - expected)
