"""Flags of a segment, from the roles of its run's features and its profile, never from column names.

Roles (`fields.ROLES`) come with the run (`SegmentationConfig.roles`). For each of the roles
monetary, capacity, frequency and recency that has at least one feature, every customer gets a
*role score*:

- one feature: the feature itself (so its level is the feature's level);
- several features that share a unit (e.g. six spend columns in $, or all without a unit, as the
  amounts of one file usually are): their sum, the total in real units ("total spend per customer");
- several features with different units (a 1–100 score next to $ amounts): the sum of the features'
  z-scores against the whole base (each column counts alike, whatever its scale).

A segment's *role level* is low / average / high by the same tercile rule as a feature's level
(`naming.level_of`) applied to the role score; its role value is the mean score of its members.

Flags (a segment may carry several; listed in this order):

- `high_value`: the segment(s) with the highest mean monetary score (ties: all of them); none
  when no feature is monetary.
- `upsell`: high capacity (e.g. income) with low or average monetary: they spend below their means
  (never the high-value segment).
- `budget`: low capacity, low monetary.
- `aspirational`: low capacity, high monetary.
- `young_spenders`: young (low level on `age`) and high monetary.
- `low_engagement`: low monetary without being `upsell` or `budget`, or low frequency.
- `at_risk`: high recency (long since the last purchase) with past value: monetary or frequency not
  low (when the run has neither, high recency alone).
- `mainstream`: average on every feature.

With lifetime values (`flags_with_values`, given each segment's `SegmentValue` figures: the stored
predictions of its members), two flags follow the predictions instead; without them today's rules stay:

- `high_value`: the segment(s) with the highest average expected value per customer (ties: all).
- `at_risk`: high past value -- the members' net revenue per customer at least the base's -- and low
  P(active): the members' mean P(active) below ``AT_RISK_P_ALIVE`` (0.5). A fit without measurable
  dropout (P(active) = 1 for everyone) flags no segment at risk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from segmentation.ml.fields import feature_role, feature_unit
from segmentation.ml.naming import base_terciles, level_of
from segmentation.ml.rfm import RFM_FLAG_LABELS

SCORED_ROLES: tuple[str, ...] = ("monetary", "capacity", "frequency", "recency")


def role_scores(
    values: np.ndarray,
    features: Sequence[str],
    *,
    roles: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
) -> dict[str, np.ndarray]:
    """Per scored role with at least one feature: each customer's role score (module docstring)."""
    scores: dict[str, np.ndarray] = {}
    for role in SCORED_ROLES:
        cols = [j for j, f in enumerate(features) if feature_role(f, roles) == role]
        if not cols:
            continue
        part = values[:, cols].astype(float)
        if len(cols) == 1:
            scores[role] = part[:, 0]
            continue
        shared = {feature_unit(features[j], units) for j in cols}
        if len(shared) == 1:
            scores[role] = part.sum(axis=1)
            continue
        mean = part.mean(axis=0) if len(part) else np.zeros(len(cols))
        std = part.std(axis=0) if len(part) else np.ones(len(cols))
        std = np.where(std > 0, std, 1.0)
        scores[role] = ((part - mean) / std).sum(axis=1)
    return scores


def role_levels(scores: Mapping[str, np.ndarray], members: Sequence[np.ndarray]) -> list[dict[str, str]]:
    """Per segment (its members' row positions), the level of each role score."""
    out: list[dict[str, str]] = [{} for _ in members]
    for role, score in scores.items():
        n = len(score)
        terciles = base_terciles(score) if n else (0.0, 0.0)
        base_mean = float(score.mean()) if n else 0.0
        base_std = float(score.std()) if n else 0.0
        for i, rows in enumerate(members):
            if not len(rows):
                continue
            mean = float(score[rows].mean())
            z = 0.0 if base_std == 0 else (mean - base_mean) / base_std
            out[i][role] = level_of(role, mean, terciles, z)
    return out


def high_value_segments(scores: Mapping[str, np.ndarray], members: Sequence[np.ndarray]) -> set[int]:
    """The segment(s) with the highest mean monetary score; empty without a monetary feature."""
    score = scores.get("monetary")
    if score is None:
        return set()
    means = {i: float(score[rows].mean()) for i, rows in enumerate(members) if len(rows)}
    if not means:
        return set()
    top = max(means.values())
    return {i for i, m in means.items() if m == top}


