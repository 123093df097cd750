"""Synthetic planted groups: the chosen k is the planted number and the partition recovers them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import pdist
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from segmentation.ml import SegmentationConfig, segment

UNEQUAL_6 = [1000, 600, 300, 200, 100, 60]
UNEQUAL_15 = [600, 500, 400, 300, 300, 250, 200, 200, 150, 150, 120, 100, 100, 80, 60]


def planted(n_samples, k: int, dims: int, std: float, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """make_blobs groups, checked to be genuinely separate in the min-max scaled space the engine uses."""
    centers = None if isinstance(n_samples, list) else k
    x, y, c = make_blobs(
        n_samples=n_samples,
        centers=centers,
        n_features=dims,
        cluster_std=std,
        center_box=(-10, 10),
        random_state=seed,
        return_centers=True,
    )
    lo, hi = x.min(axis=0), x.max(axis=0)
    assert pdist((c - lo) / (hi - lo)).min() > 8 * (std / (hi - lo)).max(), "planted groups overlap: pick another seed"
    df = pd.DataFrame(x, columns=[f"attr_{j}" for j in range(dims)])
    return df, y


@pytest.mark.parametrize(
    ("n_samples", "k", "dims", "std", "seed", "k_max"),
    [
        (1500, 3, 2, 0.5, 1, 10),
        (2000, 4, 3, 0.8, 3, 10),
        (3000, 6, 5, 0.8, 1, 10),
        (3000, 8, 8, 0.8, 0, 10),
        ([1200, 500, 200, 100], 4, 2, 0.5, 3, 10),
        (UNEQUAL_6, 6, 4, 0.6, 0, 10),
        pytest.param(4500, 15, 6, 0.5, 0, 18, marks=pytest.mark.slow),
        pytest.param(UNEQUAL_15, 15, 8, 0.5, 0, 18, marks=pytest.mark.slow),
    ],
    ids=["3eq-2d", "4eq-3d", "6eq-5d", "8eq-8d", "4uneq-2d", "6uneq-4d", "15eq-6d", "15uneq-8d"],
)
def test_chosen_k_is_the_planted_number(n_samples, k, dims, std, seed, k_max):
    df, truth = planted(n_samples, k, dims, std, seed)

    # the smallest planted group may be below the default minimum share (2 %): 60 of 3,510 is 1.7 %
    smallest = min(n_samples) / sum(n_samples) if isinstance(n_samples, list) else 1 / k
    min_share = min(0.02, smallest * 0.8)
    result = segment(df, SegmentationConfig(features=tuple(df.columns), k_max=k_max, min_share=min_share))

    assert result.ok, result.reason
    assert result.chosen_k == k, result.reason
    assert adjusted_rand_score(truth[result.index], result.labels) >= 0.95
    sizes = [s.size for s in result.segments]
    assert sizes == sorted(sizes, reverse=True)
    if isinstance(n_samples, list):
        assert sizes == sorted(n_samples, reverse=True)


@pytest.mark.slow
def test_large_data_chooses_k_on_a_subsample_and_fits_all_rows():
    df, truth = planted(12_000, 5, 4, 0.6, 2)

    result = segment(
        df, SegmentationConfig(features=tuple(df.columns), k_max=8, subsample_rows=3000, silhouette_sample=1000)
    )
    exact = segment(
        df, SegmentationConfig(features=tuple(df.columns), k_max=8, subsample_rows=20_000, silhouette_sample=1000)
    )

    assert result.chosen_k == exact.chosen_k == 5
    assert "fixed-seed sample of 3,000 of 12,000 customers" in result.reason
    assert result.rows_used == 12_000 and len(result.labels) == 12_000
    assert adjusted_rand_score(truth[result.index], result.labels) >= 0.95
    assert result.quality["inertia"] == pytest.approx(exact.quality["inertia"], rel=0.01)

    shuffled = segment(
        df.sample(frac=1.0, random_state=3),
        SegmentationConfig(features=tuple(df.columns), k_max=8, subsample_rows=3000, silhouette_sample=1000),
    )
    assert np.array_equal(shuffled.index, result.index)
    assert np.array_equal(shuffled.labels, result.labels)
    assert shuffled.evidence == result.evidence
