"""The recommenders: popularity (global and per segment), item-kNN, ALS (`implicit`) and a blend.

Every model follows scikit-learn's habits: ``__init__`` stores arguments, ``fit(interactions)``
learns (state ends in ``_``) and returns self, randomness only through ``random_state``. After the
fit, ``score(rows)`` gives a dense (rows x products) float32 block of scores; the shared `top_n`
turns scores into ranked product indices, leaving out already-bought products when asked.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

import numpy as np
from scipy import sparse

from segmentation.ml.errors import EngineInputError
from segmentation.ml.recommend.interactions import Interactions

TIE = 1e-6  # weight of all-time buyers that breaks ties between equally popular products


def default_threads() -> int:
    """Threads for ALS: at most 2 unless asked (the machine is shared with the web server and workers)."""
    return max(1, min(2, os.cpu_count() or 1))


@contextmanager
def bounded_blas(threads: int = 1):
    """BLAS (OpenBLAS / MKL) limited to ``threads`` inside the block: implicit runs its own threads."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads, user_api="blas"):
        yield


class Recommender:
    name = "base"

    def fit(self, interactions: Interactions) -> Recommender:  # pragma: no cover - interface
        raise NotImplementedError

    def score(self, rows: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def _check(self, interactions: Interactions) -> None:
        if interactions.shape[0] == 0 or interactions.shape[1] == 0 or interactions.nnz == 0:
            raise EngineInputError("no purchases to learn from (no customer bought any product)")


def buyers_per_product(interactions: Interactions, *, since_day: int | None = None) -> np.ndarray:
    """Distinct buyers of each product (only those whose latest purchase is on or after ``since_day``)."""
    last = interactions.last_day
    if since_day is None:
        return np.bincount(last.indices, minlength=last.shape[1]).astype(np.float64)
    recent = last.data >= since_day
    return np.bincount(last.indices[recent], minlength=last.shape[1]).astype(np.float64)


class Popularity(Recommender):
    """Products by distinct buyers over the last ``recent_days`` of the data (all time when None)."""

    name = "popularity"

    def __init__(self, recent_days: int | None = 90):
        self.recent_days = recent_days

    def fit(self, interactions: Interactions) -> Popularity:
        self._check(interactions)
        overall = buyers_per_product(interactions)
        if self.recent_days:
            since = int(interactions.last_day.data.max()) - int(self.recent_days) + 1
            recent = buyers_per_product(interactions, since_day=since)
        else:
            recent = overall
        self.buyers_ = overall
        self.scores_ = (recent + TIE * overall).astype(np.float32)
        return self

    def score(self, rows: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.scores_, (len(rows), self.scores_.shape[0])).copy()


class SegmentPopularity(Recommender):
    """Products by distinct recent buyers within the customer's segment; global popularity without one.

    ``segments`` gives each row's segment label (``None`` or ``""`` for none); a segment with fewer than
    ``min_members`` buyers falls back to global popularity too.
    """

    name = "segment_popularity"

    def __init__(self, segments=None, recent_days: int | None = 90, min_members: int = 20):
        self.segments = segments
        self.recent_days = recent_days
        self.min_members = min_members

    def fit(self, interactions: Interactions) -> SegmentPopularity:
        self._check(interactions)
        self.global_ = Popularity(self.recent_days).fit(interactions)
        labels = self._labels(interactions.shape[0])
        last = interactions.last_day
        since = (int(last.data.max()) - int(self.recent_days) + 1) if self.recent_days else None
        self.segment_scores_: dict[str, np.ndarray] = {}
        for label in sorted(set(labels) - {""}):
            members = np.flatnonzero(labels == label)
            if len(members) < self.min_members:
                continue
            block = last[members]
            keep = block.data >= since if since is not None else np.ones(block.nnz, bool)
            recent = np.bincount(block.indices[keep], minlength=block.shape[1])
            overall = np.bincount(block.indices, minlength=block.shape[1])
            self.segment_scores_[label] = (recent + TIE * overall + TIE * TIE * self.global_.scores_).astype(np.float32)
        self.labels_ = labels
        return self

    def _labels(self, n_rows: int) -> np.ndarray:
        if self.segments is None:
            return np.full(n_rows, "", dtype=object)
        labels = np.array(["" if s is None or s != s else str(s) for s in self.segments], dtype=object)
        if len(labels) != n_rows:
            raise EngineInputError(f"segments: {len(labels)} labels for {n_rows} customers")
        return labels

    def has_segment(self, rows: np.ndarray) -> np.ndarray:
        return np.array([self.labels_[r] in self.segment_scores_ for r in rows], dtype=bool)

    def score_labels(self, labels) -> np.ndarray:
        """Scores for customers given by segment label (also those without a row: no purchases yet)."""
        out = np.empty((len(labels), self.global_.scores_.shape[0]), dtype=np.float32)
        for i, label in enumerate(labels):
            out[i] = self.segment_scores_.get(label, self.global_.scores_)
        return out

    def score(self, rows: np.ndarray) -> np.ndarray:
        return self.score_labels(self.labels_[rows])


class ItemKNN(Recommender):
    """Item-item cosine neighbourhood on the bought / not-bought matrix, ``neighbours`` kept per product.

    ``shrink`` damps similarities supported by few common buyers (cosine with a shrunk denominator).
    """

    name = "item_knn"

    def __init__(self, neighbours: int = 100, shrink: float = 10.0):
        self.neighbours = neighbours
        self.shrink = shrink

    def fit(self, interactions: Interactions) -> ItemKNN:
        self._check(interactions)
        binary = interactions.binary().astype(np.float32)
        co = (binary.T @ binary).tocsr().astype(np.float32)
        norms = np.sqrt(np.asarray(co.diagonal(), dtype=np.float32))
        co.setdiag(0)
        co.eliminate_zeros()
        coo = co.tocoo()
        values = coo.data / (norms[coo.row] * norms[coo.col] + self.shrink)
        sim = sparse.csr_matrix((values.astype(np.float32), (coo.row, coo.col)), shape=co.shape)
        self.similarity_ = keep_top_per_row(sim, self.neighbours)
        self.user_items_ = binary
        return self

    def score(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray((self.user_items_[rows] @ self.similarity_).toarray(), dtype=np.float32)


def keep_top_per_row(matrix: sparse.csr_matrix, k: int) -> sparse.csr_matrix:
    """The ``k`` largest entries of each row (a symmetric input becomes row-wise neighbours)."""
    matrix = matrix.tocsr()
    indptr, indices, data = matrix.indptr, matrix.indices, matrix.data
    out_rows, out_cols, out_vals = [], [], []
    for r in range(matrix.shape[0]):
        start, end = indptr[r], indptr[r + 1]
        if end == start:
            continue
        vals = data[start:end]
        cols = indices[start:end]
        if end - start > k:
            top = np.argpartition(-vals, k - 1)[:k]
            vals, cols = vals[top], cols[top]
        out_rows.append(np.full(len(cols), r, dtype=np.int32))
        out_cols.append(cols)
        out_vals.append(vals)
    if not out_rows:
        return sparse.csr_matrix(matrix.shape, dtype=np.float32)
    # Score with X @ S: S[i, j] is how much buying i speaks for j, so neighbours are kept per column j.
    top = sparse.csr_matrix(
        (np.concatenate(out_vals), (np.concatenate(out_rows), np.concatenate(out_cols))), shape=matrix.shape
    )
    return top.T.tocsr()


def confidence(matrix: sparse.csr_matrix, weighting: str) -> sparse.csr_matrix:
    """Purchase counts -> ALS confidences: ``log`` (1 + log count), ``count`` or ``binary``."""
    out = matrix.astype(np.float32, copy=True)
    if weighting == "log":
        out.data = np.log1p(out.data)
    elif weighting == "binary":
        out.data[:] = 1.0
    elif weighting != "count":
        raise EngineInputError(f"weighting: expected log, count or binary, got {weighting!r}")
    return out


class ALS(Recommender):
    """Implicit-feedback matrix factorisation by `implicit`'s CPU ALS (conjugate gradient), threads bounded."""

    name = "als"

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 0.05,
        alpha: float = 10.0,
        iterations: int = 15,
        weighting: str = "log",
        random_state: int = 0,
        num_threads: int | None = None,
    ):
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.weighting = weighting
        self.random_state = random_state
        self.num_threads = num_threads

    def fit(self, interactions: Interactions) -> ALS:
        self._check(interactions)
        from implicit.cpu.als import AlternatingLeastSquares

        with bounded_blas(1):  # implicit checks the BLAS threads when the model is made
            model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=self.alpha,
                iterations=self.iterations,
                random_state=self.random_state,
                num_threads=self.num_threads or default_threads(),
            )
            model.fit(confidence(interactions.matrix, self.weighting), show_progress=False)
        self.user_factors_ = np.ascontiguousarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(model.item_factors, dtype=np.float32)
        return self

    def score(self, rows: np.ndarray) -> np.ndarray:
        return self.user_factors_[rows] @ self.item_factors_.T

    def item_similarity(self, items_a: np.ndarray, items_b: np.ndarray) -> np.ndarray:
        factors = self.item_factors_
        norms = np.linalg.norm(factors, axis=1) + 1e-9
        return (factors[items_a] / norms[items_a, None]) @ (factors[items_b] / norms[items_b, None]).T


