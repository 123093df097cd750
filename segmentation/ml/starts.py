"""Starts for a k-means fit on many rows: searched on samples, the best few carried to all rows.

scikit-learn's `KMeans(n_init=10)` runs ten k-means++ starts on every row, each to convergence: k-means++
costs about n·k·(2 + ln k) distances and every Lloyd iteration n·k. Most of that work finds the basin a fit
ends in, and a sample shows the basins as well as all rows do. So a fit above the sampling threshold
(`engine._fit_final`) searches its starts in two stages and carries only the best few to all rows:

1. *screen*: `starts` single k-means++ fits, each to convergence, on a fixed-seed sample of
   `SCREEN_ROWS_PER_SEGMENT` rows per segment (at least `SCREEN_MIN_ROWS`, at most the refine sample);
2. *refine*: the `REFINE_BEST` best screened fits continue (Lloyd from their centroids) on a fixed-seed
   sample of `REFINE_ROWS` rows (at least `REFINE_ROWS_PER_SEGMENT` per segment);
3. *carry*: the `CARRY_BEST` best refined fits, duplicates dropped (fits that ended in the same partition of
   the refine sample, i.e. the same inertia), continue on all rows (`fit_from_starts`); the lowest inertia wins.

The fits on samples run single-threaded: threads cost more than they bring on small matrices, and far more
on a busy machine. Measured with bench/bench_kselect.py (issue 10), single-threaded (OMP_NUM_THREADS=1, so
the ratio is the work, whatever the load of the machine; median of 3 runs), against `KMeans(n_init=10)` on
the same matrix: a fixed k = 6 on 1,000,000 x 8 costs 0.98x (1.93x before, when a fixed k ran n_init starts
on all rows; most of what is left is preparing the features and profiling the segments), inertia equal;
k = 100 on 100,000 overlapping points 0.65x (1.65x before, when 100 starts ran on 10,000 rows), inertia 1.4 %
lower and 95 planted centres found against 93. Over seeds 0-9 of 100 overlapping groups the search and carry
cost 0.45-0.55x of n_init=10 and end within 0.5 % of its inertia in 9 of 10 seeds (median -1.2 %; +1.4 %
on the one seed where n_init=10 is lucky: other random states of n_init=10 land 2-5 % above it there).
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

from segmentation.ml.kselect import sample_indices

SCREEN_ROWS_PER_SEGMENT = 30
SCREEN_MIN_ROWS = 2_000
REFINE_ROWS = 10_000
REFINE_ROWS_PER_SEGMENT = 50
REFINE_BEST = 20
CARRY_BEST = 3
DUPLICATE_REL = 1e-9  # refined fits whose inertias differ by less than this (relative) ended in the same partition


def search_starts(x: np.ndarray, k: int, *, starts: int, random_state: int) -> list[np.ndarray]:
    """The centroids of the best few of `starts` k-means++ starts searched on samples of `x`, best first.

    Deterministic under `random_state` (the samples and every start's seed derive from it).
    """
    refine_rows = min(len(x), max(REFINE_ROWS, REFINE_ROWS_PER_SEGMENT * k))
    x_refine = x[sample_indices(len(x), refine_rows, random_state + 1)]
    screen_rows = min(len(x_refine), max(SCREEN_MIN_ROWS, SCREEN_ROWS_PER_SEGMENT * k))
    x_screen = x_refine[sample_indices(len(x_refine), screen_rows, random_state + 2)]
    with threadpool_limits(limits=1):
        norms = np.einsum("ij,ij->i", x_screen, x_screen)
        seeds = [np.random.default_rng(random_state + 1000 + i) for i in range(starts)]
        screened = [
            KMeans(n_clusters=k, init=kmeans_plusplus(x_screen, k, rng=rng, norms=norms), n_init=1).fit(x_screen)
            for rng in seeds
        ]
        screened.sort(key=lambda km: km.inertia_)  # stable: ties keep the order of the seeds
        if screen_rows == refine_rows:
            refined = screened[:REFINE_BEST]
        else:
            refined = [
                KMeans(n_clusters=k, init=km.cluster_centers_, n_init=1).fit(x_refine) for km in screened[:REFINE_BEST]
            ]
            refined.sort(key=lambda km: km.inertia_)
    carried: list[KMeans] = []
    for km in refined:
        if any(abs(km.inertia_ - other.inertia_) <= DUPLICATE_REL * other.inertia_ for other in carried):
            continue  # the same partition of the refine sample: carrying it again would find the same fit
        carried.append(km)
        if len(carried) == CARRY_BEST:
            break
    return [km.cluster_centers_ for km in carried]


def kmeans_plusplus(x: np.ndarray, k: int, *, rng: np.random.Generator, norms: np.ndarray) -> np.ndarray:
    """Greedy k-means++ centres of `x` (`norms`: its squared row norms), as scikit-learn's `kmeans_plusplus`.

    The same algorithm (Arthur & Vassilvitskii 2007, with 2 + ln k candidates per centre, the one that
    lowers the potential most kept), without the per-centre input validation that dominates its time
    on a sample of a few thousand rows: about half the time of scikit-learn's at k = 100 on 3,000 rows.
    """
    n = len(x)
    trials = 2 + int(np.log(k))
    centres = np.empty((k, x.shape[1]), dtype=x.dtype)
    first = int(rng.integers(n))
    centres[0] = x[first]
    closest = np.maximum(norms - 2.0 * (x @ x[first]) + norms[first], 0.0)
    potential = closest.sum()
    for c in range(1, k):
        candidates = np.searchsorted(np.cumsum(closest), rng.random(trials) * potential)
        np.minimum(candidates, n - 1, out=candidates)
        d2 = norms[candidates, None] - 2.0 * (x[candidates] @ x.T) + norms
        np.maximum(d2, 0.0, out=d2)
        np.minimum(d2, closest, out=d2)
        potentials = d2.sum(axis=1)
        best = int(potentials.argmin())
        closest, potential = d2[best], potentials[best]
        centres[c] = x[candidates[best]]
    return centres


def fit_from_starts(x: np.ndarray, k: int, inits: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, float]:
    """KMeans on all rows from each of `inits`: labels, centroids and inertia of the lowest inertia (ties: first)."""
    fits = [KMeans(n_clusters=k, init=c, n_init=1).fit(x) for c in inits]
    best = min(fits, key=lambda km: km.inertia_)
    return best.labels_, best.cluster_centers_, float(best.inertia_)
