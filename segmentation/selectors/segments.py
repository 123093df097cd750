"""Reads of segments: one segment, its members (paged or streamed) and the segments as chart inputs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.db.models.fields.json import KeyTextTransform

from customers.models import Customer
from segmentation.ml.features import GENDER_CODES
from segmentation.ml.fields import CANONICAL_FEATURES
from segmentation.models import Membership, Segment


def segment_get(*, segment_id: int) -> Segment | None:
    return (
        Segment.objects.select_related("run", "run__segmentation", "strategy_edited_by").filter(pk=segment_id).first()
    )


def segment_dicts(*, segments: list[Segment]) -> list[dict[str, Any]]:
    return [
        {
            "id": s.id,
            "label": s.label,
            "name": s.name,
            "color": s.color,
            "size": s.size,
            "centroid": s.centroid or {},
            "profile": s.profile or {},
        }
        for s in segments
    ]


def member_value(*, customer: Customer, feature: str) -> float | None:
    """A customer's value of a run feature, as a number (a canonical field or a numeric attribute)."""
    if feature in CANONICAL_FEATURES:
        value = getattr(customer, feature)
        if feature == "gender":
            return GENDER_CODES.get(str(value or "").strip().lower())
    else:
        value = (customer.attributes or {}).get(feature)
    if isinstance(value, bool):
        return float(value)
    return float(value) if isinstance(value, int | float) else None


def segment_members(*, segment: Segment, search: str = "") -> QuerySet[Membership]:
    """Members of a segment: by customer id order (walks the (segment, customer) index, fast at any size);
    a search by external id (case-insensitive substring) is ordered by external id."""
    qs = Membership.objects.filter(segment=segment).select_related("customer")
    search = search.strip()
    if search:
        return qs.filter(customer__external_id__icontains=search).order_by("customer__external_id")
    return qs.order_by("customer_id")


def segment_member_rows(*, segment: Segment, attributes: list[str] | None = None) -> Iterator[tuple[Any, ...]]:
    """Rows for the members CSV (canonical fields, distance, fitted, then the `attributes` keys), streamed in chunks."""
    extra = {f"attr__{i}": KeyTextTransform(key, "customer__attributes") for i, key in enumerate(attributes or [])}
    return (
        Membership.objects.filter(segment=segment)
        .annotate(**extra)
        .order_by("customer__external_id")
        .values_list(
            "customer__external_id",
            "customer__gender",
            "customer__age",
            "customer__annual_income",
            "customer__spending_score",
            "distance",
            "fitted",
            *extra,
        )
        .iterator(chunk_size=5000)
    )
