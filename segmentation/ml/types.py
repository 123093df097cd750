"""The engine's contract: a frozen config in, a result dataclass out.

Column names are canonical: external_id, gender, age, annual_income, spending_score and
attribute keys. Everything here is JSON-serialisable through `to_dict()` so the Django
side stores it without knowing the engine's internals.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

import numpy as np

ScalerName = Literal["minmax", "standard", "robust", "shared", "none"]
TransformName = Literal["auto", "none", "log"]
OutlierPolicy = Literal["set_apart", "keep"]
MissingPolicy = Literal["drop", "median", "most_frequent"]

DEFAULT_AGE_BINS: tuple[int, ...] = (18, 25, 35, 45, 55, 65)


@dataclass(frozen=True)
class SegmentationConfig:
    features: tuple[str, ...] = ("annual_income", "spending_score")
    scaler: ScalerName = "minmax"
    k: int | None = None  # fixed k; None = choose automatically in [k_min, k_max]
    k_min: int = 2
    k_max: int = 10
    age_groups: bool = False  # replace age by age-group bins (lower edges; last bin open)
    age_bins: tuple[int, ...] = DEFAULT_AGE_BINS
    missing: MissingPolicy = "drop"
    random_state: int = 42
    n_init: int = 10
    silhouette_sample: int = 10_000
    stability_resamples: int = 10
    subsample_rows: int = 30_000  # choose k on a fixed-seed sample of this many rows when the data is larger
    # feature -> role (`fields.ROLES`) and unit; a feature left out has its canonical role / unit, else other / ""
    roles: Mapping[str, str] = field(default_factory=dict)
    units: Mapping[str, str] = field(default_factory=dict)
    # before scaling: log1p where the skew rule says so (auto), never (none) or on every feature (log);
    # `transforms` overrides it per feature (feature -> auto / none / log)
    transform: TransformName = "auto"
    transforms: Mapping[str, str] = field(default_factory=dict)
    min_share: float = 0.02  # auto-k: a k whose fit has a segment below this share of members is no candidate
    outliers: OutlierPolicy = "set_apart"  # the outlier rule (features.py) sets extreme customers apart
    # feature -> scaler overriding `scaler` for that feature (scaling.py); a feature left out has `scaler`
    scalers: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["features"] = list(self.features)
        d["age_bins"] = list(self.age_bins)
        d["roles"] = dict(self.roles)
        d["units"] = dict(self.units)
        d["transforms"] = dict(self.transforms)
        d["scalers"] = dict(self.scalers)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SegmentationConfig:
        data = dict(data)
        if "features" in data:
            data["features"] = tuple(data["features"])
        if "age_bins" in data:
            data["age_bins"] = tuple(data["age_bins"])
        for mapping in ("roles", "units", "transforms", "scalers"):
            if data.get(mapping) is None:
                data.pop(mapping, None)
            else:
                data[mapping] = {str(f): str(v) for f, v in data[mapping].items()}
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class KEvidence:
    k: int
    inertia: float
    silhouette: float | None
    calinski_harabasz: float | None
    davies_bouldin: float | None
    stability: float | None


def _finite(value: object) -> float | None:
    """A stored number: None for missing or non-finite values (JSON has no NaN)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


