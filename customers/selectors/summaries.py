"""Per-column summaries of the data overview: numeric columns (exact count, missing, mean, min and max from
the database; median, 5th/95th percentiles and skew from the sample), text columns (distinct values and
the most common ones, counted by the database), age groups, and correlations between numeric columns
(from the sample), with the strongest pairs said in words."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import Count, Q, QuerySet
from django.db.models.fields.json import KT

#: Age groups of the overview: (label, lowest age, highest age); None = open.
AGE_GROUPS: tuple[tuple[str, int | None, int | None], ...] = (
    ("Under 18", None, 17),
    ("18–24", 18, 24),
    ("25–34", 25, 34),
    ("35–44", 35, 44),
    ("45–54", 45, 54),
    ("55–64", 55, 64),
    ("65 and over", 65, None),
)
#: Most common values listed per text column.
TOP_VALUES = 10
#: Pairs named under the correlation heatmap.
STRONGEST_PAIRS = 5


@dataclass(frozen=True)
class NumericSummary:
    key: str
    title: str
    count: int
    missing: int
    mean: float | None
    minimum: float | None
    maximum: float | None
    median: float | None = None
    p5: float | None = None
    p95: float | None = None
    skew: float | None = None

    @property
    def missing_share(self) -> float:
        total = self.count + self.missing
        return self.missing / total if total else 0.0


@dataclass(frozen=True)
class TextSummary:
    key: str
    title: str
    count: int
    missing: int
    distinct: int
    top: tuple[tuple[str, int], ...]

    @property
    def missing_share(self) -> float:
        total = self.count + self.missing
        return self.missing / total if total else 0.0


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    r: float

    @property
    def strength(self) -> str:
        size = abs(self.r)
        if size >= 0.7:
            return "strong"
        if size >= 0.4:
            return "moderate"
        if size >= 0.2:
            return "weak"
        return "very weak"

    @property
    def direction(self) -> str:
        return "positive" if self.r >= 0 else "negative"

    @property
    def sentence(self) -> str:
        """'Income and Wines spend: r = 0.73 (strong, positive)'."""
        return f"{self.a} and {self.b}: r = {round(self.r, 2) + 0.0:.2f} ({self.strength}, {self.direction})"


@dataclass(frozen=True)
class Correlation:
    keys: tuple[str, ...]
    titles: tuple[str, ...]
    matrix: tuple[tuple[float | None, ...], ...]  # None where a pair has too few values in common
    pairs: tuple[Pair, ...]  # the strongest, by |r|


def age_group_aggregates(column: str = "age") -> dict[str, Any]:
    """Aggregates for one scan: customers per age group (keys `age_group_<i>`)."""
    aggs: dict[str, Any] = {}
    for i, (_, lo, hi) in enumerate(AGE_GROUPS):
        cond = Q(**{f"{column}__isnull": False})
        if lo is not None:
            cond &= Q(**{f"{column}__gte": lo})
        if hi is not None:
            cond &= Q(**{f"{column}__lte": hi})
        aggs[f"age_group_{i}"] = Count("pk", filter=cond)
    return aggs


def age_groups_from(stats: Mapping[str, Any]) -> list[tuple[str, int]]:
    """(label, customers) per age group; "Under 18" only when someone is under 18."""
    out = [(label, int(stats.get(f"age_group_{i}") or 0)) for i, (label, _, _) in enumerate(AGE_GROUPS)]
    if out and out[0][1] == 0:
        out = out[1:]
    return out


def numeric_summary(
    *, key: str, title: str, stats: Mapping[str, Any], rows: int, sample: Sequence[float | None]
) -> NumericSummary:
    """Exact count, missing, mean, min, max from `stats` (the aggregate scan); the rest from `sample`."""
    missing = int(stats.get(f"missing_{key}") or 0)
    count = rows - missing
    total = stats.get(f"sum_{key}")
    mean = float(total) / count if count and total is not None else None
    lo, hi = stats.get(f"min_{key}"), stats.get(f"max_{key}")
    values = np.array([v for v in sample if v is not None], dtype=float)
    values = values[np.isfinite(values)]
    median = p5 = p95 = skew = None
    if values.size:
        p5, median, p95 = (float(x) for x in np.percentile(values, [5, 50, 95]))
    if values.size >= 3:
        s = pd.Series(values).skew()
        skew = float(s) if s is not None and math.isfinite(s) else None
    return NumericSummary(
        key=key,
        title=title,
        count=count,
        missing=missing,
        mean=mean,
        minimum=None if lo is None else float(lo),
        maximum=None if hi is None else float(hi),
        median=median,
        p5=p5,
        p95=p95,
        skew=skew,
    )


def text_summary(*, qs: QuerySet, key: str, title: str, rows: int, top: int = TOP_VALUES) -> TextSummary:
    """Distinct values and the `top` most common ones of text attribute `key`, counted by the database."""
    values = qs.annotate(_v=KT(f"attributes__{key}")).filter(_v__isnull=False)
    agg = values.aggregate(n=Count("pk"), d=Count("_v", distinct=True))
    common = values.values("_v").annotate(n=Count("pk")).order_by("-n", "_v")[:top]
    count = int(agg["n"] or 0)
    return TextSummary(
        key=key,
        title=title,
        count=count,
        missing=rows - count,
        distinct=int(agg["d"] or 0),
        top=tuple((str(r["_v"]), int(r["n"])) for r in common),
    )


def correlation(*, columns: Sequence[tuple[str, str]], sample: Mapping[str, Sequence[float | None]]) -> Correlation:
    """Pearson r between every two of `columns` ((key, title)) over the sampled rows, pairwise complete."""
    keys = [k for k, _ in columns]
    frame = pd.DataFrame({k: pd.to_numeric(pd.Series(sample[k], dtype=object), errors="coerce") for k in keys})
    frame = frame.astype(float)
    corr = frame.corr(method="pearson", min_periods=3) if keys else pd.DataFrame()
    matrix = tuple(
        tuple(None if not math.isfinite(v := float(corr.loc[a, b])) else round(v, 4) for b in keys) for a in keys
    )
    titles = dict(columns)
    pairs = [
        Pair(a=titles[keys[i]], b=titles[keys[j]], r=matrix[i][j])
        for i in range(len(keys))
        for j in range(i + 1, len(keys))
        if matrix[i][j] is not None
    ]
    pairs.sort(key=lambda p: (-abs(p.r), p.a, p.b))
    return Correlation(
        keys=tuple(keys),
        titles=tuple(titles[k] for k in keys),
        matrix=matrix,
        pairs=tuple(pairs[:STRONGEST_PAIRS]),
    )
