"""Starts searched on samples and carried to all rows (`segmentation.ml.starts`, issue 10)."""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans

from segmentation.ml import starts
from segmentation.ml.metrics import adjusted_rand


def blobs(k: int, n: int, *, seed: int, spread: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 10 * k**0.5, size=(k, 2))
    return centres[rng.integers(0, k, size=n)] + rng.normal(0, spread, size=(n, 2)), centres


def test_kmeans_plusplus_picks_k_distinct_rows_far_apart():
    x, centres = blobs(8, 2000, seed=0, spread=0.1)
    norms = np.einsum("ij,ij->i", x, x)

    got = starts.kmeans_plusplus(x, 8, rng=np.random.default_rng(1), norms=norms)

    assert got.shape == (8, 2)
    assert all((x == c).all(axis=1).any() for c in got)  # rows of x
    # separated groups: each start lands in a different group, as scikit-learn's k-means++ does
    nearest = ((got[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
    assert len(set(nearest)) == 8


def test_kmeans_plusplus_is_deterministic_under_its_generator():
    x, _ = blobs(5, 500, seed=2)
    norms = np.einsum("ij,ij->i", x, x)

    first = starts.kmeans_plusplus(x, 5, rng=np.random.default_rng(7), norms=norms)
    again = starts.kmeans_plusplus(x, 5, rng=np.random.default_rng(7), norms=norms)

    np.testing.assert_array_equal(first, again)


def test_search_then_carry_matches_n_init_10_on_all_rows():
    x, centres = blobs(12, 30_000, seed=3)

    inits = starts.search_starts(x, 12, starts=12, random_state=42)
    labels, centroids, inertia = starts.fit_from_starts(x, 12, inits)

    baseline = KMeans(n_clusters=12, n_init=10, random_state=0).fit(x)
    assert 1 <= len(inits) <= starts.CARRY_BEST
    assert inertia <= 1.005 * baseline.inertia_
    assert adjusted_rand(labels, baseline.labels_) > 0.99
    assert centroids.shape == (12, 2)


def test_search_is_deterministic_and_drops_duplicate_starts():
    x, _ = blobs(4, 20_000, seed=4, spread=0.2)  # four clear groups: every start ends in the same partition

    first = starts.search_starts(x, 4, starts=10, random_state=5)
    again = starts.search_starts(x, 4, starts=10, random_state=5)

    assert len(first) == 1  # the same partition is carried to all rows once, not three times
    np.testing.assert_array_equal(first[0], again[0])


def test_the_samples_grow_with_k(monkeypatch):
    """At least 30 rows per segment to screen and 50 to refine, so a large k is not searched on crumbs."""
    sizes = []
    real = starts.sample_indices

    def recording(n, size, random_state):
        sizes.append(size)
        return real(n, size, random_state)

    monkeypatch.setattr(starts, "sample_indices", recording)
    x, _ = blobs(300, 40_000, seed=5, spread=0.3)

    inits = starts.search_starts(x, 300, starts=2, random_state=0)

    assert sizes == [50 * 300, 30 * 300]  # refine, then screen (a sample of the refine sample)
    assert all(c.shape == (300, 2) for c in inits)


def test_a_fixed_k_above_the_threshold_is_deterministic_in_any_row_order():
    import pandas as pd

    from segmentation.ml import SegmentationConfig, segment

    x, _ = blobs(5, 3000, seed=6, spread=1.5)
    df = pd.DataFrame(x, columns=["a", "b"])
    config = SegmentationConfig(
        features=("a", "b"), k=5, scaler="none", transform="none", outliers="keep", subsample_rows=1000
    )

    first, again = segment(df, config), segment(df, config)
    shuffled = segment(df.sample(frac=1.0, random_state=1), config)

    assert "fixed-seed sample of 1,000 of 3,000" in first.reason
    np.testing.assert_array_equal(first.labels, again.labels)
    assert first.model["centroids"] == again.model["centroids"] == shuffled.model["centroids"]
    assert first.evidence == again.evidence