class Blend(Recommender):
    """ALS and popularity: ``(1 - weight) * z(ALS scores of the customer) + weight * z(log popularity)``."""

    name = "blend"

    def __init__(self, als: ALS, popularity: Popularity, weight: float = 0.3):
        self.als = als
        self.popularity = popularity
        self.weight = weight

    def fit(self, interactions: Interactions) -> Blend:
        """Components are fitted by the caller (they are shared with the single models); this only checks."""
        if not hasattr(self.als, "item_factors_") or not hasattr(self.popularity, "scores_"):
            self.als.fit(interactions)
            self.popularity.fit(interactions)
        pop = np.log1p(self.popularity.scores_.astype(np.float64))
        self.popularity_z_ = ((pop - pop.mean()) / (pop.std() + 1e-9)).astype(np.float32)
        return self

    def score(self, rows: np.ndarray) -> np.ndarray:
        als = self.als.score(rows)
        als = (als - als.mean(axis=1, keepdims=True)) / (als.std(axis=1, keepdims=True) + 1e-9)
        return (1.0 - self.weight) * als + self.weight * self.popularity_z_[None, :]


def top_n(
    model: Recommender,
    interactions: Interactions,
    rows: np.ndarray,
    n: int = 10,
    *,
    exclude_bought: bool = True,
    batch: int = 2048,
) -> tuple[np.ndarray, np.ndarray]:
    """Top ``n`` product indices (best first) and their scores for each row; -1 / nan fill short rows."""
    rows = np.asarray(rows, dtype=np.int64)
    n_items = interactions.shape[1]
    n = min(n, n_items)
    items = np.full((len(rows), n), -1, dtype=np.int32)
    scores = np.full((len(rows), n), np.nan, dtype=np.float32)
    matrix = interactions.matrix
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        block = np.asarray(model.score(chunk), dtype=np.float32)
        if exclude_bought:
            bought = matrix[chunk]
            block[np.repeat(np.arange(len(chunk)), np.diff(bought.indptr)), bought.indices] = -np.inf
        items[start : start + len(chunk)], scores[start : start + len(chunk)] = top_of_block(block, n)
    return items, scores


def top_of_block(block: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Ranked top ``n`` columns per row (ties by lower column index, so results are deterministic)."""
    part = np.argpartition(block, block.shape[1] - n, axis=1)[:, -n:]  # the n largest, no negated copy
    vals = np.take_along_axis(block, part, axis=1)
    order = np.lexsort((part, -vals), axis=1)
    idx = np.take_along_axis(part, order, axis=1).astype(np.int32)
    val = np.take_along_axis(vals, order, axis=1)
    idx[~np.isfinite(val)] = -1
    val[~np.isfinite(val)] = np.nan
    return idx, val
