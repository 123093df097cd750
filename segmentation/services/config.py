"""Segmentations and their engine configuration: the default segmentation, config with overrides."""

from __future__ import annotations

from typing import Any

from core.exceptions import ConfigError
from segmentation import loading
from segmentation.ml.types import SegmentationConfig
from segmentation.models import MissingPolicy, Scaler, Segmentation

DEFAULT_SEGMENTATION_NAME = "Default"
K_LIMIT = 50  # the largest k a run may ask for

OVERRIDABLE = ("features", "scaler", "k", "k_min", "k_max", "age_groups", "age_bins", "missing", "random_state")


def segmentation_get_or_create_default() -> Segmentation:
    """The segmentation used when none is named (created with the model's defaults)."""
    segmentation, _ = Segmentation.objects.get_or_create(name=DEFAULT_SEGMENTATION_NAME)
    return segmentation


def segmentation_config(*, segmentation: Segmentation, overrides: dict[str, Any] | None = None) -> SegmentationConfig:
    """The engine configuration of `segmentation` with per-run `overrides`, validated."""
    values: dict[str, Any] = {
        "features": list(segmentation.features or []),
        "scaler": segmentation.scaler,
        "k": segmentation.k,
        "k_min": segmentation.k_min,
        "k_max": segmentation.k_max,
        "age_groups": segmentation.age_groups,
        "age_bins": list(segmentation.age_bins or []) or None,
        "missing": segmentation.missing_policy,
        "random_state": segmentation.random_state,
    }
    for key, value in (overrides or {}).items():
        if key not in OVERRIDABLE:
            raise ConfigError(f"override {key!r}: allowed are {', '.join(OVERRIDABLE)}; got {value!r}")
        if value is not None or key == "k":
            values[key] = value
    _config_validate(values)
    if values["age_bins"] is None:
        values.pop("age_bins")
    return SegmentationConfig.from_dict(values)


def _config_validate(values: dict[str, Any]) -> None:
    features = values["features"]
    if isinstance(features, str):
        features = [f.strip() for f in features.split(",") if f.strip()]
        values["features"] = features
    if not features:
        raise ConfigError("features: at least one feature is needed; got none")
    allowed = loading.features_available()
    for name in features:
        if name not in allowed:
            raise ConfigError(f"features: {name!r} is not a customer field; allowed are {', '.join(allowed)}")
    if len(set(features)) != len(features):
        raise ConfigError(f"features: each feature once; got {', '.join(features)}")
    if values["scaler"] not in Scaler.values:
        raise ConfigError(f"scaler: allowed are {', '.join(Scaler.values)}; got {values['scaler']!r}")
    if values["missing"] not in MissingPolicy.values:
        raise ConfigError(f"missing: allowed are {', '.join(MissingPolicy.values)}; got {values['missing']!r}")
    for field in ("k", "k_min", "k_max", "random_state"):
        value = values[field]
        if value is None and field == "k":
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{field}: expected a whole number; got {value!r}")
    k, k_min, k_max = values["k"], values["k_min"], values["k_max"]
    if k is not None and not 2 <= k <= K_LIMIT:
        raise ConfigError(f"k: allowed is auto or a number from 2 to {K_LIMIT}; got {k}")
    if not 2 <= k_min <= K_LIMIT:
        raise ConfigError(f"k_min: allowed is 2 to {K_LIMIT}; got {k_min}")
    if not k_min <= k_max <= K_LIMIT:
        raise ConfigError(f"k_max: allowed is k_min ({k_min}) to {K_LIMIT}; got {k_max}")
    bins = values["age_bins"]
    if bins is not None:
        if not isinstance(bins, list | tuple) or not all(isinstance(b, int) and not isinstance(b, bool) for b in bins):
            raise ConfigError(f"age_bins: expected increasing whole numbers; got {bins!r}")
        if list(bins) != sorted(set(bins)):
            raise ConfigError(f"age_bins: expected increasing whole numbers; got {list(bins)}")
