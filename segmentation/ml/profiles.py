"""Segment profiles in business language: statistics, levels, names, flags and a default strategy.

Statistics are in real units of the encoded features (gender = share of women, 0..1; age with age
groups = the ordinal of the group). `z` is the segment mean against the whole base:
(segment mean - base mean) / base standard deviation.

Levels and names are `naming`'s; flags come from the features' roles and the profile (`flags`); the
default strategy is the first rule of `strategies.STRATEGY_RULES` the flags match, its wording
filled from the run's roles (`strategies.role_words`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from segmentation.ml.flags import flags_for, high_value_segments, role_levels, role_scores
from segmentation.ml.naming import base_terciles, level_of, unique_names
from segmentation.ml.strategies import role_words, strategy_rule_for, strategy_text
from segmentation.ml.types import SegmentProfile


def build_profiles(
    encoded: pd.DataFrame,
    labels: np.ndarray,
    k: int,
    *,
    roles: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
) -> list[SegmentProfile]:
    """Profiles of segments 0..k-1 from the encoded (unscaled) feature frame of the rows used.

    The centroid in real units is the mean of the segment's members (KMeans' centre at convergence).
    `roles` / `units` map features to their role and unit (missing: the canonical ones, else other / "").
    """
    features = tuple(str(c) for c in encoded.columns)
    values = encoded.to_numpy(dtype=float)
    n = len(values)
    base_mean = values.mean(axis=0) if n else np.zeros(len(features))
    base_std = values.std(axis=0) if n else np.zeros(len(features))
    terciles = [base_terciles(values[:, j]) if n else (0.0, 0.0) for j in range(len(features))]
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(k + 1))
    members = [order[bounds[label] : bounds[label + 1]] for label in range(k)]
    stats: list[dict[str, dict[str, float]]] = []
    levels: list[dict[str, str]] = []
    zs: list[dict[str, float]] = []
    sizes: list[int] = []
    for label in range(k):
        part = values[members[label]]
        sizes.append(len(part))
        s: dict[str, dict[str, float]] = {}
        lv: dict[str, str] = {}
        z: dict[str, float] = {}
        if len(part):
            means, medians = part.mean(axis=0), np.median(part, axis=0)
            mins, maxs = part.min(axis=0), part.max(axis=0)
        else:
            means = medians = mins = maxs = np.full(len(features), np.nan)
        for j, f in enumerate(features):
            mean = float(means[j])
            z[f] = 0.0 if base_std[j] == 0 or np.isnan(mean) else (mean - float(base_mean[j])) / float(base_std[j])
            s[f] = {"mean": mean, "median": float(medians[j]), "min": float(mins[j]), "max": float(maxs[j]), "z": z[f]}
            lv[f] = level_of(f, mean, terciles[j], z[f])
        stats.append(s)
        levels.append(lv)
        zs.append(z)

    names = unique_names(features, levels, zs, stats, sizes)
    scores = role_scores(values, features, roles=roles, units=units)
    by_role = role_levels(scores, members)
    top = high_value_segments(scores, members)
    flag_lists = [flags_for(levels[i], by_role[i], high_value=i in top) for i in range(k)]
    words = role_words(features, roles)

    profiles = []
    for label in range(k):
        rule = strategy_rule_for(flag_lists[label])
        profiles.append(
            SegmentProfile(
                label=label,
                name=names[label],
                size=sizes[label],
                share=sizes[label] / n if n else 0.0,
                centroid={f: stats[label][f]["mean"] + 0.0 for f in features},
                stats=stats[label],
                flags=flag_lists[label],
                strategy=strategy_text(rule, words),
                strategy_key=rule["key"],
                levels=levels[label],
                role_levels=by_role[label],
            )
        )
    return profiles
