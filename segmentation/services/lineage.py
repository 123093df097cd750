"""Carrying a segment's identity across runs (lineage, colour, edited strategy, a person's name).

Called by the activation service inside its transaction, before the new run becomes active,
after the new run's segments and memberships are written. Also valid for a first run
(`previous=None`): every segment then gets a new lineage and a palette colour.

Identity follows members, names follow profiles:

1. A new segment continues a previous one only when it is the same group of customers: the
   Jaccard index of their members (every membership of each, customers assigned after a fit
   included) is at least
   `MATCH_JACCARD` (0.5). At that level a segment can match at most one other (two disjoint groups
   cannot both hold half of a third); the rare exact ties are broken by the smaller centroid
   distance on the features both runs share (scaled by their range), then by label. Centroids
   alone never make a match: two runs on other columns or other data that happen to have near
   centres are different groups.
2. A matched segment keeps the previous segment's `lineage` and `color`. An edited strategy
   (source "override", or one already "carried") is copied with source "carried" and its editor;
   when the group changed (Jaccard < `REVIEW_JACCARD` = 0.8, or its centre moved more than
   `REVIEW_DISTANCE` = a quarter of a feature range) it is flagged `strategy_needs_review=True`, so a
   marketer looks at it instead of it being carried silently. A name a person typed
   (`name_source="person"`) is carried; an engine name never is: the new segment keeps the name the
   engine made from its own profile in its own run.
3. An unmatched new segment gets a new lineage (uuid4 hex) and the next palette colour not used
   in the run. Engine names that clash with a carried person's name are made unique ("(2)").
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db.models import Count

from segmentation.ml.charts import FALLBACK_COLORS
from segmentation.ml.compare import centroid_distances, feature_scales, jaccard
from segmentation.models import Membership, NameSource, Segment, SegmentRun
from segmentation.selectors.comparison import run_pair_counts

PALETTE: tuple[str, ...] = FALLBACK_COLORS
MATCH_JACCARD = 0.5
REVIEW_JACCARD = 0.8
REVIEW_DISTANCE = 0.25

_FIELDS = [
    "lineage",
    "name",
    "name_source",
    "color",
    "strategy",
    "strategy_source",
    "strategy_needs_review",
    "strategy_edited_by",
    "strategy_edited_at",
]


@dataclass(frozen=True)
class Continuation:
    """A new segment continuing a previous one: how much the group and its centre changed."""

    previous: Segment
    jaccard: float
    distance: float | None

    @property
    def needs_review(self) -> bool:
        return self.jaccard < REVIEW_JACCARD or (self.distance is not None and self.distance > REVIEW_DISTANCE)


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


def _member_counts(run: SegmentRun) -> dict[int, int]:
    """Segment id -> its members now (customers assigned after the fit included, as the pair counts are)."""
    rows = Membership.objects.filter(run=run).values("segment_id").annotate(n=Count("customer_id"))
    return {int(r["segment_id"]): int(r["n"]) for r in rows}


def segments_continuations(*, run: SegmentRun, previous: SegmentRun) -> dict[int, Continuation]:
    """New segment id -> the previous segment it continues (rule 1 of the module docstring)."""
    segments = list(run.segments.order_by("label"))
    prev = list(previous.segments.order_by("label"))
    if not segments or not prev:
        return {}
    counts = run_pair_counts(run_a=previous, run_b=run)
    sizes = _member_counts(previous) | _member_counts(run)
    distances: dict[tuple[int, int], float] = {}
    features = _common_features(segments, prev)
    if features:
        scales = feature_scales(features, [s.profile or {} for s in prev], [s.profile or {} for s in segments])
        la, lb, d = centroid_distances(
            {s.label: s.centroid for s in prev},
            {s.label: s.centroid for s in segments},
            features=features,
            scales=scales,
        )
        distances = {(a, b): float(d[i, j]) for i, a in enumerate(la) for j, b in enumerate(lb)}
    candidates = []
    for p in prev:
        for s in segments:
            jac = jaccard(counts.get((p.id, s.id), 0), sizes.get(p.id, 0), sizes.get(s.id, 0))
            if jac >= MATCH_JACCARD:
                dist = distances.get((p.label, s.label))
                candidates.append((-jac, dist if dist is not None else float("inf"), p.label, s.label, p, s, jac))
    out: dict[int, Continuation] = {}
    taken: set[int] = set()
    for *_key, p, s, jac in sorted(candidates, key=lambda c: c[:4]):
        if s.id in out or p.id in taken:
            continue
        out[s.id] = Continuation(previous=p, jaccard=jac, distance=distances.get((p.label, s.label)))
        taken.add(p.id)
    return out


def segments_inherit(*, run: SegmentRun, previous: SegmentRun | None) -> None:
    """Carry lineage, colour, edited strategy and a person's name to `run`'s segments (see module doc)."""
    segments = list(run.segments.order_by("label"))
    matched = segments_continuations(run=run, previous=previous) if previous is not None else {}

    used_colors: set[str] = set()
    taken_names: set[str] = set()
    for s in segments:
        if s.id in matched:
            c = matched[s.id]
            p = c.previous
            s.lineage = p.lineage or uuid.uuid4().hex
            s.color = p.color or ""
            if p.name_source == NameSource.PERSON:
                s.name, s.name_source = p.name, NameSource.PERSON
                taken_names.add(s.name)
            if p.strategy_source in ("override", "carried"):
                s.strategy = p.strategy
                s.strategy_source = "carried"
                s.strategy_edited_by_id = p.strategy_edited_by_id
                s.strategy_edited_at = p.strategy_edited_at
                s.strategy_needs_review = c.needs_review or p.strategy_needs_review
            if s.color:
                used_colors.add(s.color)
    for s in segments:
        if s.name_source != NameSource.PERSON:
            s.name = _unique_name(s.name, taken_names)
            taken_names.add(s.name)
        if s.id not in matched:
            s.lineage = s.lineage or uuid.uuid4().hex
        if not s.color or (s.id not in matched and s.color in used_colors):
            s.color = _next_color(used_colors)
        used_colors.add(s.color)
    for s in segments:
        s.save(update_fields=_FIELDS)
