"""The recommended strategy of a new segment: the playbook's actions for its profile."""

from __future__ import annotations

from segmentation.ml.types import SegmentProfile


def strategy_for_segment(profile: SegmentProfile) -> str:
    """The strategy text for a freshly fitted segment. Default: the engine's rule table."""
    return profile.strategy
