"""Golden tests on the shared mall_customers.csv (acceptance criteria of the engine)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from segmentation.ml import SegmentationConfig, assign, segment

pytestmark = pytest.mark.datasets

INCOME_SPENDING = SegmentationConfig(features=("annual_income", "spending_score"))


def test_income_and_spending_give_the_five_known_segments(mall):
    result = segment(mall, INCOME_SPENDING)

    assert result.ok, result.reason
    assert result.chosen_k == 5
    assert [s.size for s in result.segments] == [81, 39, 35, 23, 22]
    assert result.rows_used == 200 and result.rows_dropped == 0
    assert result.reason.startswith("k = 5: preferred by silhouette")
    assert set(result.preferred) >= {"silhouette", "calinski_harabasz", "davies_bouldin", "elbow", "stability"}
    assert [e.k for e in result.evidence] == list(range(2, 11))

    by_size = {s.size: s for s in result.segments}
    top = by_size[39]
    assert top.centroid["annual_income"] == pytest.approx(86.5, abs=0.1)
    assert top.centroid["spending_score"] == pytest.approx(82.1, abs=0.1)
    assert "high_value" in top.flags
    assert top.name == "High income · High spending"
    assert top.strategy_key == "retain_and_reward"

    upsell = by_size[35]
    assert upsell.centroid["annual_income"] == pytest.approx(88.2, abs=0.1)
    assert upsell.centroid["spending_score"] == pytest.approx(17.1, abs=0.1)
    assert "upsell" in upsell.flags
    assert upsell.name == "High income · Low spending"
    assert sum("high_value" in s.flags for s in result.segments) == 1

    assert [s.name for s in result.segments] == [
        "Average income · Average spending",
        "High income · High spending",
        "High income · Low spending",
        "Low income · Low spending",
        "Low income · High spending",
    ]
    assert len({s.name for s in result.segments}) == 5
    stats = top.stats["annual_income"]
    assert stats["min"] <= stats["median"] <= stats["max"] and stats["z"] > 0.9
    assert sum(s.share for s in result.segments) == pytest.approx(1.0)


def test_two_runs_give_identical_labels_names_and_evidence(mall):
    first = segment(mall, INCOME_SPENDING)
    second = segment(mall, INCOME_SPENDING)

    assert np.array_equal(first.labels, second.labels)
    assert np.array_equal(first.distances, second.distances)
    assert [s.name for s in first.segments] == [s.name for s in second.segments]
    assert first.evidence == second.evidence
    assert first.reason == second.reason


def test_a_shuffled_copy_gives_the_same_partition_and_labels(mall):
    result = segment(mall, INCOME_SPENDING)
    shuffled = segment(mall.sample(frac=1.0, random_state=7), INCOME_SPENDING)

    assert shuffled.chosen_k == 5
    a = dict(zip(result.index, result.labels, strict=True))
    b = dict(zip(shuffled.index, shuffled.labels, strict=True))
    ids = sorted(a)
    assert adjusted_rand_score([a[i] for i in ids], [b[i] for i in ids]) == 1.0
    assert [a[i] for i in ids] == [b[i] for i in ids]  # the stable order gives the very same labels


def test_adding_age_makes_the_criteria_disagree_and_the_result_says_so(mall):
    result = segment(mall, SegmentationConfig(features=("age", "annual_income", "spending_score")))

    assert result.ok
    assert result.disagreement is True
    assert "disagree" in result.reason
    scale_free = {result.preferred[c] for c in ("silhouette", "calinski_harabasz", "davies_bouldin")}
    assert len(scale_free) > 1
    assert len({s.name for s in result.segments}) == result.chosen_k


def test_assign_with_the_json_model_reproduces_the_fitted_labels(mall):
    result = segment(mall, INCOME_SPENDING)
    model = json.loads(json.dumps(result.model))

    labels, distances = assign(mall.loc[result.index], model)

    assert np.array_equal(labels, result.labels)
    assert np.allclose(distances, result.distances)


def test_assign_places_new_customers_by_nearest_centroid(mall):
    result = segment(mall, INCOME_SPENDING)
    names = [s.name for s in result.segments]
    new = mall.iloc[:3].copy()
    new[["annual_income", "spending_score"]] = [[130, 95], [130, 5], [np.nan, 50]]

    labels, distances = assign(new, json.loads(json.dumps(result.model)))

    assert names[labels[0]] == "High income · High spending"
    assert names[labels[1]] == "High income · Low spending"
    assert labels[2] == -1 and np.isnan(distances[2])  # missing income: not a member (drop), never imputed
    assert (distances[:2] >= 0).all()


def test_profiles_with_gender_and_age_groups(mall):
    config = SegmentationConfig(
        features=("gender", "age", "annual_income", "spending_score"), age_groups=True, k=4, scaler="standard"
    )
    result = segment(mall, config)

    assert result.ok and result.chosen_k == 4
    assert result.model["age_groups"] is True
    assert all(0 <= s.centroid["gender"] <= 1 for s in result.segments)
    assert all(0 <= s.stats["age"]["min"] <= s.stats["age"]["max"] <= 5 for s in result.segments)
    assert result.reason.startswith("k = 4: fixed by the configuration")
    assert [e.k for e in result.evidence] == [4]
