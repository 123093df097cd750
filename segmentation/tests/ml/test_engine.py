"""The engine on a tiny fixed dataset, bad inputs, features and preprocessing."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from segmentation.ml import SegmentationConfig, assign, segment, validate_config
from segmentation.ml.features import age_group_labels

FEATURES = ("annual_income", "spending_score")


def tiny() -> pd.DataFrame:
    """Twelve customers in three obvious groups; the index is the customer id."""
    rows = [
        # id, gender, age, income, spending
        (101, "female", 22, 20, 80),
        (102, "male", 24, 22, 85),
        (103, "female", 23, 18, 78),
        (104, "other", 25, 21, 82),
        (201, "male", 45, 90, 15),
        (202, "male", 50, 95, 10),
        (203, "female", 48, 88, 12),
        (204, "male", 52, 92, 18),
        (301, "female", 35, 55, 50),
        (302, "male", 38, 57, 48),
        (303, "female", 33, 53, 52),
        (304, "unknown", 40, 56, 49),
    ]
    df = pd.DataFrame(rows, columns=["id", "gender", "age", "annual_income", "spending_score"]).set_index("id")
    df["external_id"] = [f"C{i}" for i in df.index]
    return df


def test_tiny_dataset_golden():
    stages = []
    result = segment(
        tiny(), SegmentationConfig(features=FEATURES, k_max=5), progress=lambda s, p: stages.append((s, p))
    )

    assert result.ok, result.reason
    assert result.chosen_k == 3
    assert list(result.index) == [101, 102, 103, 104, 201, 202, 203, 204, 301, 302, 303, 304]
    # equal sizes: ties ordered by the centroid's coordinates (income first)
    assert list(result.labels) == [0, 0, 0, 0, 2, 2, 2, 2, 1, 1, 1, 1]
    assert [s.name for s in result.segments] == [
        "Low income · High spending",
        "Average income · Average spending",
        "High income · Low spending",
    ]
    assert result.segments[0].centroid == {"annual_income": 20.25, "spending_score": 81.25}
    assert result.segments[2].flags == ["upsell"]
    # the highest spending per customer is worth most, whatever the income (flags come from roles)
    assert result.segments[0].flags == ["high_value", "aspirational"]
    assert result.segments[1].flags == ["mainstream"]
    assert [s.size for s in result.segments] == [4, 4, 4]
    assert result.distances.shape == (12,) and (result.distances >= 0).all()
    assert [e.k for e in result.evidence] == [2, 3, 4, 5]
    assert [s for s, _ in stages][:2] == ["preparing", "choosing k"]
    assert {"fitting", "profiling"} <= {s for s, _ in stages}
    assert stages[-1] == ("done", 100)
    assert [p for _, p in stages] == sorted(p for _, p in stages)
    assert json.loads(json.dumps(result.model))["centroids"] == result.model["centroids"]


def test_fixed_k_overrides_the_choice():
    result = segment(tiny(), SegmentationConfig(features=FEATURES, k=2))

    assert result.ok and result.chosen_k == 2
    assert result.reason.startswith("k = 2: fixed by the configuration; only k = 2 was fitted and measured")
    assert len(result.segments) == 2
    assert [e.k for e in result.evidence] == [2]  # its own evidence only, no other k is fitted
    assert result.preferred == {} and result.disagreement is False


@pytest.mark.parametrize("k", [3, 12])
def test_a_fixed_k_above_the_sampling_threshold_measures_the_final_fit(k):
    """No separate fit on the sample: the evidence is the final centroids' segments on it (issue 10)."""
    rng = np.random.default_rng(0)
    centres = rng.uniform(0, 100, size=(k, 2))
    x = centres[rng.integers(0, k, size=3000)] + rng.normal(0, 2, size=(3000, 2))
    df = pd.DataFrame(x, columns=["a", "b"])
    config = SegmentationConfig(
        features=("a", "b"), k=k, n_init=5, scaler="none", transform="none", outliers="keep", subsample_rows=1000
    )
    result = segment(df, config)

    assert result.ok and result.chosen_k == k
    assert "measured on the final fit's segments" in result.reason
    [ev] = result.evidence
    sample = x[np.sort(np.random.default_rng(config.random_state).choice(3000, size=1000, replace=False))]
    centroids = np.asarray(result.model["centroids"])
    d2 = ((sample[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    assert ev.inertia == pytest.approx(d2.min(axis=1).sum())
    assert ev.silhouette is not None and ev.stability is not None
    assert "silhouette and stability on 1,000 rows" in result.reason  # the whole evaluation set: below 5,000
    if k > config.n_init:  # many segments: one start per resample, said in the reason
        assert "stability over 5 resamples of 1 k-means++ start each" in result.reason
    else:
        assert "stability over 5 resamples of 3 k-means++ starts each" in result.reason


def test_k_of_one_is_refused_like_everywhere_else():
    """One validator for every caller: k is auto or 2 to 100 in the engine as in the service and the database."""
    result = segment(tiny(), SegmentationConfig(features=FEATURES, k=1))

    assert result.ok is False and result.labels is None
    assert result.reason == "k: allowed is auto or a number from 2 to 100; got 1"


@pytest.mark.parametrize(
    ("frame", "config", "match"),
    [
        (tiny().iloc[:2], SegmentationConfig(features=FEATURES), r"too few customers: 2 usable; .* needs at least 3"),
        (
            tiny().iloc[:3],
            SegmentationConfig(features=FEATURES, k=4),
            r"too few customers: 3 usable; k = 4 needs at least 4",
        ),
        (
            tiny().assign(spending_score=50),
            SegmentationConfig(features=FEATURES),
            r"feature 'spending_score' is constant \(every customer has 50\)",
        ),
        (
            tiny().assign(annual_income=np.nan),
            SegmentationConfig(features=FEATURES),
            r"feature 'annual_income' is missing for every customer",
        ),
        (
            tiny(),
            SegmentationConfig(features=("annual_income", "loyalty")),
            r"features: 'loyalty' is not a customer field; allowed are age, annual_income, external_id, "
            r"gender, spending_score; got annual_income, loyalty",
        ),
        (
            tiny(),
            SegmentationConfig(features=FEATURES, k_min=6, k_max=3),
            r"k_max: allowed is k_min \(6\) to 100; got 3",
        ),
        (tiny(), SegmentationConfig(features=FEATURES, k=0), r"k: allowed is auto or a number from 2 to 100; got 0"),
        (tiny(), SegmentationConfig(features=FEATURES, k=13), r"k = 13 needs at least 13"),
        (
            tiny(),
            SegmentationConfig(features=FEATURES, scaler="zscore"),
            r"scaler: allowed are minmax, standard, robust, shared, none; got 'zscore'",
        ),
        (tiny(), SegmentationConfig(features=()), r"features: at least one feature is needed; got none"),
        (
            tiny().assign(annual_income=["12"] * 11 + ["lots"]),
            SegmentationConfig(features=FEATURES),
            r"feature 'annual_income' is not numeric: row 304, value 'lots' is not a number",
        ),
        (
            tiny().assign(annual_income=[np.nan] * 10 + [1, 2]),
            SegmentationConfig(features=FEATURES),
            r"too few customers: 2 usable \(10 of 12 rows dropped for missing values\)",
        ),
    ],
)
def test_bad_input_is_a_result_with_a_reason(frame, config, match):
    result = segment(frame, config)

    assert result.ok is False
    assert result.segments == [] and result.labels is None
    with pytest.raises(AssertionError, match=match):
        raise AssertionError(result.reason)


def test_validate_config_lists_every_problem():
    config = SegmentationConfig(features=("annual_income", "nope", "nope"), k_min=5, k_max=2, missing="guess")
    problems = validate_config(config, tiny().columns)

    assert len(problems) == 3
    assert any("features: 'nope' is not a customer field; each feature once" in p for p in problems)
    assert any("missing: allowed are drop, median, most_frequent; got 'guess'" in p for p in problems)
    assert any("k_max: allowed is k_min (5) to 100; got 2" in p for p in problems)
    assert validate_config(SegmentationConfig(features=FEATURES), tiny().columns) == []


def test_missing_values_are_dropped_and_counted():
    df = tiny()
    df.loc[[101, 202], "annual_income"] = np.nan
    df.loc[303, "spending_score"] = None

    result = segment(df, SegmentationConfig(features=FEATURES, k=3))

    assert result.missing == {"annual_income": 2, "spending_score": 1}
    assert result.rows_dropped == 3 and result.rows_used == 9
    assert 101 not in set(result.index) and 303 not in set(result.index)


@pytest.mark.parametrize(("policy", "value"), [("median", 56.0), ("most_frequent", 18.0)])
def test_missing_values_are_imputed(policy, value):
    df = tiny()
    df.loc[101, "annual_income"] = np.nan

    result = segment(df, SegmentationConfig(features=("age", *FEATURES), k=3, missing=policy))

    assert result.ok and result.rows_dropped == 0 and result.rows_used == 12  # 2 of 3 features: imputed
    assert result.missing["annual_income"] == 1
    assert result.model["impute"]["annual_income"] == value


@pytest.mark.parametrize("policy", ["drop", "median", "most_frequent"])
def test_customers_without_most_of_the_features_are_not_members(policy):
    df = tiny()
    df["orders"] = [1, 2, 1, 2, 30, 28, 31, 29, 10, 12, 11, 9]
    df.loc[101, "annual_income"] = np.nan  # 2 of 3: imputed unless the policy is drop
    df.loc[[102, 103], ["annual_income", "orders"]] = np.nan  # 1 of 3: never a member
    df.loc[104, ["annual_income", "orders", "spending_score"]] = np.nan  # none

    result = segment(df, SegmentationConfig(features=(*FEATURES, "orders"), k=3, missing=policy))

    expected = {"missing 2 of 3 features": 2, "missing all 3 features": 1}
    if policy == "drop":
        expected["missing annual_income"] = 1
    assert result.ok and result.excluded == expected
    assert result.rows_dropped == sum(expected.values()) and 102 not in set(result.index)
    labels, distances = assign(df, result.model)
    members = labels >= 0
    assert list(df.index[~members]) == sorted([102, 103, 104] + ([101] if policy == "drop" else []))
    assert np.isnan(distances[~members]).all()


def test_gender_is_encoded_and_other_or_unknown_are_missing():
    result = segment(tiny(), SegmentationConfig(features=("gender", "annual_income"), k=2, missing="drop"))

    assert result.missing["gender"] == 2  # 'other' and 'unknown'
    assert result.rows_used == 10
    assert result.model["encodings"]["gender"] == {"female": 1.0, "male": 0.0}


def test_age_groups_are_ordinals_of_the_bins():
    assert age_group_labels((18, 25, 35, 45, 55, 65)) == ["18–24", "25–34", "35–44", "45–54", "55–64", "65+"]
    df = tiny()
    df["age"] = [17, 18, 24, 25, 34, 35, 44, 45, 54, 55, 64, 90]
    result = segment(df, SegmentationConfig(features=("age", "annual_income"), age_groups=True, k=2))

    assert result.ok
    labels, _ = assign(df, result.model)
    assert len(labels) == 12
    groups = {s.label: s.stats["age"] for s in result.segments}
    assert min(g["min"] for g in groups.values()) == 0  # 17 joins the first group
    assert max(g["max"] for g in groups.values()) == 5  # 90 is 65+


@pytest.mark.parametrize("scaler", ["minmax", "standard", "robust"])
def test_every_scaler_finds_the_three_groups(scaler):
    result = segment(tiny(), SegmentationConfig(features=FEATURES, k_max=5, scaler=scaler))

    assert result.ok and result.chosen_k == 3
    assert sorted(s.size for s in result.segments) == [4, 4, 4]
    assert result.model["scaler"] == scaler


def test_attribute_columns_and_bool_features():
    df = tiny()
    df["orders"] = [1, 2, 1, 2, 30, 28, 31, 29, 10, 12, 11, 9]
    df["newsletter"] = [True, False] * 6
    result = segment(df, SegmentationConfig(features=("orders", "newsletter", "annual_income"), k=3))

    assert result.ok
    assert {"orders", "newsletter", "annual_income"} == set(result.segments[0].centroid)
    assert len({s.name for s in result.segments}) == 3


def test_names_stay_unique_when_levels_collide():
    rng = np.random.default_rng(0)
    # two groups that are both average on income and spending, told apart only by a small income shift
    a = pd.DataFrame({"annual_income": rng.normal(50, 1, 50), "spending_score": rng.normal(50, 1, 50)})
    b = pd.DataFrame({"annual_income": rng.normal(58, 1, 50), "spending_score": rng.normal(50, 1, 50)})
    lo = pd.DataFrame({"annual_income": rng.normal(10, 1, 50), "spending_score": rng.normal(10, 1, 50)})
    hi = pd.DataFrame({"annual_income": rng.normal(95, 1, 50), "spending_score": rng.normal(95, 1, 50)})
    df = pd.concat([a, b, lo, hi], ignore_index=True)

    result = segment(df, SegmentationConfig(features=FEATURES, k=4))

    names = [s.name for s in result.segments]
    assert len(set(names)) == 4
    assert "Average income (lower) · Average spending" in names
    assert "Average income (higher) · Average spending" in names
    assert not any("#" in n for n in names)


def test_k_max_is_lowered_to_what_the_data_allows():
    df = tiny().iloc[[0, 1, 4, 5, 8, 9]]

    result = segment(df, SegmentationConfig(features=FEATURES, k_max=10))

    assert result.ok, result.reason
    assert [e.k for e in result.evidence] == [2, 3]
    assert "k_max lowered from 10 to 3 for 6 distinct customers (at least two per segment on average)" in result.reason
    assert result.chosen_k == 3


def test_duplicate_customers_are_not_distinct_enough():
    df = pd.concat([tiny().iloc[[0]]] * 5 + [tiny().iloc[[4]]] * 5)

    result = segment(df, SegmentationConfig(features=FEATURES))

    assert not result.ok
    assert "too few distinct customers: only 2 different feature values" in result.reason
