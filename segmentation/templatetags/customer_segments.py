"""Segments on the customer pages: the customers app shows them through these tags, so that it
never reads segmentation itself (`{% load customer_segments %}` in its templates)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django import template

from customers.models import Customer
from segmentation.models import Membership, Segment, Segmentation

register = template.Library()


@dataclass(frozen=True)
class ActiveSegments:
    """The page's customers, each with its segment in the active run (None when it has none)."""

    rows: list[tuple[Customer, Segment | None]]

    @property
    def shown(self) -> bool:
        """True when some customer of the page is in a segment: the list then has a Segment column."""
        return any(segment is not None for _, segment in self.rows)


@register.simple_tag
def active_segments(customers: Sequence[Customer]) -> ActiveSegments:
    """Each customer's segment in the active run of the most recently activated segmentation.

    Three small queries for the whole page, however many customers it shows; each segment has its name and
    colour loaded (other fields load on access).
    """
    seg = (
        Segmentation.objects.filter(active_run__isnull=False)
        .order_by("-active_run__finished_at", "-active_run_id")
        .only("active_run_id")
        .first()
    )
    by_customer: dict[int, Segment] = {}
    if seg is not None and customers:
        # The run's few segments once (name and colour, what the list shows), not one per member.
        segments = {s.pk: s for s in Segment.objects.filter(run_id=seg.active_run_id).only("name", "color", "run_id")}
        rows = Membership.objects.filter(
            run_id=seg.active_run_id, customer_id__in=[c.pk for c in customers]
        ).values_list("customer_id", "segment_id")
        by_customer = {customer_id: segments[segment_id] for customer_id, segment_id in rows}
    return ActiveSegments(rows=[(c, by_customer.get(c.pk)) for c in customers])


@register.simple_tag
def customer_memberships(customer: Customer, limit: int = 10) -> list[Membership]:
    """The customer's segments in the most recent runs, newest first, each run's segmentation loaded."""
    return list(
        Membership.objects.filter(customer=customer)
        .select_related("segment", "run", "run__segmentation")
        .order_by("-run__queued_at", "-run_id")[:limit]
    )
