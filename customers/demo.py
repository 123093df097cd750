"""The synthetic demo customer table. Pure numpy/pandas; the same seed gives the same table.

It imitates the Mall customers table (annual income in k$, spending score 1-100, age, gender) with
five planted groups of different income and spending behaviour, so segmentation has something to find:

======================  ======  ===========  ==============  =========
group                   share   income (k$)  spending score  age
======================  ======  ===========  ==============  =========
average / average       40 %    ~55          ~50             ~43
high income / high      20 %    ~87          ~82             ~33
high income / low       18 %    ~88          ~17             ~41
low income / high       11 %    ~26          ~79             ~25
low income / low        11 %    ~26          ~21             ~45
======================  ======  ===========  ==============  =========

Every value is invented: no real person is described.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from customers.imports.columns import CANONICAL_FIELDS

SOURCE_ATTRIBUTE = "source"
SOURCE_VALUE = "synthetic demo"
ID_PREFIX = "DEMO-"


@dataclass(frozen=True)
class PlantedGroup:
    name: str
    share: float
    income_mean: float
    income_sd: float
    score_mean: float
    score_sd: float
    age_mean: float
    age_sd: float
    female_share: float


PLANTED_GROUPS: tuple[PlantedGroup, ...] = (
    PlantedGroup("average income, average spending", 0.40, 55, 8, 50, 6, 43, 12, 0.58),
    PlantedGroup("high income, high spending", 0.20, 87, 9, 82, 8, 33, 4, 0.54),
    PlantedGroup("high income, low spending", 0.18, 88, 10, 17, 9, 41, 10, 0.46),
    PlantedGroup("low income, high spending", 0.11, 26, 6, 79, 9, 25, 5, 0.59),
    PlantedGroup("low income, low spending", 0.11, 26, 6, 21, 10, 45, 12, 0.61),
)

COLUMNS = [*CANONICAL_FIELDS, "group"]


def demo_group_sizes(n: int) -> list[int]:
    """How many customers each planted group gets (largest-remainder rounding; sums to n)."""
    shares = np.array([g.share for g in PLANTED_GROUPS])
    raw = shares / shares.sum() * n
    sizes = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - sizes), kind="stable")[: n - int(sizes.sum())]:
        sizes[i] += 1
    return sizes.tolist()


def demo_customers(*, n: int = 2000, seed: int = 7) -> pd.DataFrame:
    """`n` synthetic customers: columns external_id, gender, age, annual_income, spending_score, group.

    `group` is the index of the planted group in PLANTED_GROUPS (for tests and checks; it is not stored).
    Rows are shuffled so ids do not reveal the group.
    """
    if n < 0:
        raise ValueError(f"n: expected 0 or more customers; got {n}")
    rng = np.random.default_rng(seed)
    parts = []
    for index, (group, size) in enumerate(zip(PLANTED_GROUPS, demo_group_sizes(n), strict=True)):
        if size == 0:
            continue
        income = np.clip(np.rint(rng.normal(group.income_mean, group.income_sd, size)), 15, 140)
        score = np.clip(np.rint(rng.normal(group.score_mean, group.score_sd, size)), 1, 100)
        age = np.clip(np.rint(rng.normal(group.age_mean, group.age_sd, size)), 18, 70)
        gender = np.where(rng.random(size) < group.female_share, "female", "male")
        parts.append(
            pd.DataFrame(
                {
                    "gender": gender,
                    "age": age.astype(int),
                    "annual_income": income.astype(float),
                    "spending_score": score.astype(float),
                    "group": index,
                }
            )
        )
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    frame = pd.concat(parts, ignore_index=True)
    frame = frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
    width = max(5, len(str(n)))
    frame.insert(0, "external_id", [f"{ID_PREFIX}{i:0{width}d}" for i in range(1, len(frame) + 1)])
    return frame[COLUMNS]
