"""The engine's contract: a frozen config in, a result dataclass out.

Column names are canonical: external_id, gender, age, annual_income, spending_score and
attribute keys. Everything here is JSON-serialisable through `to_dict()` so the Django
side stores it without knowing the engine's internals.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

ScalerName = Literal["minmax", "standard", "robust"]
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
    stability_resamples: int = 5
    subsample_rows: int = 30_000  # choose k on a fixed-seed sample of this many rows when the data is larger

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["features"] = list(self.features)
        d["age_bins"] = list(self.age_bins)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SegmentationConfig:
        data = dict(data)
        if "features" in data:
            data["features"] = tuple(data["features"])
        if "age_bins" in data:
            data["age_bins"] = tuple(data["age_bins"])
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


@dataclass
class SegmentationResult:
    ok: bool
    reason: str  # why k was chosen, or why there is no result (too few rows, ...)
    config: SegmentationConfig
    chosen_k: int | None = None
    evidence: list[KEvidence] = field(default_factory=list)
    preferred: dict[str, int] = field(default_factory=dict)  # criterion -> k it prefers
    disagreement: bool = False
    labels: np.ndarray | None = None  # per row used, aligned with `index`
    distances: np.ndarray | None = None
    index: np.ndarray | None = None  # the input DataFrame's index values of the rows used
    segments: list[SegmentProfile] = field(default_factory=list)
    quality: dict[str, float] = field(default_factory=dict)
    rows_used: int = 0
    rows_dropped: int = 0
    missing: dict[str, int] = field(default_factory=dict)  # per feature: missing count
    model: dict[str, Any] = field(default_factory=dict)  # JSON: preprocessing + centroids, for assign()
    timings: dict[str, float] = field(default_factory=dict)
