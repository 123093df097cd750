"""Ranking metrics at k: HitRate, Precision, Recall, NDCG, MAP, and catalogue coverage.

``recommended`` is a (customers x k) array of product indices (-1 = no recommendation) and
``relevant`` a sparse (customers x products) matrix whose non-zeros are the products each customer
bought in the evaluation window and had not bought before.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

METRICS = ("ndcg_at_10", "hit_rate_at_10", "precision_at_10", "recall_at_10", "map_at_10", "coverage")


def hits_matrix(recommended: np.ndarray, relevant: sparse.csr_matrix) -> np.ndarray:
    """Boolean (customers x k): is the product at each rank relevant for its customer."""
    n_rows, k = recommended.shape
    if n_rows == 0:
        return np.zeros((0, k), dtype=bool)
    rows = np.repeat(np.arange(n_rows), k)
    cols = recommended.ravel()
    valid = cols >= 0
    out = np.zeros(n_rows * k, dtype=bool)
    out[valid] = np.asarray(relevant[rows[valid], cols[valid]]).ravel() > 0
    return out.reshape(n_rows, k)


def per_customer(recommended: np.ndarray, relevant: sparse.csr_matrix, k: int = 10) -> dict[str, np.ndarray]:
    """Each metric for each customer (rows with no relevant product should be left out by the caller)."""
    recommended = recommended[:, :k]
    hits = hits_matrix(recommended, relevant).astype(np.float64)
    n_relevant = np.diff(relevant.indptr).astype(np.float64)
    ideal_len = np.minimum(n_relevant, k)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = hits @ discounts
    ideal_cum = np.concatenate([[0.0], np.cumsum(discounts)])
    idcg = ideal_cum[ideal_len.astype(int)]
    n_hits = hits.sum(axis=1)
    precision_at = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "ndcg_at_10": np.where(idcg > 0, dcg / idcg, 0.0),
            "hit_rate_at_10": (n_hits > 0).astype(np.float64),
            "precision_at_10": n_hits / k,
            "recall_at_10": np.where(n_relevant > 0, n_hits / n_relevant, 0.0),
            "map_at_10": np.where(ideal_len > 0, (precision_at * hits).sum(axis=1) / ideal_len, 0.0),
        }


def summarise(
    recommended: np.ndarray, relevant: sparse.csr_matrix, n_products: int, k: int = 10, digits: int = 4
) -> dict[str, float]:
    """Mean of each metric over the customers, their count, and the catalogue coverage of the lists."""
    values = per_customer(recommended, relevant, k)
    out = {name: round(float(v.mean()), digits) if len(v) else 0.0 for name, v in values.items()}
    distinct = np.unique(recommended[:, :k][recommended[:, :k] >= 0])
    out["coverage"] = round(len(distinct) / n_products, digits) if n_products else 0.0
    out["customers"] = int(recommended.shape[0])
    return out
