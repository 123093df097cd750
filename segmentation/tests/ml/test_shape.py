"""The shape of the data before the fit: transforms, the minimum segment share, scalers and outliers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from segmentation.ml import SegmentationConfig, assign, segment
from segmentation.ml.config import config_errors
from segmentation.ml.features import skew_rule

MONEY = ("fresh", "milk", "grocery", "frozen")
PLANTED_SIZES = (700, 450, 250)
EXTREMES = ((4e6, 2e3, 1e3, 50), (5e7, 5e7, 5e7, 5e7))


def skewed_table(seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Three groups log-normal in four money columns (skewness ~35) and two extreme customers (truth -1)."""
    rng = np.random.default_rng(seed)
    centers = np.array([[6.0, 4.0, 7.0, 3.0], [8.0, 7.5, 5.0, 5.5], [9.5, 5.0, 9.0, 8.0]])
    parts = [np.expm1(rng.normal(c, 0.35, size=(n, 4))) for n, c in zip(PLANTED_SIZES, centers, strict=True)]
    x = np.vstack([*parts, np.array(EXTREMES)])
    truth = np.concatenate([np.full(n, g) for g, n in enumerate(PLANTED_SIZES)] + [np.full(len(EXTREMES), -1)])
    index = pd.RangeIndex(1, len(x) + 1)
    return pd.DataFrame(np.round(x), columns=list(MONEY), index=index), pd.Series(truth, index=index)


# --- transforms -------------------------------------------------------------------------------------


def test_skew_rule_fires_on_a_long_right_tail_only():
    rng = np.random.default_rng(0)
    fires, why = skew_rule(np.expm1(rng.normal(8, 1.0, 2000)))
    assert fires and "log1p" in why and "skewness" in why
    assert skew_rule(rng.normal(50, 10, 2000))[0] is False
    assert "negative" in skew_rule(np.r_[-1.0, np.expm1(rng.normal(8, 1.0, 500))])[1]
    assert "distinct" in skew_rule(np.r_[np.zeros(500), np.ones(3) * 1000])[1]


def test_transforms_are_recorded_and_undone_for_profiles():
    df, _ = skewed_table()
    result = segment(df, SegmentationConfig(features=MONEY, k=3))
    assert result.ok, result.reason
    chosen = {f: t["transform"] for f, t in result.transforms.items()}
    # the rule is decided on the members without the outliers: milk's groups alone are skewed 1.44
    assert chosen == {"fresh": "log1p", "milk": "none", "grocery": "log1p", "frozen": "log1p"}
    assert all(t["reason"].startswith("auto: skewness") for t in result.transforms.values())
    assert result.model["transforms"] == chosen
    # profiles in imported units: each segment's mean is the plain mean of its members' values
    used = df.loc[result.index]
    for profile in result.segments:
        members = used[result.labels == profile.label]
        for f in MONEY:
            assert profile.centroid[f] == pytest.approx(members[f].mean())
            assert profile.stats[f]["max"] == members[f].max()
    # new customers go through the same log1p before the centroids
    labels, _ = assign(df.loc[result.index[:50]], result.model)
    assert (labels == result.labels[:50]).all()


def test_transform_per_feature_overrides_the_default():
    df, _ = skewed_table()
    config = SegmentationConfig(features=MONEY, k=3, transform="none", transforms={"milk": "log"})
    result = segment(df, config)
    assert {f: t["transform"] for f, t in result.transforms.items()} == {
        "fresh": "none",
        "milk": "log1p",
        "grocery": "none",
        "frozen": "none",
    }
    assert result.transforms["milk"]["reason"] == "log chosen in the configuration"


def test_log_of_a_negative_feature_is_a_reason_not_a_crash():
    df = pd.DataFrame({"a": np.linspace(-5, 5, 50), "b": np.linspace(0, 1, 50)})
    result = segment(df, SegmentationConfig(features=("a", "b"), k=2, transforms={"a": "log"}))
    assert not result.ok
    assert "feature 'a': log needs non-negative values" in result.reason


def test_config_names_allowed_transforms_and_min_share():
    values = SegmentationConfig(features=("a",)).to_dict()
    values.update(transform="sqrt", transforms={"a": "exp"}, min_share=0.5, outliers="drop")
    errors = config_errors(values, available=["a"])
    assert errors["transform"] == "allowed are auto, none, log; got 'sqrt'"
    assert errors["transforms"] == "allowed are auto, none, log; got 'exp' for 'a'"
    assert errors["min_share"] == "allowed is a fraction from 0 to 0.2 (0.02 = 2 % of members); got 0.5"
    assert errors["outliers"] == "allowed are set_apart, keep; got 'drop'"
    assert SegmentationConfig.from_dict(values).transforms == {"a": "exp"}


def test_a_transform_for_a_feature_the_run_does_not_use_is_an_error():
    values = SegmentationConfig(features=("a", "b"), transforms={"c": "log"}).to_dict()
    errors = config_errors(values, available=["a", "b", "c"])
    assert errors == {"transforms": "a transform is for one of the features (a, b); got 'c'"}


# --- the skewed table: planted k, no crumbs, any row order -------------------------------------------