def flags_for(levels: Mapping[str, str], roles: Mapping[str, str], *, high_value: bool = False) -> list[str]:
    """The flags of one segment from its feature `levels`, its role levels `roles` (module docstring)."""
    flags: list[str] = ["high_value"] if high_value else []
    cap, mon, freq, rec = (roles.get(r) for r in ("capacity", "monetary", "frequency", "recency"))
    if cap == "high" and mon in ("low", "average") and not high_value:
        flags.append("upsell")
    if cap == "low" and mon == "low":
        flags.append("budget")
    if cap == "low" and mon == "high":
        flags.append("aspirational")
    if levels.get("age") == "low" and mon == "high":
        flags.append("young_spenders")
    if (mon == "low" and "upsell" not in flags and "budget" not in flags) or freq == "low":
        flags.append("low_engagement")
    past = [lvl for lvl in (mon, freq) if lvl is not None]
    if rec == "high" and (not past or any(lvl != "low" for lvl in past)):
        flags.append("at_risk")
    if levels and all(lvl == "average" for lvl in levels.values()):
        flags.append("mainstream")
    return flags


AT_RISK_P_ALIVE = 0.5  # a segment's mean P(active) below this is "low"


@dataclass(frozen=True)
class SegmentValue:
    """A segment's lifetime-value figures over its members with a stored value (aggregated in SQL)."""

    customers: int  # members with a stored value
    total_value: float  # sum of expected value over the horizon
    mean_p_alive: float
    churn_share: float  # share of those members with P(active) < 0.5
    past_value: float = 0.0  # members' net revenue so far (sum)

    @property
    def mean_value(self) -> float:
        return self.total_value / self.customers if self.customers else 0.0

    @property
    def churn_risk(self) -> float:
        """Mean 1 - P(active)."""
        return 1.0 - self.mean_p_alive if self.customers else 0.0

    @property
    def past_value_per_customer(self) -> float:
        return self.past_value / self.customers if self.customers else 0.0


def flags_with_values(
    flags: Sequence[Sequence[str]], figures: Sequence[SegmentValue | None], *, low_p_alive: float = AT_RISK_P_ALIVE
) -> list[list[str]]:
    """Each segment's flags with `high_value` and `at_risk` from lifetime values (module docstring).

    `figures[i]` belongs to segment `flags[i]`; when no segment has a member with a value, the flags are
    returned as they are (today's rules)."""
    if len(flags) != len(figures):
        raise ValueError(f"figures: expected {len(flags)} (one per segment); got {len(figures)}")
    known = {i: f for i, f in enumerate(figures) if f is not None and f.customers > 0}
    if not known:
        return [list(f) for f in flags]
    top = max(f.mean_value for f in known.values())
    customers = sum(f.customers for f in known.values())
    base_past = sum(f.past_value for f in known.values()) / customers
    out: list[list[str]] = []
    for i, own in enumerate(flags):
        kept = [f for f in own if f not in ("high_value", "at_risk")]
        fig = known.get(i)
        high = fig is not None and fig.mean_value == top
        risk = fig is not None and fig.past_value_per_customer >= base_past and fig.mean_p_alive < low_p_alive
        out.append((["high_value"] if high else []) + kept + (["at_risk"] if risk else []))
    return out


# Each flag in words: (label, what it means). Pages show the label with the meaning on hover; CSS classes,
# the API and the playbook keep the key.
FLAG_LABELS: dict[str, tuple[str, str]] = {
    "high_value": ("High value", "The segment that spends the most on average."),
    "upsell": ("Upsell opportunity", "High means to spend (e.g. income) but average or low spending."),
    "budget": ("Budget", "Low means to spend and low spending."),
    "aspirational": ("Aspirational", "Low means to spend but high spending."),
    "young_spenders": ("Young spenders", "Younger than most customers and spending a lot."),
    "low_engagement": ("Low engagement", "Low spending or rare purchases without a reason in their means."),
    "at_risk": ("At risk", "Valuable in the past but a long time since the last purchase."),
    "mainstream": ("Mainstream", "Average on every feature."),
}


def flag_label(key: str) -> str:
    """'high_value' -> 'High value'; an unknown flag in words ('vip_gold' -> 'Vip gold')."""
    found = FLAG_LABELS.get(key) or RFM_FLAG_LABELS.get(key)
    return found[0] if found else str(key).replace("_", " ").strip().capitalize()


def flag_explanation(key: str) -> str:
    found = FLAG_LABELS.get(key) or RFM_FLAG_LABELS.get(key)
    return found[1] if found else ""
