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
    segmentations = list(
        Segmentation.objects.filter(active_run__isnull=False).order_by("name").values_list("name", "active_run_id")
    )
    segments: dict[int, list[tuple[str, str]]] = {}
    rows = Segment.objects.filter(run_id__in=[run_id for _, run_id in segmentations]).order_by("label")
    for pk, run_id, name, size in rows.values_list("pk", "run_id", "name", "size"):
        segments.setdefault(run_id, []).append((str(pk), f"{name} ({size:,})"))
    return [(name, segments.get(run_id, [])) for name, run_id in segmentations]


def segment_apply(queryset: QuerySet, value: str) -> QuerySet:
    """Customers who are members of segment `value` (one partition of memberships on PostgreSQL)."""
    segment = Segment.objects.only("run_id").filter(pk=int(value)).first()
    if segment is None:  # removed since the request was validated
        return queryset.none()
    members = Membership.objects.filter(run_id=segment.run_id, segment_id=segment.pk).values("customer_id")
    return queryset.filter(pk__in=members)


SEGMENT_FILTER = ListFilter(name="segment", label="Segment", choices=segment_choices, apply=segment_apply)
