"""The one validator of a segmentation configuration, used by the run service, the model, the admin and the engine.

    errors = config_errors(values, available=["age", "annual_income"])
    # {"k": "allowed is auto or a number from 2 to 100; got 1"}

`values` holds the configuration's fields (`SegmentationConfig` names: features, scaler, k, k_min,
k_max, age_bins, missing, random_state, roles, units, transform, transforms, scalers, min_share,
outliers), as stored or as typed by a user. `roles`, `units`, `transforms` and `scalers` are optional
mappings feature -> role (one of `fields.ROLES`) / unit (text) / transform (auto, none, log) / scaler
(one of `SCALERS`, overriding `scaler` for that feature). Each error is keyed by its field
and names the allowed values and the value received. `config_validate` raises `ConfigInvalid` with
those errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from segmentation.ml.errors import ConfigInvalid
from segmentation.ml.fields import ROLES

K_MIN = 2  # the fewest segments a run may ask for (one segment says nothing)
K_MAX = 100  # the most segments a run may ask for (more KMeans starts as k grows: kselect.starts_for)
SCALERS: tuple[str, ...] = ("minmax", "standard", "robust", "shared", "none")
TRANSFORMS: tuple[str, ...] = ("auto", "none", "log")
OUTLIER_POLICIES: tuple[str, ...] = ("set_apart", "keep")
MIN_SHARE_MAX = 0.2  # a minimum segment share above 1/5 would forbid k = 5 outright
MISSING_POLICIES: tuple[str, ...] = ("drop", "median", "most_frequent")
WHOLE_NUMBER_FIELDS: tuple[str, ...] = ("k", "k_min", "k_max", "random_state")


def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _features_error(features: object, available: Sequence[str]) -> str | None:
    if not isinstance(features, list | tuple) or not features:
        return f"at least one feature is needed; got {features or 'none'}"
    problems = []
    unknown = list(dict.fromkeys(f for f in features if f not in available))
    if unknown:
        names = ", ".join(repr(u) for u in unknown)
        problems.append(f"{names} {'is not a customer field' if len(unknown) == 1 else 'are not customer fields'}")
    if len(set(features)) != len(features):
        problems.append("each feature once")
    if not problems:
        return None
    return f"{'; '.join(problems)}; allowed are {', '.join(available)}; got {', '.join(map(str, features))}"


def _roles_error(roles: object) -> str | None:
    if roles is None:
        return None
    if not isinstance(roles, Mapping):
        return f"expected a mapping of feature to role; got {roles!r}"
    bad = {str(f): r for f, r in roles.items() if r not in ROLES}
    if not bad:
        return None
    got = ", ".join(f"{r!r} for {f!r}" for f, r in bad.items())
    return f"allowed are {', '.join(ROLES)}; got {got}"


def _units_error(units: object) -> str | None:
    if units is None:
        return None
    if not isinstance(units, Mapping):
        return f"expected a mapping of feature to unit; got {units!r}"
    bad = {str(f): u for f, u in units.items() if not isinstance(u, str)}
    if not bad:
        return None
    return "a unit is text (empty for none); got " + ", ".join(f"{u!r} for {f!r}" for f, u in bad.items())


def _transforms_error(transforms: object) -> str | None:
    if transforms is None:
        return None
    if not isinstance(transforms, Mapping):
        return f"expected a mapping of feature to transform; got {transforms!r}"
    bad = {str(f): t for f, t in transforms.items() if t not in TRANSFORMS}
    if not bad:
        return None
    return f"allowed are {', '.join(TRANSFORMS)}; got " + ", ".join(f"{t!r} for {f!r}" for f, t in bad.items())


def _scalers_error(scalers: object) -> str | None:
    if scalers is None:
        return None
    if not isinstance(scalers, Mapping):
        return f"expected a mapping of feature to scaler; got {scalers!r}"
    bad = {str(f): s for f, s in scalers.items() if s not in SCALERS}
    if not bad:
        return None
    return f"allowed are {', '.join(SCALERS)}; got " + ", ".join(f"{s!r} for {f!r}" for f, s in bad.items())


def _min_share_error(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MIN_SHARE_MAX:
        return f"allowed is a fraction from 0 to {MIN_SHARE_MAX:g} (0.02 = 2 % of members); got {value!r}"
    return None


def config_errors(values: Mapping[str, object], *, available: Sequence[str]) -> dict[str, str]:
    """Every problem of the configuration `values` given the `available` features, keyed by field (empty: valid)."""
    errors: dict[str, str] = {}
    problem = _features_error(values.get("features"), list(available))
    if problem:
        errors["features"] = problem
    scaler = values.get("scaler")
    if scaler not in SCALERS:
        errors["scaler"] = f"allowed are {', '.join(SCALERS)}; got {scaler!r}"
    for name, allowed in (("transform", TRANSFORMS), ("outliers", OUTLIER_POLICIES)):
        if name in values and values[name] not in allowed:
            errors[name] = f"allowed are {', '.join(allowed)}; got {values[name]!r}"
    missing = values.get("missing")
    if missing not in MISSING_POLICIES:
        errors["missing"] = f"allowed are {', '.join(MISSING_POLICIES)}; got {missing!r}"
    for field in WHOLE_NUMBER_FIELDS:
        value = values.get(field)
        if not (value is None and field == "k") and not _is_whole(value):
            errors[field] = f"expected a whole number; got {value!r}"
    k, k_min, k_max = values.get("k"), values.get("k_min"), values.get("k_max")
    if "k" not in errors and k is not None and not K_MIN <= k <= K_MAX:
        errors["k"] = f"allowed is auto or a number from {K_MIN} to {K_MAX}; got {k}"
    if "k_min" not in errors and not K_MIN <= k_min <= K_MAX:
        errors["k_min"] = f"allowed is {K_MIN} to {K_MAX}; got {k_min}"
    elif "k_min" not in errors and "k_max" not in errors and not k_min <= k_max <= K_MAX:
        errors["k_max"] = f"allowed is k_min ({k_min}) to {K_MAX}; got {k_max}"
    features = values.get("features")
    for name, what in (("transforms", "a transform"), ("scalers", "a scaler")):
        mapping = values.get(name)
        if isinstance(mapping, Mapping) and isinstance(features, list | tuple):
            stray = [str(f) for f in mapping if f not in features]
            if stray:
                errors[name] = (
                    f"{what} is for one of the features ({', '.join(map(str, features))}); "
                    f"got {', '.join(repr(f) for f in stray)}"
                )
    for field, check in (
        ("roles", _roles_error),
        ("units", _units_error),
        ("transforms", _transforms_error),
        ("scalers", _scalers_error),
        ("min_share", _min_share_error),
    ):
        problem = check(values.get(field))
        if problem:
            errors[field] = problem
    bins = values.get("age_bins")
    if bins is not None and (
        not isinstance(bins, list | tuple)
        or not bins
        or not all(_is_whole(b) for b in bins)
        or list(bins) != sorted(set(bins))
    ):
        errors["age_bins"] = (
            f"expected increasing whole numbers; got {list(bins) if isinstance(bins, tuple) else bins!r}"
        )
    return errors


def config_validate(values: Mapping[str, object], *, available: Sequence[str]) -> None:
    """Raise `ConfigInvalid` with every problem of `values` keyed by field (see `config_errors`)."""
    errors = config_errors(values, available=available)
    if errors:
        raise ConfigInvalid(errors=errors)
