"""Property: a segment's name never contradicts its profile, over many random tables and feature sets.

hypothesis is not installed: a seeded loop draws the tables (sizes, column shapes: normal, skewed,
few distinct values, bimodal; gender shares), the feature sets and k. For every segment, every level
word of its name ("Low x", "Average x", "High x", Young / Middle-aged / Senior, Mostly men / Mixed
gender / Mostly women) must be the segment's level on that feature, recomputed here from the data
(mean against the base's terciles, z when they coincide; share of women for gender).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from segmentation.ml import SegmentationConfig, segment
from segmentation.ml.naming import AGE_WORDS, GENDER_WORDS, LEVEL_WORDS, noun

POOL = ("age", "gender", "annual_income", "spending_score", "visits", "MntWines", "days_since", "score_b")
SEEDS = range(150)


def _column(rng: np.random.Generator, feature: str, n: int) -> np.ndarray:
    if feature == "gender":
        return np.where(rng.random(n) < rng.uniform(0.1, 0.9), "female", "male")
    shape = rng.integers(5)
    if shape == 0:
        return rng.normal(rng.uniform(20, 80), rng.uniform(1, 20), n)
    if shape == 1:  # heavily skewed money
        return np.round(rng.lognormal(rng.uniform(3, 9), rng.uniform(0.5, 1.5), n))
    if shape == 2:  # few distinct values: terciles often coincide
        return rng.choice(rng.integers(0, 10, rng.integers(2, 5)), n).astype(float)
    if shape == 3:  # two groups
        return np.where(rng.random(n) < 0.3, rng.normal(10, 2, n), rng.normal(60, 5, n))
    return rng.uniform(0, 100, n)


def _level(values: np.ndarray, rows: np.ndarray, feature: str) -> str:
    mean = values[rows].mean()
    if feature == "gender":
        return "high" if mean >= 0.6 else "low" if mean <= 0.4 else "average"
    q1, q2 = np.percentile(values, [100 / 3, 200 / 3])
    if q1 < q2:
        return "low" if mean < q1 else "high" if mean > q2 else "average"
    std = values.std()
    z = 0.0 if std == 0 else (mean - values.mean()) / std
    return "low" if z < -0.5 else "high" if z > 0.5 else "average"


def _level_words(name: str, features: tuple[str, ...]) -> list[tuple[str, str]]:
    """(feature, level) of every level word in `name`; comparatives ("Higher x", "(younger)") are not levels."""
    name = re.sub(r" \(\d+ customers\)$", "", name)
    by_noun = {noun(f): f for f in features}
    found = []
    for part in name.split(" · "):
        base = re.sub(r" \([^)]*\)$", "", part)
        for feature, words in (("age", AGE_WORDS), ("gender", GENDER_WORDS)):
            for level, word in words.items():
                if base == word:
                    found.append((feature, level))
        for level, word in LEVEL_WORDS.items():
            if base.startswith(word + " ") and base[len(word) + 1 :] in by_noun:
                found.append((by_noun[base[len(word) + 1 :]], level))
    return found


@pytest.mark.parametrize("chunk", range(3))
def test_every_name_level_word_is_the_segment_level(chunk):
    checked = 0
    for seed in SEEDS[chunk::3]:
        rng = np.random.default_rng(seed)
        n = int(rng.integers(40, 260))
        features = tuple(str(f) for f in rng.choice(POOL, size=int(rng.integers(1, 6)), replace=False))
        df = pd.DataFrame({f: _column(rng, f, n) for f in features}, index=pd.RangeIndex(n))
        k = int(rng.integers(2, 7))
        config = SegmentationConfig(
            features=features,
            k=k,
            scaler=str(rng.choice(["minmax", "standard", "robust"])),
            n_init=1,
            stability_resamples=0,
            random_state=seed,
        )
        result = segment(df, config)
        if not result.ok:  # a constant column or too few distinct rows: a reason, not a name
            continue
        encoded = df.loc[result.index].copy()
        if "gender" in features:
            encoded["gender"] = (encoded["gender"] == "female").astype(float)
        for s in result.segments:
            rows = np.flatnonzero(result.labels == s.label)
            words = _level_words(s.name, features)
            assert words, f"seed {seed}: {s.name!r} has no level word"
            for feature, level in words:
                expected = _level(encoded[feature].to_numpy(dtype=float), rows, feature)
                assert level == expected == s.levels[feature], (
                    f"seed {seed}, features {features}: {s.name!r} says {feature} is {level}; "
                    f"the profile's level is {s.levels[feature]}, the data's {expected}"
                )
            checked += 1
    assert checked > 50
