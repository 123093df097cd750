"""Matching segments across runs, migration matrix and adjusted Rand index (pure)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from segmentation.ml.compare import (
    adjusted_rand_from_contingency,
    feature_scales,
    jaccard,
    match_centroids,
    migration_matrix,
)

FEATURES = ["annual_income", "spending_score"]
CENTROIDS = {
    0: {"annual_income": 55.0, "spending_score": 50.0},
    1: {"annual_income": 86.5, "spending_score": 82.0},
    2: {"annual_income": 88.2, "spending_score": 17.1},
    3: {"annual_income": 26.3, "spending_score": 79.4},
    4: {"annual_income": 26.3, "spending_score": 20.9},
}


def test_permuted_labels_match_identically():
    perm = {0: 3, 1: 0, 2: 4, 3: 1, 4: 2}
    b = {perm[k]: dict(v) for k, v in CENTROIDS.items()}
    matches = match_centroids(CENTROIDS, b, features=FEATURES)
    assert [(m.a, m.b) for m in matches] == sorted(perm.items())
    assert all(m.distance == 0 for m in matches)


def test_slightly_moved_centroids_still_match():
    b = {k: {f: v + 2.0 for f, v in c.items()} for k, c in CENTROIDS.items()}
    assert [(m.a, m.b) for m in match_centroids(CENTROIDS, b, features=FEATURES)] == [(i, i) for i in range(5)]


def test_different_k_leaves_extra_unmatched():
    b = {0: CENTROIDS[1], 1: CENTROIDS[4]}
    matches = match_centroids(CENTROIDS, b, features=FEATURES)
    assert [(m.a, m.b) for m in matches] == [(1, 0), (4, 1)]


def test_scaling_stops_one_unit_dominating():
    a = {0: {"income": 0.0, "age": 20.0}, 1: {"income": 100.0, "age": 60.0}}
    b = {0: {"income": 60.0, "age": 21.0}, 1: {"income": 40.0, "age": 59.0}}
    unscaled = match_centroids(a, b, features=["income", "age"])
    assert [(x.a, x.b) for x in unscaled] == [(0, 1), (1, 0)]  # raw units: the wide feature decides
    scaled = match_centroids(a, b, features=["income", "age"], scales={"income": 1000.0, "age": 40.0})
    assert [(x.a, x.b) for x in scaled] == [(0, 0), (1, 1)]


def test_feature_scales_from_profiles():
    prof = [{"age": {"min": 18, "max": 40}}, {"age": {"min": 30, "max": 70}}]
    assert feature_scales(["age", "x"], prof) == {"age": 52.0, "x": 1.0}


def test_empty_inputs():
    assert match_centroids({}, CENTROIDS, features=FEATURES) == []


def test_migration_matrix_and_ari_equal_sklearn():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 4, 500)
    b = np.where(rng.random(500) < 0.8, a, rng.integers(0, 5, 500))
    la, lb, m = migration_matrix(a, b)
    assert la == [0, 1, 2, 3] and lb == [0, 1, 2, 3, 4]
    assert m.sum() == 500 and m[0, 0] == int(((a == 0) & (b == 0)).sum())
    assert adjusted_rand_from_contingency(m) == pytest.approx(adjusted_rand_score(a, b))


def test_ari_is_one_for_permuted_labels():
    a = np.array([0, 0, 1, 1, 2, 2, 2])
    b = np.array([2, 2, 0, 0, 1, 1, 1])
    assert adjusted_rand_from_contingency(migration_matrix(a, b)[2]) == pytest.approx(1.0)


def test_ari_edge_cases():
    assert adjusted_rand_from_contingency([[1]]) is None
    assert adjusted_rand_from_contingency([[5]]) == 1.0


def test_migration_matrix_shape_mismatch():
    with pytest.raises(ValueError, match="labels_a has 2 rows but labels_b has 3"):
        migration_matrix(np.array([0, 1]), np.array([0, 1, 1]))


def test_jaccard():
    assert jaccard(5, 10, 10) == pytest.approx(5 / 15)
    assert jaccard(0, 0, 0) == 0.0
