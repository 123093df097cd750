"""Stored segment flags (and the playbook strategy they pick) follow lifetime values where they exist.

The rule lives in `segmentation.ml.flags.flags_with_values` (high value = highest average expected
value; at risk = high past value and low P(active)); this service applies it to the flags stored on a
run's segments, so the playbook, the API and the pages agree. It runs when a run is made (before its
activation) and after every value fit for each active run (`customers.signals.customer_values_fitted`).

A segment whose flags change gets the playbook's strategy for its new flags when its strategy came
from the playbook; an edited or carried strategy is kept and marked for review.
"""

from __future__ import annotations

import logging

from django.db import transaction

from segmentation.ml.flags import flags_with_values
from segmentation.models import Segment, Segmentation
from segmentation.playbook import playbook_rule_for
from segmentation.selectors.segments import segment_values

logger = logging.getLogger(__name__)


def segment_flags_apply_values(*, run_id: int) -> int:
    """Set the flags of `run_id`'s segments from their members' stored values; returns how many changed.

    Without any stored value the flags stay as the engine made them."""
    values = segment_values(run_id=run_id)
    if not values:
        return 0
    with transaction.atomic():
        segments = list(Segment.objects.select_for_update().filter(run_id=run_id).order_by("label"))
        shown = flags_with_values([s.flags or [] for s in segments], [values.get(s.pk) for s in segments])
        changed: list[Segment] = []
        for segment, flags in zip(segments, shown, strict=True):
            if flags == list(segment.flags or []):
                continue
            segment.flags = flags
            if segment.strategy_source == "playbook":
                rule = playbook_rule_for(flags=flags, stats=segment.profile or {})
                if rule is not None:
                    segment.strategy = rule.actions
            else:
                segment.strategy_needs_review = True
            changed.append(segment)
        if changed:
            Segment.objects.bulk_update(changed, ["flags", "strategy", "strategy_needs_review"])
    return len(changed)


def active_segment_flags_apply_values() -> int:
    """`segment_flags_apply_values` for the active run of every segmentation; returns the segments changed."""
    run_ids = Segmentation.objects.filter(active_run__isnull=False).values_list("active_run_id", flat=True)
    return sum(segment_flags_apply_values(run_id=run_id) for run_id in list(run_ids))
