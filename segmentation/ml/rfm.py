"""RFM: recency, frequency and monetary scores 1-5 and the named groups marketers know (pure, no Django).

    result = rfm_segment(df, config, cuts={"frequency": (1, 2, 4, 8)})

Scores
    Each of recency (days), frequency (orders) and monetary (net revenue) is cut into five bins by four
    ascending cut points: the 20/40/60/80 % quantiles of the customers' values (quintiles, the default),
    or cut points given in the configuration (`cuts`, per feature). A value's bin is the number of cut
    points strictly below it (`numpy.searchsorted(..., side="left")`), so:

    * ties are never split: customers with the same value always get the same score, and a value equal
      to a cut point falls in the lower bin;
    * heavily tied values can leave a score empty (e.g. when 40 % of customers bought once, the 20 % and
      40 % quantiles are both 1: frequency 1 scores 1 and no one scores 2) and make bins uneven.

    F and M score 1 + bin (more is better); R scores 5 - bin (fewer days since the last purchase is
    better). Customers without the three values (no purchase) are not scored and not members.

Groups
    A customer's group comes from their R and F scores by `RFM_GROUPS`, a rule table kept as data (the
    first rule whose ranges hold wins; the table covers all 25 (R, F) pairs, a test checks it). M is
    scored and shown in each group's profile but does not change the group, as in the usual scheme.

    | group | R | F |
    |---|---|---|
    | Champions | 5 | 4-5 |
    | Loyal | 3-4 | 4-5 |
    | Potential loyalists | 4-5 | 2-3 |
    | New | 5 | 1 |
    | Promising | 4 | 1 |
    | Need attention | 3 | 3 |
    | About to sleep | 3 | 1-2 |
    | Can't lose them | 1-2 | 5 |
    | At risk | 1-2 | 3-4 |
    | Hibernating | 2 | 1-2 |
    | Lost | 1 | 1-2 |

    Each non-empty group becomes one segment named by the group, flagged `rfm_<slug>` (the playbook's
    RFM rules key on that flag) with the group's offer, channel and rationale (`RFM_STRATEGIES`) as the
    strategy when no playbook rule applies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from segmentation.ml.types import SegmentationConfig, SegmentationResult, SegmentProfile

RFM_FEATURES: tuple[str, str, str] = ("recency", "frequency", "monetary")
QUINTILES: tuple[float, ...] = (0.2, 0.4, 0.6, 0.8)
MIN_CUSTOMERS = 5


@dataclass(frozen=True)
class RFMGroup:
    name: str
    slug: str
    r: tuple[int, int]  # inclusive score range
    f: tuple[int, int]

    @property
    def flag(self) -> str:
        return f"rfm_{self.slug}"


#: The rule table (see the module doc): first match by R and F score ranges, inclusive.
RFM_GROUPS: tuple[RFMGroup, ...] = (
    RFMGroup("Champions", "champions", (5, 5), (4, 5)),
    RFMGroup("Loyal", "loyal", (3, 4), (4, 5)),
    RFMGroup("Potential loyalists", "potential_loyalists", (4, 5), (2, 3)),
    RFMGroup("New", "new", (5, 5), (1, 1)),
    RFMGroup("Promising", "promising", (4, 4), (1, 1)),
    RFMGroup("Need attention", "need_attention", (3, 3), (3, 3)),
    RFMGroup("About to sleep", "about_to_sleep", (3, 3), (1, 2)),
    RFMGroup("Can't lose them", "cant_lose_them", (1, 2), (5, 5)),
    RFMGroup("At risk", "at_risk", (1, 2), (3, 4)),
    RFMGroup("Hibernating", "hibernating", (2, 2), (1, 2)),
    RFMGroup("Lost", "lost", (1, 1), (1, 2)),
)

#: Per group slug: (offer, channel, rationale). The playbook's shipped RFM rules carry the same text.
RFM_STRATEGIES: dict[str, tuple[str, str, str]] = {
    "champions": (
        "Early access to new products, loyalty rewards and invitations to review or refer; no discounts needed",
        "Personal e-mail and the loyalty programme",
        "They bought recently, often and for the most: reward them and make them ambassadors.",
    ),
    "loyal": (
        "Upsell higher-value products, ask for reviews, membership or subscription offers",
        "E-mail and the loyalty programme",
        "They buy often and respond to promotions: deepen the relationship.",
    ),
    "potential_loyalists": (
        "Membership or loyalty programme, personalised recommendations on their last purchases",
        "E-mail and on-site personalisation",
        "Recent customers who bought more than once: turn them into loyal ones.",
    ),
    "new": (
        "Onboarding series, a welcome offer on the second order, help with getting started",
        "Welcome e-mail series",
        "They bought for the first time just now: the second purchase is the hardest.",
    ),
    "promising": (
        "Free shipping or a small incentive on the next order, brand awareness content",
        "E-mail and retargeting ads",
        "Recent but one purchase so far: build the habit.",
    ),
    "need_attention": (
        "Limited-time offers based on their past purchases, recommendations",
        "E-mail",
        "Average recency and frequency: reactivate them before they slip.",
    ),
    "about_to_sleep": (
        "Popular products and discounts with a deadline, reconnect with a reminder",
        "E-mail and retargeting ads",
        "Below-average recency and few purchases: they will be lost without a reason to return.",
    ),
    "cant_lose_them": (
        "Win them back with a personal offer or new products; ask what went wrong",
        "Personal e-mail or phone call",
        "They bought often but long ago: the most valuable customers to win back.",
    ),
    "at_risk": (
        "Personalised reactivation offers, renewals and helpful resources",
        "E-mail and direct mail",
        "They used to buy regularly but not for a long time: act before they are lost.",
    ),
    "hibernating": (
        "Relevant products and special discounts; recreate interest in the brand",
        "E-mail (low frequency)",
        "Last purchase long ago, few orders: low cost reactivation only.",
    ),
    "lost": (
        "One last reactivation campaign, then leave them out of paid campaigns",
        "E-mail only",
        "Lowest recency and frequency: not worth paid channels.",
    ),
}


#: Flag -> (label, explanation) of the RFM groups' flags, for pages (`segmentation.ml.flags.flag_label`).
RFM_FLAG_LABELS: dict[str, tuple[str, str]] = {
    g.flag: (f"RFM: {g.name}", RFM_STRATEGIES[g.slug][2]) for g in RFM_GROUPS
}


def rfm_strategy_text(slug: str) -> str:
    """The strategy text of a group: 'Offer: ...; Channel: ...; Why: ...'."""
    offer, channel, rationale = RFM_STRATEGIES[slug]
    return f"Offer: {offer}. Channel: {channel}. Why: {rationale}"


def rfm_group_grid() -> np.ndarray:
    """A 6x6 array: grid[r, f] = index into RFM_GROUPS of the group of (R, F) scores 1..5 (-1 where none)."""
    grid = np.full((6, 6), -1, dtype=np.int64)
    for r in range(1, 6):
        for f in range(1, 6):
            for i, group in enumerate(RFM_GROUPS):
                if group.r[0] <= r <= group.r[1] and group.f[0] <= f <= group.f[1]:
                    grid[r, f] = i
                    break
    return grid


def rfm_cuts_errors(cuts: object) -> dict[str, str]:
    """Errors of configured cut points, keyed "rfm_cuts": each feature needs four ascending numbers."""
    if cuts in (None, "", {}):
        return {}
    if not isinstance(cuts, Mapping):
        return {"rfm_cuts": f'expected {{"recency": [c1, c2, c3, c4], ...}}; got {cuts!r}'}
    for feature, points in cuts.items():
        if feature not in RFM_FEATURES:
            return {"rfm_cuts": f"{feature!r}: expected one of {', '.join(RFM_FEATURES)}"}
        if (
            not isinstance(points, Sequence)
            or isinstance(points, str)
            or len(points) != 4
            or not all(isinstance(p, int | float) and not isinstance(p, bool) for p in points)
        ):
            return {"rfm_cuts": f"{feature}: expected four numbers; got {points!r}"}
        if list(points) != sorted(points):
            return {"rfm_cuts": f"{feature}: the four cut points must be ascending; got {list(points)!r}"}
    return {}


def rfm_cuts(values: pd.DataFrame, cuts: Mapping[str, Sequence[float]] | None = None) -> dict[str, list[float]]:
    """The cut points used per feature: configured ones, else the quintiles of `values`."""
    out: dict[str, list[float]] = {}
    for feature in RFM_FEATURES:
        given = (cuts or {}).get(feature)
        if given:
            out[feature] = [float(c) for c in given]
        else:
            out[feature] = [float(q) for q in np.quantile(values[feature].to_numpy(dtype=float), QUINTILES)]
    return out


def rfm_scores(values: pd.DataFrame, cuts: Mapping[str, Sequence[float]]) -> pd.DataFrame:
    """R, F, M scores 1..5 (columns r, f, m) of complete rows of `values` by the cut points `cuts`."""
    out = {}
    for feature, column in zip(RFM_FEATURES, ("r", "f", "m"), strict=True):
        bins = np.searchsorted(np.asarray(cuts[feature], dtype=float), values[feature].to_numpy(dtype=float))
        out[column] = (5 - bins) if feature == "recency" else (1 + bins)
    return pd.DataFrame(out, index=values.index).astype(np.int64)


def rfm_groups(scores: pd.DataFrame) -> np.ndarray:
    """The index into RFM_GROUPS of each row's group (by its r and f scores)."""
    return rfm_group_grid()[scores["r"].to_numpy(), scores["f"].to_numpy()]


