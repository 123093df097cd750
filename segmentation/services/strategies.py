"""A segment's strategy: the playbook's text for a new segment, and a marketer's edit."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from core.exceptions import DataError, NotAllowed
from core.services import activity_record
from segmentation.ml.types import SegmentProfile
from segmentation.models import Segment

STRATEGY_MAX_CHARS = 5000


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


def segment_strategy_update(*, segment: Segment, strategy: str, user: AbstractBaseUser) -> Segment:
    """Set an edited strategy (source "override"), record who and when, and audit before/after."""
    if not user.has_perm("segmentation.edit_strategy"):
        raise NotAllowed("Only Marketers and Admins may edit a segment's strategy.")
    strategy = (strategy or "").strip()
    if not strategy:
        raise DataError("strategy: must not be empty; got ''")
    if len(strategy) > STRATEGY_MAX_CHARS:
        raise DataError(f"strategy: at most {STRATEGY_MAX_CHARS} characters; got {len(strategy)}")
    with transaction.atomic():
        segment = Segment.objects.select_for_update().get(pk=segment.pk)
        before = {
            "strategy": segment.strategy,
            "strategy_source": segment.strategy_source,
            "strategy_needs_review": segment.strategy_needs_review,
        }
        segment.strategy = strategy
        segment.strategy_source = "override"
        segment.strategy_needs_review = False
        segment.strategy_edited_by = user
        segment.strategy_edited_at = timezone.now()
        segment.save(
            update_fields=[
                "strategy",
                "strategy_source",
                "strategy_needs_review",
                "strategy_edited_by",
                "strategy_edited_at",
            ]
        )
        activity_record(
            actor=user,
            verb="segment.strategy_edited",
            obj=segment,
            before=before,
            after={
                "strategy": segment.strategy,
                "strategy_source": segment.strategy_source,
                "strategy_needs_review": False,
            },
        )
    return segment
