"""Segment names from levels: "High income · Low spending", unique within a run.

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

A name is always made from the segment's own profile in its own run: a level word in a name is the
segment's level on that feature (tested over many random tables). Only a name a person typed is
carried to a later run (`segmentation.services.lineage`).
"""

from __future__ import annotations

import numpy as np

FEATURE_ORDER = ("age", "gender", "annual_income", "spending_score")
NOUNS = {"annual_income": "income", "spending_score": "spending", "age": "age", "gender": "share of women"}
LEVEL_WORDS = {"low": "Low", "average": "Average", "high": "High"}
AGE_WORDS = {"low": "Young", "average": "Middle-aged", "high": "Senior"}
GENDER_WORDS = {"low": "Mostly men", "average": "Mixed gender", "high": "Mostly women"}


def noun(feature: str) -> str:
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
        return AGE_WORDS[level]
    if feature == "gender":
        return GENDER_WORDS[level]
    return f"{LEVEL_WORDS[level]} {noun(feature)}"


def comparative(feature: str, higher: bool) -> str:
    if feature == "age":
        return "Older" if higher else "Younger"
    if feature == "gender":
        return "More women" if higher else "More men"
    return f"{'Higher' if higher else 'Lower'} {noun(feature)}"


def _ordered(features: list[str], all_features: tuple[str, ...]) -> list[str]:
    order = {f: i for i, f in enumerate(FEATURE_ORDER)}
    rest = {f: len(FEATURE_ORDER) + i for i, f in enumerate(all_features)}
    return sorted(features, key=lambda f: order.get(f, rest[f]))


def unique_names(
    features: tuple[str, ...],
    levels: list[dict[str, str]],
    zs: list[dict[str, float]],
    stats: list[dict[str, dict[str, float]]],
    sizes: list[int],
) -> list[str]:
    """The segments' names, unique within the run (module docstring)."""
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
    word = comparative(feature, True).split(" ", 1)[-1] if feature not in ("age", "gender") else noun(feature)
    return f"{'Lowest' if pos == 0 else 'Highest' if pos == n - 1 else 'Mid'} {word}"