def _profile_stats(part: pd.DataFrame, whole: pd.DataFrame) -> dict[str, dict[str, float]]:
    stats: dict[str, dict[str, float]] = {}
    for feature in RFM_FEATURES:
        col = part[feature]
        std = float(whole[feature].std(ddof=0)) or 1.0
        stats[feature] = {
            "mean": float(col.mean()),
            "median": float(col.median()),
            "min": float(col.min()),
            "max": float(col.max()),
            "z": float((col.mean() - whole[feature].mean()) / std),
        }
    return stats


def rfm_segment(
    df: pd.DataFrame, config: SegmentationConfig, *, cuts: Mapping[str, Sequence[float]] | None = None
) -> SegmentationResult:
    """Score every customer with recency, frequency and monetary and make one segment per non-empty group.

    `df` is indexed by customer and holds the three columns (NaN where a customer has no behaviour).
    Too few customers, or missing columns, is a result with ok=False and the reason.
    """
    missing_columns = [f for f in RFM_FEATURES if f not in df.columns]
    if missing_columns:
        return SegmentationResult(
            ok=False,
            reason=f"RFM needs the columns {', '.join(RFM_FEATURES)}; missing: {', '.join(missing_columns)}. "
            "Import order lines so behaviour is computed (manage.py behaviour).",
            config=config,
        )
    values = df[list(RFM_FEATURES)].astype(float)
    complete = values.notna().all(axis=1).to_numpy()
    members = values[complete]
    excluded = {"no purchase (no recency, frequency, monetary)": int((~complete).sum())} if (~complete).any() else {}
    if len(members) < MIN_CUSTOMERS:
        return SegmentationResult(
            ok=False,
            reason=f"RFM needs at least {MIN_CUSTOMERS} customers with purchases; got {len(members)}. "
            "Import order lines so behaviour is computed (manage.py behaviour).",
            config=config,
            excluded=excluded,
            rows_dropped=int((~complete).sum()),
        )
    used_cuts = rfm_cuts(members, cuts)
    scores = rfm_scores(members, used_cuts)
    group_index = rfm_groups(scores)
    present = [i for i in range(len(RFM_GROUPS)) if (group_index == i).any()]
    label_of = {g: label for label, g in enumerate(present)}
    labels = np.array([label_of[g] for g in group_index], dtype=np.int64) if len(group_index) else np.array([])
    segments: list[SegmentProfile] = []
    sizes: dict[str, int] = {}
    total = len(members)
    for g in present:
        group = RFM_GROUPS[g]
        mask = group_index == g
        part = members[mask]
        stats = _profile_stats(part, members)
        sizes[group.name] = int(mask.sum())
        segments.append(
            SegmentProfile(
                label=label_of[g],
                name=group.name,
                size=int(mask.sum()),
                share=float(mask.sum() / total),
                centroid={f: stats[f]["mean"] for f in RFM_FEATURES},
                stats=stats,
                flags=[group.flag],
                strategy=rfm_strategy_text(group.slug),
                strategy_key=group.flag,
            )
        )
    quintiles = not cuts or any(not (cuts or {}).get(f) for f in RFM_FEATURES)
    details: dict[str, Any] = {
        "method": "rfm",
        "cuts": used_cuts,
        "cuts_source": {f: ("configured" if (cuts or {}).get(f) else "quintiles") for f in RFM_FEATURES},
        "groups": sizes,
        "scores": {c: {str(s): int((scores[c] == s).sum()) for s in range(1, 6)} for c in ("r", "f", "m")},
    }
    reason = (
        f"RFM: {len(present)} of {len(RFM_GROUPS)} groups have customers, by R and F scores "
        f"({'quintiles' if quintiles else 'configured cut points'}); {total:,} customers scored."
    )
    model = {
        "method": "rfm",
        "features": list(RFM_FEATURES),
        "cuts": used_cuts,
        "labels": {RFM_GROUPS[g].slug: label_of[g] for g in present},
    }
    return SegmentationResult(
        ok=True,
        reason=reason,
        config=config,
        model=model,
        chosen_k=len(present),
        structure="",
        labels=labels,
        distances=np.zeros(len(labels), dtype=float),
        index=members.index.to_numpy(),
        segments=segments,
        rows_used=total,
        rows_dropped=int((~complete).sum()),
        excluded=excluded,
        details=details,
    )


