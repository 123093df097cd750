"""Carrying a segment's identity across runs (name, colour, edited strategy).

Called by the activation service inside its transaction, before the new run becomes active,
after the new run's segments and memberships are written. Also valid for a first run
(`previous=None`): every segment then gets a new lineage and a palette colour.

Rule:
1. Segments of the previous run and of the new run are paired by the optimal assignment of
   their centroids (`ml.compare.match_centroids`, features scaled by their range), on the
   features both runs share. A pair whose groups have almost nothing in common (Jaccard of
   members < 0.1 and centroid moved more than half a feature range) is not a match.
2. A matched segment keeps the previous segment's `lineage`, `name` and `color`. An edited
   strategy (source "override", or one already "carried") is copied with source "carried" and its
   editor; when the group changed a lot (Jaccard of members < 0.5, or centroid moved more than
   a quarter of a feature range) it is still copied but flagged `strategy_needs_review=True`,
   so a marketer looks at it instead of it being carried silently.
3. An unmatched new segment gets a new lineage (uuid4 hex) and the next palette colour not used
   in the run; its engine name is kept, made unique within the run if a carried name took it.
"""

from __future__ import annotations

import uuid

from segmentation.ml.charts import FALLBACK_COLORS
from segmentation.ml.compare import feature_scales, jaccard, match_centroids
from segmentation.models import Segment, SegmentRun
from segmentation.selectors.comparison import run_pair_counts

PALETTE: tuple[str, ...] = FALLBACK_COLORS
REVIEW_JACCARD = 0.5
REVIEW_DISTANCE = 0.25
NO_MATCH_JACCARD = 0.1
NO_MATCH_DISTANCE = 0.5

_FIELDS = [
    "lineage",
    "name",
    "color",
    "strategy",
    "strategy_source",
    "strategy_needs_review",
    "strategy_edited_by",
    "strategy_edited_at",
]


def _common_features(run_segments: list[Segment], prev_segments: list[Segment]) -> list[str]:
    def keys(segs: list[Segment]) -> set[str]:
        out: set[str] | None = None
        for s in segs:
            k = {f for f, v in (s.centroid or {}).items() if isinstance(v, int | float)}
            out = k if out is None else out & k
        return out or set()

    return sorted(keys(run_segments) & keys(prev_segments))


def _next_color(used: set[str]) -> str:
    for c in PALETTE:
        if c not in used:
            return c
    return PALETTE[len(used) % len(PALETTE)]


def _unique_name(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    n = 2
    while f"{name} ({n})" in taken:
        n += 1
    return f"{name} ({n})"


def segments_inherit(*, run: SegmentRun, previous: SegmentRun | None) -> None:
    """Match `run`'s segments to `previous` run's and carry lineage, name, colour and strategy (see module doc)."""
    segments = list(run.segments.order_by("label"))
    prev = list(previous.segments.order_by("label")) if previous is not None else []
    matched: dict[int, tuple[Segment, bool]] = {}  # new segment id -> (previous segment, needs review)
    if prev and segments:
        features = _common_features(segments, prev)
        scales = feature_scales(features, [s.profile or {} for s in prev], [s.profile or {} for s in segments])
        by_label_prev = {s.label: s for s in prev}
        by_label_new = {s.label: s for s in segments}
        matches = match_centroids(
            {s.label: s.centroid for s in prev},
            {s.label: s.centroid for s in segments},
            features=features,
            scales=scales,
        )
        counts = run_pair_counts(run_a=previous, run_b=run) if matches else {}
        have_members = bool(counts)
        for m in matches:
            p, s = by_label_prev[m.a], by_label_new[m.b]
            jac = jaccard(counts.get((p.id, s.id), 0), p.size, s.size) if have_members else None
            if jac is not None and jac < NO_MATCH_JACCARD and m.distance > NO_MATCH_DISTANCE:
                continue
            review = m.distance > REVIEW_DISTANCE or (jac is not None and jac < REVIEW_JACCARD)
            matched[s.id] = (p, review)

    used_colors: set[str] = set()
    taken_names: set[str] = set()
    for s in segments:
        if s.id in matched:
            p, review = matched[s.id]
            s.lineage = p.lineage or uuid.uuid4().hex
            s.name = p.name
            s.color = p.color or ""
            if p.strategy_source in ("override", "carried"):
                s.strategy = p.strategy
                s.strategy_source = "carried"
                s.strategy_edited_by_id = p.strategy_edited_by_id
                s.strategy_edited_at = p.strategy_edited_at
                s.strategy_needs_review = review or p.strategy_needs_review
            if s.color:
                used_colors.add(s.color)
            taken_names.add(s.name)
    for s in segments:
        if s.id not in matched:
            s.lineage = s.lineage or uuid.uuid4().hex
            if not s.color or s.color in used_colors:
                s.color = _next_color(used_colors)
            used_colors.add(s.color)
            s.name = _unique_name(s.name, taken_names)
            taken_names.add(s.name)
        elif not s.color:
            s.color = _next_color(used_colors)
            used_colors.add(s.color)
    for s in segments:
        s.save(update_fields=_FIELDS)
