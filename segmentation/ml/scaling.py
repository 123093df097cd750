"""Scaling parameters: `(x - center) / scale` per feature, each feature with its own scaler.

minmax (center = min, scale = max - min), standard (mean, standard deviation), robust (median,
interquartile range), none (0 and 1) or shared: minmax whose range is shared by the features of the
same unit that are also scaled `shared` (the widest range among them; features without a unit share
one), so columns in one currency keep their relative spread. A scale of 0 becomes 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def scaler_params(
    x: np.ndarray, scalers: str | Sequence[str], groups: Sequence[int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Center and scale of each column of `x`; `scalers` is one scaler for all columns or one per column."""
    n = x.shape[1]
    names = [scalers] * n if isinstance(scalers, str) else list(scalers)
    groups = list(groups) if groups is not None else [0] * n
    center, scale = np.zeros(n), np.ones(n)
    if x.shape[0] == 0:
        return center, scale
    for j, name in enumerate(names):
        col = x[:, j]
        if name in ("minmax", "shared"):
            center[j] = col.min()
            scale[j] = col.max() - col.min()
        elif name == "standard":
            center[j] = col.mean()
            scale[j] = col.std()
        elif name == "robust":
            center[j] = np.median(col)
            q75, q25 = np.percentile(col, [75, 25])
            scale[j] = q75 - q25
    shared = [j for j, name in enumerate(names) if name == "shared"]
    widest: dict[int, float] = {}
    for j in shared:
        widest[groups[j]] = max(widest.get(groups[j], 0.0), float(scale[j]))
    for j in shared:
        scale[j] = widest[groups[j]]
    scale = np.where(scale > 0, scale, 1.0)
    return center.astype(float), scale.astype(float)
