"""Segment profiles in business language: statistics, names, flags and a default strategy.

Statistics are in real units of the encoded features (gender = share of women, 0..1; age with age
groups = the ordinal of the group). `z` is the segment mean against the whole base:
(segment mean - base mean) / base standard deviation.

Levels. A segment is *low*, *average* or *high* on a feature when its mean lies below the base's
first tercile, between the terciles, or above the second tercile (when the terciles coincide, as on
very skewed columns, z < -0.5 / z > 0.5 decide instead). Gender uses the share of women: at least
60 % "Mostly women", at most 40 % "Mostly men".

Names are built from the levels: with one or two features, every feature in a fixed order (age,
gender, income, spending, then the rest); with more, the two features on which the segment stands
out most (largest |z|). Names are unique within a run: segments that share a name get the next
most distinguishing feature, and when no feature level tells them apart, a comparative on the
feature where they differ most: "Senior (younger) · Average income" when that feature is already
named, "Average income · Average spending · Higher income" otherwise.

Flags (a segment may carry several):

- `high_value`: high spending and high income (high spending alone when income is not a feature);
  the segment(s) worth most.
- `upsell`: high income, low spending.
- `budget`: low income, low spending.
- `aspirational`: low income, high spending.
- `young_spenders`: young (low age level) and high spending.
- `low_engagement`: low spending without being `upsell` or `budget`, or low on an engagement
  attribute (a feature named like orders / frequency / visits / monetary).
- `at_risk`: high on a recency attribute (a feature named like recency / days_since).
- `mainstream`: average on every feature.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from segmentation.ml.strategies import strategy_rule_for, strategy_text
from segmentation.ml.types import SegmentProfile

FEATURE_ORDER = ("age", "gender", "annual_income", "spending_score")
NOUNS = {"annual_income": "income", "spending_score": "spending", "age": "age", "gender": "share of women"}
LEVEL_WORDS = {"low": "Low", "average": "Average", "high": "High"}
ENGAGEMENT_HINTS = ("order", "frequency", "visit", "monetary", "purchase")
RECENCY_HINTS = ("recency", "days_since")


def _noun(feature: str) -> str:
    return NOUNS.get(feature, feature.replace("_", " "))


def base_terciles(base: np.ndarray) -> tuple[float, float]:
    q1, q2 = np.nanpercentile(base, [100 / 3, 200 / 3])
    return float(q1), float(q2)


def level_of(feature: str, mean: float, terciles: tuple[float, float], z: float) -> str:
    """'low', 'average' or 'high' (module docstring)."""
    if feature == "gender":
        return "high" if mean >= 0.6 else "low" if mean <= 0.4 else "average"
    q1, q2 = terciles
    if q1 < q2:
        return "low" if mean < q1 else "high" if mean > q2 else "average"
    return "low" if z < -0.5 else "high" if z > 0.5 else "average"


def level_word(feature: str, level: str) -> str:
    if feature == "age":
        return {"low": "Young", "average": "Middle-aged", "high": "Senior"}[level]
    if feature == "gender":
        return {"low": "Mostly men", "average": "Mixed gender", "high": "Mostly women"}[level]
    return f"{LEVEL_WORDS[level]} {_noun(feature)}"


def comparative(feature: str, higher: bool) -> str:
    if feature == "age":
        return "Older" if higher else "Younger"
    if feature == "gender":
        return "More women" if higher else "More men"
    return f"{'Higher' if higher else 'Lower'} {_noun(feature)}"


def _ordered(features: list[str], all_features: tuple[str, ...]) -> list[str]:
    order = {f: i for i, f in enumerate(FEATURE_ORDER)}
    rest = {f: len(FEATURE_ORDER) + i for i, f in enumerate(all_features)}
    return sorted(features, key=lambda f: order.get(f, rest[f]))


def flags_for(levels: dict[str, str]) -> list[str]:
    flags: list[str] = []
    inc, spend, age = levels.get("annual_income"), levels.get("spending_score"), levels.get("age")
    if spend == "high" and inc in ("high", None):
        flags.append("high_value")
    if inc == "high" and spend == "low":
        flags.append("upsell")
    if inc == "low" and spend == "low":
        flags.append("budget")
    if inc == "low" and spend == "high":
        flags.append("aspirational")
    if age == "low" and spend == "high":
        flags.append("young_spenders")
    engagement_low = any(lvl == "low" for f, lvl in levels.items() if any(h in f.lower() for h in ENGAGEMENT_HINTS))
    if (spend == "low" and "upsell" not in flags and "budget" not in flags) or engagement_low:
        flags.append("low_engagement")
    if any(lvl == "high" for f, lvl in levels.items() if any(h in f.lower() for h in RECENCY_HINTS)):
        flags.append("at_risk")
    if levels and all(lvl == "average" for lvl in levels.values()):
        flags.append("mainstream")
    return flags


def build_profiles(encoded: pd.DataFrame, labels: np.ndarray, k: int) -> list[SegmentProfile]:
    """Profiles of segments 0..k-1 from the encoded (unscaled) feature frame of the rows used.

    The centroid in real units is the mean of the segment's members (KMeans' centre at convergence).
    """
    features = tuple(encoded.columns)
    values = encoded.to_numpy(dtype=float)
    n = len(values)
    base_mean = values.mean(axis=0) if n else np.zeros(len(features))
    base_std = values.std(axis=0) if n else np.zeros(len(features))
    terciles = [base_terciles(values[:, j]) if n else (0.0, 0.0) for j in range(len(features))]
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(k + 1))
    stats: list[dict[str, dict[str, float]]] = []
    levels: list[dict[str, str]] = []
    zs: list[dict[str, float]] = []
    sizes: list[int] = []
    for label in range(k):
        part = values[order[bounds[label] : bounds[label + 1]]]
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

    names = _unique_names(features, levels, zs, stats, sizes)
    flag_lists = [flags_for(lv) for lv in levels]
    if not any("high_value" in fl for fl in flag_lists) and {"annual_income", "spending_score"} <= set(features):
        # no segment is high on both: the one worth most, when it is above the base on both
        best = max(range(k), key=lambda i: zs[i]["annual_income"] + zs[i]["spending_score"])
        if zs[best]["annual_income"] > 0 and zs[best]["spending_score"] > 0:
            flag_lists[best].insert(0, "high_value")

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
                strategy=strategy_text(rule),
                strategy_key=rule["key"],
            )
        )
    return profiles


def _unique_names(
    features: tuple[str, ...],
    levels: list[dict[str, str]],
    zs: list[dict[str, float]],
    stats: list[dict[str, dict[str, float]]],
    sizes: list[int],
) -> list[str]:
    k = len(levels)
    # the features each segment's name uses, most distinctive first
    ranked = [sorted(features, key=lambda f, i=i: (-abs(zs[i][f]), features.index(f))) for i in range(k)]
    used = [list(r[: min(2, len(features))]) for r in ranked]
    extras: list[list[tuple[str, str]]] = [[] for _ in range(k)]  # (feature, comparative)

    def name(i: int) -> str:
        qualifiers: dict[str, list[str]] = {}
        tail: list[str] = []
        for f, word in extras[i]:
            if f in used[i]:  # "Senior (younger)" rather than "Senior · Younger"
                qualifier = word.lower() if f in ("age", "gender") else word.split(" ", 1)[0].lower()
                qualifiers.setdefault(f, []).append(qualifier)
            else:
                tail.append(word)
        words = [
            level_word(f, levels[i][f]) + (f" ({', '.join(qualifiers[f])})" if f in qualifiers else "")
            for f in _ordered(used[i], features)
        ]
        return " · ".join(words + tail)

    for _ in range(len(features) + 2):
        groups: dict[str, list[int]] = {}
        for i in range(k):
            groups.setdefault(name(i), []).append(i)
        clashes = [g for g in groups.values() if len(g) > 1]
        if not clashes:
            break
        for group in clashes:
            # the feature not yet named that separates the group most (spread of z within the group)
            spare = [f for f in features if all(f not in used[i] for i in group)]
            spread = {f: max(zs[i][f] for i in group) - min(zs[i][f] for i in group) for f in spare}
            telling = [f for f in spare if len({levels[i][f] for i in group}) > 1]
            if telling:
                f = max(telling, key=lambda f: (spread[f], -features.index(f)))
                for i in group:
                    used[i].append(f)
                continue
            # no level tells them apart: a comparative on the feature where they differ most
            f = max(
                features,
                key=lambda f: (max(zs[i][f] for i in group) - min(zs[i][f] for i in group), -features.index(f)),
            )
            order = sorted(group, key=lambda i: stats[i][f]["mean"])
            for pos, i in enumerate(order):
                extras[i].append((f, _rank_word(f, pos, len(order))))
    names = [name(i) for i in range(k)]
    for i, n in enumerate(names):  # last resort (identical profiles): the size tells them apart, never "#2"
        if names.count(n) > 1:
            names[i] = f"{n} ({sizes[i]} customers)"
    return names


def _rank_word(feature: str, pos: int, n: int) -> str:
    if n == 2:
        return comparative(feature, pos == 1)
    noun = comparative(feature, True).split(" ", 1)[-1] if feature not in ("age", "gender") else _noun(feature)
    return f"{'Lowest' if pos == 0 else 'Highest' if pos == n - 1 else 'Mid'} {noun}"
