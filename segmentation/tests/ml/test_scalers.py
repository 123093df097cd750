"""Per-feature scaler overrides: `scalers` maps a feature to its own scaler; the global `scaler` stays the default."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segmentation.ml import segment
from segmentation.ml.config import config_errors
from segmentation.ml.errors import EngineInputError
from segmentation.ml.features import FeaturePreparer
from segmentation.ml.scaling import scaler_params
from segmentation.ml.types import SegmentationConfig

AVAILABLE = ["gender", "age", "annual_income", "spending_score"]


def _frame(n: int = 400, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 70, n).astype(float),
            "annual_income": rng.normal(60, 15, n).clip(5),
            "spending_score": rng.integers(1, 100, n).astype(float),
        }
    )


def _values(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "features": ["age", "annual_income"],
        "scaler": "minmax",
        "k": None,
        "k_min": 2,
        "k_max": 6,
        "missing": "drop",
        "random_state": 42,
    }
    base.update(changes)
    return base


def test_each_feature_is_scaled_with_its_override_and_the_rest_with_the_global_scaler():
    df = _frame()
    prep = FeaturePreparer(
        features=("age", "annual_income", "spending_score"),
        scaler="minmax",
        scalers={"annual_income": "standard", "spending_score": "none"},
    ).fit(df)
    age, income = df["age"], df["annual_income"]
    assert prep.center_[0] == pytest.approx(age.min())
    assert prep.scale_[0] == pytest.approx(age.max() - age.min())
    assert prep.center_[1] == pytest.approx(income.mean())
    assert prep.scale_[1] == pytest.approx(income.std(ddof=0))
    assert (prep.center_[2], prep.scale_[2]) == (0.0, 1.0)
    assert prep.to_dict()["scalers"] == {"age": "minmax", "annual_income": "standard", "spending_score": "none"}


def test_without_overrides_every_feature_takes_the_global_scaler():
    x = _frame()[["age", "annual_income"]].to_numpy()
    one = scaler_params(x, "robust")
    each = scaler_params(x, ["robust", "robust"])
    np.testing.assert_allclose(one[0], each[0])
    np.testing.assert_allclose(one[1], each[1])


def test_shared_range_only_among_features_scaled_shared():
    x = np.array([[0.0, 0.0, 0.0], [10.0, 100.0, 50.0]])
    center, scale = scaler_params(x, ["shared", "shared", "minmax"], groups=[0, 0, 0])
    assert list(scale) == [100.0, 100.0, 50.0]
    assert list(center) == [0.0, 0.0, 0.0]


def test_an_unknown_scaler_or_feature_in_the_overrides_names_both():
    with pytest.raises(EngineInputError, match=r"scalers: 'zscore' for 'age'.*minmax, standard"):
        FeaturePreparer(features=("age",), scalers={"age": "zscore"}).fit(_frame())
    with pytest.raises(EngineInputError, match=r"scalers: 'standard' for 'gender'.*features \(age\)"):
        FeaturePreparer(features=("age",), scalers={"gender": "standard"}).fit(_frame())


def test_the_validator_names_the_allowed_scalers_and_the_features():
    errors = config_errors(_values(scalers={"age": "zscore"}), available=AVAILABLE)
    assert errors == {"scalers": "allowed are minmax, standard, robust, shared, none; got 'zscore' for 'age'"}
    errors = config_errors(_values(scalers={"spending_score": "robust"}), available=AVAILABLE)
    assert errors == {"scalers": "a scaler is for one of the features (age, annual_income); got 'spending_score'"}
    assert config_errors(_values(scalers={"age": "robust"}), available=AVAILABLE) == {}
    assert "scalers" in config_errors(_values(scalers=["age"]), available=AVAILABLE)


def test_the_config_round_trips_its_scalers():
    config = SegmentationConfig(features=("age", "annual_income"), scalers={"age": "robust"})
    data = config.to_dict()
    assert data["scalers"] == {"age": "robust"}
    assert SegmentationConfig.from_dict(data) == config
    assert SegmentationConfig.from_dict({"features": ["age"], "scalers": None}).scalers == {}


def test_a_run_scales_each_feature_with_its_override():
    df = _frame()
    result = segment(df, SegmentationConfig(features=("age", "annual_income"), k=3, scalers={"annual_income": "none"}))
    assert result.ok
    assert result.model["scalers"] == {"age": "minmax", "annual_income": "none"}
