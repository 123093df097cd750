"""Transforms before scaling: the skew rule that decides `auto`'s log1p, and log1p itself.

See `features` for where they apply (per feature, before the outlier rule and the scaling).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SKEW_MIN = 2.0
SKEW_MIN_DISTINCT = 10


def skewness(values: np.ndarray) -> float:
    """Fisher–Pearson sample skewness (0 for a constant column)."""
    values = np.asarray(values, dtype=float)
    sd = values.std()
    if len(values) < 3 or sd == 0:
        return 0.0
    return float(np.mean(((values - values.mean()) / sd) ** 3))


def skew_rule(values: np.ndarray) -> tuple[bool, str]:
    """Whether `auto` applies log1p to a column, and why (module doc)."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return False, "no values"
    if values.min() < 0:
        return False, "has negative values"
    if pd.Series(values[: SKEW_MIN_DISTINCT * 1000]).nunique() < SKEW_MIN_DISTINCT and (
        pd.Series(values).nunique() < SKEW_MIN_DISTINCT
    ):
        return False, f"fewer than {SKEW_MIN_DISTINCT} distinct values"
    skew = skewness(values)
    if skew < SKEW_MIN:
        return False, f"skewness {skew:.2f} below {SKEW_MIN:g}"
    logged = skewness(np.log1p(values))
    if abs(logged) >= abs(skew):
        return False, f"skewness {skew:.2f}, but log1p does not reduce it ({logged:.2f})"
    return True, f"skewness {skew:.2f} ≥ {SKEW_MIN:g}, non-negative: log1p (skewness after {logged:.2f})"


def apply_log(x: np.ndarray, logged: np.ndarray) -> np.ndarray:
    """log1p on the columns `logged` (a negative value of a new customer is clipped to 0)."""
    if not logged.any():
        return x
    x = x.copy()
    x[:, logged] = np.log1p(np.clip(x[:, logged], 0, None))
    return x
