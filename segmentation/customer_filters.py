"""The customers list's "Segment" filter: any segment of any segmentation's active run.

Registered with `customers.filters` by `SegmentationConfig.ready()`, so the customers app filters by
segment without importing segmentation.
"""

from __future__ import annotations

from django.db.models import QuerySet

from customers.filters import Choices, ListFilter
from segmentation.models import Membership, Segment, Segmentation


def segment_choices() -> Choices:
    """Per segmentation with an active run (by name), its segments by label: value = the segment's id."""
    segmentations = list(Segmentation.objects.filter(active_run__isnull=False).order_by("name"))
    segments: dict[int, list[Segment]] = {}
    for segment in Segment.objects.filter(run_id__in=[s.active_run_id for s in segmentations]).order_by("label"):
        segments.setdefault(segment.run_id, []).append(segment)
    return [
        (s.name, [(str(seg.pk), f"{seg.name} ({seg.size:,})") for seg in segments.get(s.active_run_id, [])])
        for s in segmentations
    ]


def segment_apply(queryset: QuerySet, value: str) -> QuerySet:
    """Customers who are members of segment `value` (one partition of memberships on PostgreSQL)."""
    segment = Segment.objects.only("run_id").filter(pk=int(value)).first()
    if segment is None:  # removed since the request was validated
        return queryset.none()
    members = Membership.objects.filter(run_id=segment.run_id, segment_id=segment.pk).values("customer_id")
    return queryset.filter(pk__in=members)


SEGMENT_FILTER = ListFilter(name="segment", label="Segment", choices=segment_choices, apply=segment_apply)