@pytest.mark.parametrize("order_seed", [None, 1, 2])
def test_skewed_table_gives_the_planted_k_without_crumbs_in_any_row_order(order_seed):
    df, truth = skewed_table()
    if order_seed is not None:
        df = df.sample(frac=1, random_state=order_seed)
    result = segment(df, SegmentationConfig(features=MONEY))
    assert result.ok, result.reason
    assert result.chosen_k == len(PLANTED_SIZES), result.reason
    assert min(s.share for s in result.segments) >= 0.02
    assert adjusted_rand_score(truth[result.index], result.labels) > 0.99
    # both extreme customers are set apart (and at most 1 % of the members: milk's raw tail adds one)
    assert {row["id"] for row in result.outliers["rows"]} >= set(truth.index[truth == -1])
    assert result.outliers["count"] <= 0.01 * len(df)


def test_skewed_table_without_the_transform_has_crumbs_and_says_so():
    df, truth = skewed_table()
    result = segment(df, SegmentationConfig(features=MONEY, transform="none"))
    assert "a segment below the minimum share of 2%" in result.reason
    assert "a long tail, not a few extreme customers; none set apart" in result.outliers["note"]
    assert adjusted_rand_score(truth[result.index], result.labels) < 0.9


def test_min_share_sets_aside_k_with_a_crumb_and_says_so():
    df, _ = skewed_table()
    result = segment(df, SegmentationConfig(features=MONEY, outliers="keep", k_max=6))
    assert "Not candidates, with a segment below the minimum share of 2%: k = " in result.reason
    assert min(s.share for s in result.segments) >= 0.02


@pytest.mark.parametrize("seed", range(5))
def test_skewed_table_gives_the_same_k_for_any_seed(seed):
    df, _ = skewed_table()
    result = segment(df, SegmentationConfig(features=MONEY, random_state=seed))
    assert result.chosen_k == len(PLANTED_SIZES), result.reason


# --- scalers ------------------------------------------------------------------------------------------


def test_scaler_none_keeps_the_values_and_shared_shares_one_range_per_unit():
    df, _ = skewed_table()
    df["age"] = np.random.default_rng(0).integers(18, 80, len(df))
    features = ("fresh", "milk", "age")
    units = {"fresh": "$", "milk": "$"}
    none = segment(df, SegmentationConfig(features=features, k=3, scaler="none", transform="none", outliers="keep"))
    assert none.model["center"] == [0.0, 0.0, 0.0] and none.model["scale"] == [1.0, 1.0, 1.0]

    shared = segment(
        df, SegmentationConfig(features=features, k=3, scaler="shared", units=units, transform="none", outliers="keep")
    )
    fresh, milk, age = shared.model["scale"]
    assert fresh == milk == max(df["fresh"].max() - df["fresh"].min(), df["milk"].max() - df["milk"].min())
    assert age == df["age"].max() - df["age"].min()  # years: a unit of its own
    assert shared.model["center"] == [df["fresh"].min(), df["milk"].min(), df["age"].min()]


def test_unscaled_fit_keeps_a_narrow_axis_narrow():
    """y spans 1/11 of x: min-max stretches y's noise to x's size; `none` keeps the groups along x."""
    rng = np.random.default_rng(3)
    centers_x = np.arange(6) * 20.0
    x = np.concatenate([rng.normal(c, 1.0, 150) for c in centers_x])
    y = rng.uniform(0, 110 / 11, len(x))
    df = pd.DataFrame({"x": x, "y": y})
    truth = np.repeat(np.arange(6), 150)
    fits = {s: segment(df, SegmentationConfig(features=("x", "y"), k=6, scaler=s)) for s in ("minmax", "none")}
    ari = {s: adjusted_rand_score(truth[r.index], r.labels) for s, r in fits.items()}
    assert ari["none"] > 0.99 > ari["minmax"]


# --- outliers -------------------------------------------------------------------------------------------


def test_an_extreme_income_is_set_apart_listed_and_no_longer_squeezes_the_scale(mall):
    df = mall.copy()
    df.loc[df.index[0], "annual_income"] = 666_666
    result = segment(df, SegmentationConfig())
    assert result.ok, result.reason
    assert result.outliers["count"] == 1
    (row,) = result.outliers["rows"]
    assert row["id"] == df.index[0] and row["values"]["annual_income"] == 666_666
    assert df.index[0] not in set(result.index)
    assert result.excluded == {}
    assert len(result.index) == len(df) - 1  # fitted without it
    assert result.rows_used == len(df) and result.rows_dropped == 0  # still a member, placed after the fit
    assert sum(s.size for s in result.segments) == len(df) - 1
    assert result.model["scale"][0] == df["annual_income"].iloc[1:].max() - df["annual_income"].iloc[1:].min()
    assert "Q3 + 3·IQR" in result.outliers["rule"]

    kept = segment(df, SegmentationConfig(outliers="keep"))
    assert kept.outliers["count"] == 0 and kept.rows_used == len(df)


def test_mall_has_no_outliers_and_no_transform(mall):
    result = segment(mall, SegmentationConfig())
    assert result.outliers["count"] == 0
    assert {f: t["transform"] for f, t in result.transforms.items()} == {
        "annual_income": "none",
        "spending_score": "none",
    }
    assert [s.size for s in result.segments] == [81, 39, 35, 23, 22]


def test_outliers_are_placed_like_new_customers_after_the_fit(mall):
    df = mall.copy()
    df.loc[df.index[0], "annual_income"] = 666_666
    result = segment(df, SegmentationConfig())
    labels, distances = assign(df.iloc[:3], result.model)
    assert (labels >= 0).all() and np.isfinite(distances).all()
    assert result.model["outlier_fences"]["high"][0] < 666_666
    assert segment(df, SegmentationConfig(outliers="keep")).model["outlier_fences"] is None
