"""Segmentations and their engine configuration: the default segmentation, config with per-run overrides."""

from __future__ import annotations

from core.exceptions import ConfigError
from customers.selectors.columns import column_roles, column_units
from segmentation import loading
from segmentation.ml.config import config_errors
from segmentation.ml.fields import roles_for, units_for
from segmentation.ml.rfm import RFM_FEATURES
from segmentation.ml.types import SegmentationConfig
from segmentation.models import Segmentation

DEFAULT_SEGMENTATION_NAME = "Default"

OVERRIDABLE = (
    "features",
    "scaler",
    "k",
    "k_min",
    "k_max",
    "age_groups",
    "age_bins",
    "missing",
    "random_state",
    "transform",
    "transforms",
    "scalers",
    "min_share",
    "outliers",
)

ConfigValue = str | int | float | bool | list[str] | list[int] | dict[str, str] | None


def segmentation_get_or_create_default() -> Segmentation:
    """The segmentation used when none is named (created with the model's defaults)."""
    segmentation, _ = Segmentation.objects.get_or_create(name=DEFAULT_SEGMENTATION_NAME)
    return segmentation


def segmentation_config(
    *, segmentation: Segmentation, overrides: dict[str, ConfigValue] | None = None
) -> SegmentationConfig:
    """The engine configuration of `segmentation` with per-run `overrides`, validated (ConfigError keyed by field)."""
    values = segmentation.config_values()
    if segmentation.method == "rfm":  # RFM scores these three derived columns, whatever the editor kept
        values["features"] = list(RFM_FEATURES)
    for key, value in (overrides or {}).items():
        if key not in OVERRIDABLE:
            allowed = f"allowed are {', '.join(OVERRIDABLE)}; got {value!r}"
            raise ConfigError(f"override {key!r}: {allowed}", errors={"overrides": f"{key!r}: {allowed}"})
        if value is not None or key == "k":
            values[key] = value
    return config_from_values(values=values)


def config_from_values(*, values: dict[str, ConfigValue]) -> SegmentationConfig:
    """The engine configuration of `values` (`config_values()` names, stored or typed in the editor), validated.

    Roles and units of the features come from the customers' column registry. Raises ConfigError keyed by field.
    """
    values = dict(values)
    features = values["features"]
    if isinstance(features, str):  # "age, annual_income" as typed on a command line
        values["features"] = [f.strip() for f in features.split(",") if f.strip()]
    # Each run freezes its features' roles and units from the customers' column registry into its params.
    named = values["features"] if isinstance(values["features"], list | tuple) else []
    values["roles"] = roles_for(named, known=column_roles())
    values["units"] = units_for(named, known=column_units())
    errors = config_errors(values, available=loading.features_available())
    if errors:
        raise ConfigError(errors=errors)
    if values.get("age_bins") is None:
        values.pop("age_bins", None)
    return SegmentationConfig.from_dict(values)