@dataclass(frozen=True)
class Evidence:
    """How k was chosen, stored as `SegmentRun.evidence` (`as_dict()`) and read back (`from_dict()`).

    Stored shape::

        {"per_k": [{"k", "inertia", "silhouette", "calinski_harabasz", "davies_bouldin", "stability"}, ...],
         "preferred": {criterion: k}, "disagreement": bool, "missing": {feature: count},
         "timings": {stage: seconds}, "structure": "clear" | "weak",
         "notes": ["restarted: the worker ... was lost during attempt 1"]}

    `per_k` is sorted by k, a criterion without a value is null; `preferred["elbow"]` is the knee of
    the inertia curve (absent when the curve has none); `notes` are set only after a restart;
    `structure` is absent in runs made before it was measured (read back as "").
    """

    per_k: tuple[KEvidence, ...] = ()
    preferred: dict[str, int] = field(default_factory=dict)
    disagreement: bool = False
    missing: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    structure: str = ""

    @property
    def knee(self) -> int | None:
        """The elbow's knee (a k), None when the inertia curve has none."""
        return self.preferred.get("elbow")

    @classmethod
    def from_result(cls, result: SegmentationResult, *, notes: tuple[str, ...] = ()) -> Evidence:
        return cls(
            per_k=tuple(sorted(result.evidence, key=lambda e: e.k)),
            preferred={str(c): int(k) for c, k in result.preferred.items()},
            disagreement=bool(result.disagreement),
            missing={str(f): int(n) for f, n in result.missing.items()},
            timings={str(s): float(t) for s, t in result.timings.items()},
            notes=tuple(notes),
            structure=str(result.structure),
        )

    def as_dict(self) -> dict[str, Any]:
        per_k = [{name: (v if name == "k" else _finite(v)) for name, v in asdict(e).items()} for e in self.per_k]
        data: dict[str, Any] = {
            "per_k": per_k,
            "preferred": dict(self.preferred),
            "disagreement": self.disagreement,
            "missing": dict(self.missing),
            "timings": {s: _finite(t) for s, t in self.timings.items()},
        }
        if self.structure:
            data["structure"] = self.structure
        if self.notes:
            data["notes"] = list(self.notes)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evidence:
        """The stored shape read back; an empty mapping (a run without evidence) gives empty evidence."""
        criteria = [f.name for f in fields(KEvidence) if f.name != "k"]
        per_k = tuple(
            sorted(
                (
                    KEvidence(k=int(row["k"]), **{c: _finite(row.get(c)) for c in criteria})
                    for row in data.get("per_k") or []
                ),
                key=lambda e: e.k,
            )
        )
        return cls(
            per_k=per_k,
            preferred={str(c): int(k) for c, k in (data.get("preferred") or {}).items()},
            disagreement=bool(data.get("disagreement", False)),
            missing={str(f): int(n) for f, n in (data.get("missing") or {}).items()},
            timings={str(s): float(t) for s, t in (data.get("timings") or {}).items() if t is not None},
            notes=tuple(str(n) for n in data.get("notes") or ()),
            structure=str(data.get("structure") or ""),
        )


@dataclass
class SegmentProfile:
    label: int
    name: str
    size: int
    share: float
    centroid: dict[str, float]  # by feature, real units
    stats: dict[str, dict[str, float]]  # feature -> {mean, median, min, max, z}
    flags: list[str]
    strategy: str
    strategy_key: str = ""  # the key of the rule in segmentation.ml.strategies.STRATEGY_RULES
    levels: dict[str, str] = field(default_factory=dict)  # feature -> low / average / high (ml.naming)
    role_levels: dict[str, str] = field(default_factory=dict)  # role -> level of its role score (ml.flags)


@dataclass
class SegmentationResult:
    ok: bool
    reason: str  # why k was chosen, or why there is no result (too few rows, ...)
    config: SegmentationConfig
    chosen_k: int | None = None
    evidence: list[KEvidence] = field(default_factory=list)
    preferred: dict[str, int] = field(default_factory=dict)  # criterion -> k it prefers
    disagreement: bool = False
    structure: str = "clear"  # "clear" or "weak": segments the data has, or only a way to cut it (kselect)
    labels: np.ndarray | None = None  # per row used, aligned with `index`
    distances: np.ndarray | None = None
    index: np.ndarray | None = None  # the input DataFrame's index values of the rows used
    segments: list[SegmentProfile] = field(default_factory=list)
    quality: dict[str, float] = field(default_factory=dict)
    rows_used: int = 0  # members: the rows fitted (`index`) and the outliers set apart, placed after the fit
    rows_dropped: int = 0
    missing: dict[str, int] = field(default_factory=dict)  # per feature: missing count
    excluded: dict[str, int] = field(default_factory=dict)  # reason -> customers not members (features.py)
    model: dict[str, Any] = field(default_factory=dict)  # JSON: preprocessing + centroids, for assign()
    timings: dict[str, float] = field(default_factory=dict)
    # feature -> {"transform": "log1p" | "none", "reason": why}; the outliers set apart (features.py's rule)
    transforms: dict[str, dict[str, str]] = field(default_factory=dict)
    outliers: dict[str, Any] = field(default_factory=dict)
    # method-specific evidence stored beside the k evidence (RFM: cut points, score counts, group sizes)
    details: dict[str, Any] = field(default_factory=dict)
