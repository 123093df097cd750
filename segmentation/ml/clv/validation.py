"""Holdout validation: fit on the calibration period, predict the holdout, compare with what happened.

The naive baseline extrapolates each customer's calibration rate: x / T purchases per week times the
holdout length (0 for a customer whose T is 0). Totals and per-customer mean absolute errors are given
for both, so a page can say whether the model beats "more of the same".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from segmentation.ml.errors import EngineInputError


@dataclass
class HoldoutCheck:
    model: str
    length: float  # holdout length, in the summary's time unit (weeks)
    n_customers: int
    actual: float  # repeat purchase days in the holdout
    predicted: float
    naive: float
    mae: float  # per customer
    mae_naive: float
    #: per calibration frequency group (x = 0, 1, ..., "7+"): customers and mean holdout purchases
    by_frequency: list[dict[str, Any]] = field(default_factory=list)

    @property
    def error(self) -> float:
        """Relative error of the predicted total (negative: under-predicted)."""
        return (self.predicted - self.actual) / self.actual if self.actual else float("nan")

    @property
    def naive_error(self) -> float:
        return (self.naive - self.actual) / self.actual if self.actual else float("nan")

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(error=self.error, naive_error=self.naive_error)
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in out.items()}


FREQUENCY_TOP = 7  # calibration repeat purchases grouped as 0, 1, ..., 6, "7+"


def holdout_by_frequency(x: np.ndarray, actual: np.ndarray, predicted: np.ndarray, naive: np.ndarray) -> list[dict]:
    """Mean holdout purchases per calibration frequency group: the classic BG/NBD validation plot's data."""
    group = np.minimum(np.asarray(x, dtype=float), FREQUENCY_TOP).astype(int)
    out = []
    for g in range(FREQUENCY_TOP + 1):
        mask = group == g
        n = int(mask.sum())
        if n:
            out.append(
                {
                    "x": f"{g}+" if g == FREQUENCY_TOP else str(g),
                    "customers": n,
                    "actual": round(float(actual[mask].mean()), 6),
                    "predicted": round(float(predicted[mask].mean()), 6),
                    "naive": round(float(naive[mask].mean()), 6),
                }
            )
    return out


def naive_holdout(summary: pd.DataFrame, length: float) -> np.ndarray:
    T = summary["T"].to_numpy(dtype=float)
    x = summary["x"].to_numpy(dtype=float)
    return np.divide(x, T, out=np.zeros_like(x), where=T > 0) * length


def holdout_check(summary: pd.DataFrame, model, *, length: float | None = None) -> HoldoutCheck:
    """Compare `model.expected_purchases(length, ...)` with the summary's ``holdout`` column.

    `summary` comes from `clv_summary(..., observation_end=...)`; `length` defaults to its holdout length.
    """
    if "holdout" not in summary.columns:
        raise EngineInputError("summary: no holdout column (give clv_summary an observation_end after calibration)")
    length = float(summary.attrs.get("holdout_length", 0.0) if length is None else length)
    if length <= 0:
        raise EngineInputError(f"holdout length: must be positive, got {length}")
    x, t_x, T = (summary[c].to_numpy(dtype=float) for c in ("x", "t_x", "T"))
    actual = summary["holdout"].to_numpy(dtype=float)
    predicted = np.asarray(model.expected_purchases(length, x, t_x, T), dtype=float)
    naive = naive_holdout(summary, length)
    return HoldoutCheck(
        model=getattr(model, "name", type(model).__name__),
        length=length,
        n_customers=len(summary),
        actual=float(actual.sum()),
        predicted=float(predicted.sum()),
        naive=float(naive.sum()),
        mae=float(np.abs(predicted - actual).mean()),
        mae_naive=float(np.abs(naive - actual).mean()),
        by_frequency=holdout_by_frequency(x, actual, predicted, naive),
    )
