"""From a customer DataFrame to the scaled feature matrix, and back to real units.

`FeaturePreparer` follows scikit-learn's conventions: `__init__` stores the arguments, `fit` learns
the encodings, the imputation values and the scaler parameters (attributes ending in `_`), and
`transform` applies them to any frame with the same columns (new customers included).

Encodings:

- `gender`: female = 1, male = 0; 'other', 'unknown' and empty values are *missing* and follow the
  missing-values policy (so a mostly-unknown gender column does not invent a third "sex").
- `age` with `age_groups=True`: the age becomes the ordinal of its group; `age_bins` are the lower
  edges, the last group is open (18–24, 25–34, 35–44, 45–54, 55–64, 65+ by default). Ages below the
  first edge join the first group.
- booleans are 0/1; numeric strings are read as numbers; any other text is an error naming the
  feature, the row and the value.

Missing values and membership (one rule, `members_mask`, for the fit and for new customers): a
customer is a member of a run only if it has the run's features under the run's missing-value policy.
`drop` needs every feature. The imputing policies (`median`, `most_frequent`) impute only customers
that have MORE THAN HALF of the run's features (3 of 4, 2 of 3, 2 of 2, 1 of 1), with the value
learned on those members. Everyone else is not a member: counted by reason (`exclusion_reasons`:
"missing income", "missing 3 of 4 features", "missing all 4 features") and never placed by
imputation. `assign()` of new customers applies the same rule (a non-member gets label -1).

Transforms (before scaling, per feature; `transforms_` records each one with its reason): `log`
applies log1p (the feature must have no negative value), `none` keeps the value, `auto` applies
log1p when the *skew rule* says so: a non-negative feature with at least `SKEW_MIN_DISTINCT`
distinct values whose skewness is at least `SKEW_MIN` (2: heavily right-skewed, a long tail of big
spenders) and whose log1p is less skewed. Gender and age groups are never transformed. Profiles are
always computed on the untransformed values (imported units); only the fit sees log1p.

Outliers (`outliers="set_apart"`): on the transformed values, a member beyond Tukey's far-out fences
on any feature (below Q1 - 3 IQR or above Q3 + 3 IQR; a feature whose IQR is 0 has no fences) is set
apart: it takes no part in the scaling, the choice of k, the fit or the profiles, and is listed
with its values (`outliers_`). It stays a customer: like a customer who arrives after the run, it is
then placed in its nearest segment (`engine.assign`), so an extreme spender is still in the
audiences; it is never a segment of its own. The fences are kept in the model (`fences_`). When
the rule would set apart more than `OUTLIER_MAX_SHARE` of the members, the tail is part of the
data, not a few extreme customers, and nobody is set apart (said in `outlier_note_`). Two passes:
when the first pass finds outliers, the transforms are chosen again on the members without them
(one extreme income must not make income log1p: in log space every low income would look
extreme), and the outliers are the members beyond the fences under those transforms.

Scaling is `(x - center_) / scale_` with the configuration's scaler, or per feature with the
scaler named in `scalers` (feature -> scaler, overriding the global one); see `scaling`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from segmentation.ml.config import MISSING_POLICIES, SCALERS
from segmentation.ml.errors import EngineInputError
from segmentation.ml.scaling import scaler_params
from segmentation.ml.transforms import apply_log, skew_rule
from segmentation.ml.types import DEFAULT_AGE_BINS

GENDER_CODES: dict[str, float] = {"female": 1.0, "male": 0.0}
OUTLIER_FENCE = 3.0  # Tukey's far-out fences: Q1 - 3 IQR, Q3 + 3 IQR
OUTLIER_MAX_SHARE = 0.05
OUTLIERS_LISTED = 200  # the outliers listed with their values (all are counted)


def age_group_labels(bins: tuple[int, ...] | list[int]) -> list[str]:
    """Readable labels of the age groups: [18, 25, 35] -> ['18–24', '25–34', '35+']."""
    edges = list(bins)
    labels = [f"{lo}–{hi - 1}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    labels.append(f"{edges[-1]}+")
    return labels


def encode_column(series: pd.Series, *, feature: str, age_groups: bool, age_bins: tuple[int, ...]) -> pd.Series:
    """One feature column as floats (NaN = missing), or EngineInputError naming a bad value."""
    if feature == "gender":
        text = series.astype("string").str.strip().str.lower()
        return text.map(GENDER_CODES).astype(float)
    if pd.api.types.is_bool_dtype(series):
        values = series.astype(float)
    elif pd.api.types.is_numeric_dtype(series):
        values = series.astype(float)
    else:
        values = pd.to_numeric(series, errors="coerce").astype(float)
        bad = values.isna() & series.notna() & (series.astype("string").str.strip() != "")
        if bad.any():
            row = bad.idxmax()
            raise EngineInputError(
                f"feature '{feature}' is not numeric: row {row}, value {series[row]!r} is not a number"
            )
    values = values.replace([np.inf, -np.inf], np.nan)
    if feature == "age" and age_groups:
        edges = np.asarray(age_bins, dtype=float)
        groups = np.searchsorted(edges, values.to_numpy(), side="right") - 1
        groups = np.clip(groups, 0, len(edges) - 1).astype(float)
        groups[values.isna().to_numpy()] = np.nan
        values = pd.Series(groups, index=series.index)
    return values


class FeaturePreparer:
    """Encode, impute and scale the configured features."""

    def __init__(
        self,
        *,
        features: tuple[str, ...],
        scaler: str = "minmax",
        missing: str = "drop",
        age_groups: bool = False,
        age_bins: tuple[int, ...] = DEFAULT_AGE_BINS,
        transform: str = "none",
        transforms: Mapping[str, str] | None = None,
        units: Mapping[str, str] | None = None,
        outliers: str = "keep",
        scalers: Mapping[str, str] | None = None,
    ) -> None:
        self.features = features
        self.scaler = scaler
        self.missing = missing
        self.age_groups = age_groups
        self.age_bins = age_bins
        self.transform = transform
        self.transforms = transforms
        self.units = units
        self.outliers = outliers
        self.scalers = scalers

    # -- fitting ------------------------------------------------------------------------------
    def encode(self, df: pd.DataFrame) -> pd.DataFrame:
        missing = [f for f in self.features if f not in df.columns]
        if missing:
            available = ", ".join(sorted(map(str, df.columns)))
            raise EngineInputError(
                f"feature {', '.join(repr(m) for m in missing)} does not exist; available columns: {available}"
            )
        return pd.DataFrame(
            {
                f: encode_column(df[f], feature=f, age_groups=self.age_groups, age_bins=tuple(self.age_bins))
                for f in self.features
            },
            index=df.index,
        )

    def fit(self, df: pd.DataFrame) -> FeaturePreparer:
        """Learn imputation and scaling on `df`; `encoded_`, `kept_` and `missing_counts_` describe the rows."""
        if self.scaler not in SCALERS:
            raise EngineInputError(f"scaler must be one of {', '.join(SCALERS)}; got {self.scaler!r}")
        for f, name in (self.scalers or {}).items():
            if name not in SCALERS or f not in self.features:
                raise EngineInputError(
                    f"scalers: {name!r} for {f!r}; a scaler is one of {', '.join(SCALERS)} "
                    f"for one of the features ({', '.join(self.features)})"
                )
        if self.missing not in MISSING_POLICIES:
            raise EngineInputError(f"missing must be one of {', '.join(MISSING_POLICIES)}; got {self.missing!r}")
        encoded = self.encode(df)
        counts = encoded.isna().sum()
        self.missing_counts_ = {f: int(counts[f]) for f in self.features}
        for f in self.features:
            if len(encoded) and counts[f] == len(encoded):
                raise EngineInputError(f"feature '{f}' is missing for every customer ({len(encoded)} rows)")
        kept = members_mask(encoded, missing=self.missing)
        self.excluded_ = exclusion_reasons(encoded, kept)
        if not kept.all():
            encoded = encoded[kept]
        for f in self.features:
            if len(encoded) and encoded[f].isna().all():
                raise EngineInputError(f"feature '{f}' is missing for every member ({len(encoded)} customers)")
        if self.missing == "most_frequent":
            self.impute_ = {f: _float(_most_frequent(encoded[f])) for f in self.features}
        else:
            medians = encoded.median()
            self.impute_ = {f: _float(medians[f]) for f in self.features}
        if self.missing != "drop" and encoded.isna().any().any():
            encoded = encoded.fillna(self.impute_)
        if len(encoded):
            lows, highs = encoded.min(), encoded.max()
            for f in self.features:
                col = encoded[f].to_numpy()
                if lows[f] == highs[f]:
                    raise EngineInputError(
                        f"feature '{f}' is constant (every customer has {_show(col[0])}); it cannot separate segments"
                    )
        self.transforms_ = self._choose_transforms(encoded)
        self.fences_ = None
        self.outlier_note_ = ""
        inside = np.ones(len(encoded), dtype=bool)
        if self.outliers == "set_apart":
            first = self._outlier_rule(apply_log(encoded.to_numpy(dtype=float), self._log_columns()))
            if not first.all():
                # the transforms again without the first pass's outliers (one extreme customer does not
                # decide them), then the fences under those transforms
                self.transforms_ = self._choose_transforms(encoded[first])
                inside = self._outlier_rule(apply_log(encoded.to_numpy(dtype=float), self._log_columns()))
        self.outliers_ = encoded[~inside]
        if not inside.all():
            encoded = encoded[inside]
            kept = kept.copy()
            kept[np.flatnonzero(kept)[~inside]] = False
        values = apply_log(encoded.to_numpy(dtype=float), self._log_columns())
        self.kept_ = kept
        self.encoded_ = encoded
        self.center_, self.scale_ = scaler_params(values, self.feature_scalers(), self._unit_groups())
        return self

    def _choose_transforms(self, encoded: pd.DataFrame) -> dict[str, dict[str, str]]:
        chosen: dict[str, dict[str, str]] = {}
        for f in self.features:
            how = (self.transforms or {}).get(f, self.transform)
            col = encoded[f].to_numpy(dtype=float)
            fixed = f == "gender" or (f == "age" and self.age_groups)
            if how == "log" and not fixed:
                if len(col) and np.nanmin(col) < 0:
                    raise EngineInputError(
                        f"feature '{f}': log needs non-negative values; row {encoded.index[np.nanargmin(col)]} "
                        f"has {_show(np.nanmin(col))}"
                    )
                chosen[f] = {"transform": "log1p", "reason": "log chosen in the configuration"}
            elif how == "auto" and not fixed:
                fires, why = skew_rule(col)
                chosen[f] = {"transform": "log1p" if fires else "none", "reason": f"auto: {why}"}
            else:
                why = "chosen in the configuration" if how == "none" else "an encoded category"
                chosen[f] = {"transform": "none", "reason": why}
        return chosen

    def feature_scalers(self) -> list[str]:
        """The scaler of each feature: its override in `scalers`, else the global `scaler`."""
        return [(self.scalers or {}).get(f, self.scaler) for f in self.features]

    def _log_columns(self) -> np.ndarray:
        return np.array([self.transforms_[f]["transform"] == "log1p" for f in self.features], dtype=bool)

    def _unit_groups(self) -> list[int]:
        """Per feature, the index of its unit group (for the shared scaler)."""
        units = [str((self.units or {}).get(f, "")) for f in self.features]
        first = {u: units.index(u) for u in units}
        return [first[u] for u in units]

    def _outlier_rule(self, values: np.ndarray) -> np.ndarray:
        """True for members inside every fence (module doc); all True when the rule would take too many."""
        self.outlier_note_ = ""
        self.fences_ = None
        if len(values) == 0:
            return np.ones(0, dtype=bool)
        q1, q3 = np.percentile(values, [25, 75], axis=0)
        iqr = q3 - q1
        fenced = iqr > 0
        low, high = q1 - OUTLIER_FENCE * iqr, q3 + OUTLIER_FENCE * iqr
        beyond = ((values < low) | (values > high))[:, fenced].any(axis=1)
        self.fences_ = {
            "log": [bool(v) for v in self._log_columns()],
            "low": [float(v) if f else None for v, f in zip(low, fenced, strict=True)],
            "high": [float(v) if f else None for v, f in zip(high, fenced, strict=True)],
        }
        if beyond.sum() > OUTLIER_MAX_SHARE * len(values):
            self.fences_ = None
            self.outlier_note_ = (
                f"{int(beyond.sum())} customers lie beyond the outlier fences, more than "
                f"{OUTLIER_MAX_SHARE:.0%} of members: a long tail, not a few extreme customers; none set apart"
            )
            return np.ones(len(values), dtype=bool)
        return ~beyond

    def outliers_summary(self) -> dict[str, Any]:
        """The outliers set apart, JSON: count, the rule, and the first `OUTLIERS_LISTED` with their values."""
        out = self.outliers_
        rows = [
            {"id": _jsonable_id(idx), "values": {f: _float(v) for f, v in zip(self.features, row, strict=True)}}
            for idx, row in zip(out.index[:OUTLIERS_LISTED], out.to_numpy(dtype=float)[:OUTLIERS_LISTED], strict=True)
        ]
        return {
            "count": len(out),
            "rule": (
                f"beyond Q1 − {OUTLIER_FENCE:g}·IQR or Q3 + {OUTLIER_FENCE:g}·IQR of any feature (after its transform)"
                if self.outliers == "set_apart"
                else "kept (outlier rule off)"
            ),
            "note": getattr(self, "outlier_note_", ""),
            "rows": rows,
        }

    def transform_encoded(self, encoded: pd.DataFrame) -> np.ndarray:
        return (apply_log(encoded.to_numpy(dtype=float), self._log_columns()) - self.center_) / self.scale_

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "scaler": self.scaler,
            "scalers": {f: name for f, name in zip(self.features, self.feature_scalers(), strict=True)},
            "missing": self.missing,
            "age_groups": bool(self.age_groups),
            "age_bins": [int(b) for b in self.age_bins],
            "encodings": {"gender": dict(GENDER_CODES)} if "gender" in self.features else {},
            "impute": dict(self.impute_),
            "transforms": {f: self.transforms_[f]["transform"] for f in self.features},
            "outlier_fences": self.fences_,
            "center": [float(c) for c in self.center_],
            "scale": [float(s) for s in self.scale_],
        }


def members_mask(encoded: pd.DataFrame, *, missing: str) -> np.ndarray:
    """Which rows are members under the policy `missing` (module doc): `drop` needs every feature,
    an imputing policy more than half of them."""
    present = encoded.notna().sum(axis=1).to_numpy()
    n = encoded.shape[1]
    return present == n if missing == "drop" else present * 2 > n


def exclusion_reasons(encoded: pd.DataFrame, kept: np.ndarray) -> dict[str, int]:
    """Why the rows outside `kept` are not members, counted: {"missing income": 24, "missing all 4 features": 2000}."""
    out = encoded[~kept]
    if out.empty:
        return {}
    n = encoded.shape[1]
    isna = out.isna()
    counts = isna.sum(axis=1)
    reasons: dict[str, int] = {}
    single = isna[counts == 1].idxmax(axis=1).value_counts()
    for feature, count in single.items():
        reasons[f"missing {feature}"] = int(count)
    for m, count in counts[counts > 1].value_counts().sort_index(ascending=False).items():
        key = f"missing all {n} features" if m == n else f"missing {m} of {n} features"
        reasons[key] = int(count)
    return dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))


def prepare_new(df: pd.DataFrame, model: dict[str, Any]) -> np.ndarray:
    """The scaled matrix of new customers under a fitted model dict; a non-member's row is all NaN."""
    features = tuple(model["features"])
    missing = [f for f in features if f not in df.columns]
    if missing:
        raise EngineInputError(
            f"feature {', '.join(repr(m) for m in missing)} does not exist; available columns: "
            + ", ".join(sorted(map(str, df.columns)))
        )
    encoded = pd.DataFrame(
        {
            f: encode_column(df[f], feature=f, age_groups=model["age_groups"], age_bins=tuple(model["age_bins"]))
            for f in features
        },
        index=df.index,
    )
    kept = members_mask(encoded, missing=str(model.get("missing", "drop")))
    if model.get("missing", "drop") != "drop":
        encoded = encoded.fillna({f: v for f, v in model["impute"].items() if v is not None})
    transforms = model.get("transforms") or {}
    logged = np.array([transforms.get(f) == "log1p" for f in features], dtype=bool)
    x = (apply_log(encoded.to_numpy(dtype=float), logged) - np.asarray(model["center"])) / np.asarray(model["scale"])
    x[~kept] = np.nan
    return x


def _jsonable_id(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _most_frequent(col: pd.Series) -> float:
    counts = col.dropna().value_counts()
    if counts.empty:
        return float("nan")
    return float(counts[counts == counts.max()].index.min())  # ties: the smallest value, deterministic


def _float(value: Any) -> float | None:
    value = float(value)
    return None if np.isnan(value) else value


def _show(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
