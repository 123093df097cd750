"""Serving recommendations: every customer's top-n with the reason of each line, and what defines a segment.

* `served_lists`: the served model's top-n for customers with enough history, each line explained
  (`explain`: "bought with" the most similar product they bought, else popularity); customers with
  little or no history get their segment's popularity (the global one without a segment): cold start.
* `segment_lift`: the products bought by a larger share of a segment's customers than of the whole base.
Pure: pandas / numpy / scipy, never Django.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from segmentation.ml.recommend.interactions import Interactions
from segmentation.ml.recommend.models import Recommender, SegmentPopularity, top_n, top_of_block

if TYPE_CHECKING:
    from segmentation.ml.recommend.pipeline import RecommendConfig


def segment_labels(customers: np.ndarray, segments: Mapping | pd.Series | None) -> np.ndarray:
    if segments is None:
        return np.full(len(customers), "", dtype=object)
    series = pd.Series(segments) if not isinstance(segments, pd.Series) else segments
    series = series[~series.index.duplicated()]
    values = series.reindex(customers)
    return np.array(["" if v is None or v != v else str(v) for v in values], dtype=object)


def served_lists(
    models: dict[str, Recommender],
    served: str,
    full: Interactions,
    labels: np.ndarray,
    customers: Sequence | None,
    segments,
    config: RecommendConfig,
) -> pd.DataFrame:
    """Top-n for every customer with a reason per line; cold start for little or no history."""
    history = np.diff(full.matrix.indptr)
    days = np.zeros(full.shape[0], dtype=np.int64)
    if full.nnz:
        days = np.asarray(full.matrix.max(axis=1).toarray()).ravel()  # best count of distinct days
    warm = np.flatnonzero((history > 0) & (days >= max(config.cold_start_below, 1)))
    frames = []
    if len(warm):
        items, scores = top_n(models[served], full, warm, config.n, exclude_bought=config.exclude_bought)
        kind, related = explain(models, served, full, warm, items)
        frames.append(lines_frame(full.customers[warm], items, scores, kind, related, full.products))
    # Cold start: customers with too little history (in the matrix) and customers without purchases.
    cold_rows = np.setdiff1d(np.arange(full.shape[0]), warm)
    cold_customers = list(full.customers[cold_rows])
    cold_labels = list(labels[cold_rows])
    if customers is not None:
        known = set(full.customers.tolist())
        extra = [c for c in customers if c not in known]
        cold_customers += extra
        cold_labels += list(segment_labels(np.asarray(extra, dtype=object), segments))
    if cold_customers:
        seg_model: SegmentPopularity = models["segment_popularity"]
        scores_block = seg_model.score_labels(cold_labels)
        has_rows = cold_rows if config.exclude_bought else np.array([], dtype=np.int64)
        if len(has_rows):
            bought = full.matrix[has_rows]
            scores_block[np.repeat(np.arange(len(has_rows)), np.diff(bought.indptr)), bought.indices] = -np.inf
        items, scores = top_of_block(scores_block, min(config.n, full.shape[1]))
        kind = np.array(
            [
                ["segment_popular" if lab in seg_model.segment_scores_ else "popular"] * items.shape[1]
                for lab in cold_labels
            ],
            dtype=object,
        ).reshape(items.shape)
        related = np.full(items.shape, -1, dtype=np.int64)
        frames.append(
            lines_frame(
                np.asarray(cold_customers, dtype=object), items, scores, kind, related, full.products, cold=True
            )
        )
    if not frames:
        return pd.DataFrame(columns=["customer", "rank", "product", "score", "reason", "reason_product", "cold_start"])
    return pd.concat(frames, ignore_index=True)


def explain(models, served: str, full: Interactions, rows: np.ndarray, items: np.ndarray):
    """Why each line: the bought product most similar to it ("bought with ..."), or popularity."""
    kind = np.full(items.shape, "popular", dtype=object)
    related = np.full(items.shape, -1, dtype=np.int64)
    if served == "segment_popularity":
        seg = models["segment_popularity"]
        has = seg.has_segment(rows)
        kind[has] = "segment_popular"
        return kind, related
    if served == "popularity":
        return kind, related
    matrix = full.matrix
    if served == "item_knn":
        sim = models["item_knn"].similarity_
    else:
        factors = models["als"].item_factors_
        normed = factors / (np.linalg.norm(factors, axis=1, keepdims=True) + 1e-9)
    for i, r in enumerate(rows):
        bought = matrix.indices[matrix.indptr[r] : matrix.indptr[r + 1]]
        recs = items[i]
        valid = recs >= 0
        if not len(bought) or not valid.any():
            continue
        if served == "item_knn":
            block = sim[bought][:, recs[valid]].toarray()
        else:
            block = normed[bought] @ normed[recs[valid]].T
        best = block.argmax(axis=0)
        strength = block[best, np.arange(block.shape[1])]
        cols = np.flatnonzero(valid)
        good = strength > 0
        related[i, cols[good]] = bought[best[good]]
        kind[i, cols[good]] = "bought_with"
    return kind, related


def lines_frame(customers, items, scores, kind, related, products, cold: bool = False) -> pd.DataFrame:
    n_rows, n = items.shape
    valid = (items >= 0).ravel()
    rel = related.ravel()
    return pd.DataFrame(
        {
            "customer": np.repeat(np.asarray(customers, dtype=object), n)[valid],
            "rank": np.tile(np.arange(1, n + 1), n_rows)[valid],
            "product": products[items.ravel()[valid]],
            "score": np.nan_to_num(scores.ravel()[valid].astype(np.float64)),
            "reason": kind.ravel()[valid],
            "reason_product": np.where(rel >= 0, products[np.maximum(rel, 0)], None)[valid],
            "cold_start": np.full(valid.sum(), cold),
        }
    )


def segment_lift(interactions: Interactions, labels: np.ndarray, *, top: int = 10, min_buyers: int = 5) -> pd.DataFrame:
    """Products that define each segment: share of its customers who bought each vs the whole base (lift)."""
    binary = interactions.binary()
    overall = np.asarray(binary.sum(axis=0)).ravel() / max(binary.shape[0], 1)
    rows = []
    for label in sorted(set(labels) - {""}):
        members = np.flatnonzero(labels == label)
        counts = np.asarray(binary[members].sum(axis=0)).ravel()
        share = counts / len(members)
        with np.errstate(divide="ignore", invalid="ignore"):
            lift = np.where(overall > 0, share / overall, 0.0)
        lift[counts < min_buyers] = 0.0
        for j in np.argsort(-lift, kind="stable")[:top]:
            if lift[j] <= 0:
                break
            rows.append(
                {
                    "segment": label,
                    "product": interactions.products[j],
                    "buyers": int(counts[j]),
                    "share": float(share[j]),
                    "base_share": float(overall[j]),
                    "lift": float(lift[j]),
                }
            )
    return pd.DataFrame(rows, columns=["segment", "product", "buyers", "share", "base_share", "lift"])
