"""The recommended strategy of a new segment: the playbook's actions for its profile."""

from __future__ import annotations

from segmentation.ml.types import SegmentProfile


def strategy_for_segment(profile: SegmentProfile) -> str:
    """The strategy text for a freshly fitted segment.

    The first matching rule of the playbook (campaigns.PlaybookRule, by priority) gives the actions;
    when no rule matches, the engine's own rule-table text is kept.
    """
    from campaigns.selectors import playbook_rule_for

    rule = playbook_rule_for(flags=profile.flags, stats=profile.stats)
    if rule is None:
        return profile.strategy
    return rule.actions