def is_rfm_model(model: Mapping[str, Any] | None) -> bool:
    """True for the stored model of an RFM run (`rfm_segment`'s `result.model`)."""
    return bool(model) and (model or {}).get("method") == "rfm"


def rfm_assign(df: pd.DataFrame, model: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Labels and distances of new or changed customers by an RFM run's stored model.

    Each customer is scored with the run's stored cut points (never recomputed quintiles, so a customer
    gets the score the run would have given them) and placed in the segment of their group. A customer
    without the three values, or whose group had no segment in the run, gets label -1 and distance NaN
    (not placed, as `engine.assign` does for a customer without the run's features). Distance is 0.
    """
    n = len(df)
    labels = np.full(n, -1, dtype=np.int64)
    distances = np.full(n, np.nan, dtype=float)
    if n == 0 or any(f not in df.columns for f in RFM_FEATURES):
        return labels, distances
    values = df[list(RFM_FEATURES)].apply(pd.to_numeric, errors="coerce").astype(float)
    complete = values.notna().all(axis=1).to_numpy()
    if not complete.any():
        return labels, distances
    cuts = {f: [float(c) for c in model["cuts"][f]] for f in RFM_FEATURES}
    group_index = rfm_groups(rfm_scores(values[complete], cuts))
    by_slug = {str(slug): int(label) for slug, label in (model.get("labels") or {}).items()}
    lookup = np.array([by_slug.get(g.slug, -1) for g in RFM_GROUPS] + [-1], dtype=np.int64)
    placed = lookup[np.where(group_index >= 0, group_index, len(RFM_GROUPS))]
    labels[complete] = placed
    distances[np.flatnonzero(complete)[placed >= 0]] = 0.0
    return labels, distances
