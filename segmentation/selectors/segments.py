"""Reads of segments: one segment, its members (paged or streamed) and the segments as chart inputs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.cache import cache
from django.db.models import Avg, Count, Q, QuerySet, Sum
from django.db.models.fields.json import KeyTextTransform

from customers.models import Customer
from customers.orders.models import Order
from customers.orders.value_models import CustomerValue
from segmentation.ml.features import GENDER_CODES
from segmentation.ml.fields import CANONICAL_FEATURES
from segmentation.ml.flags import SegmentValue, flags_with_values
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


SEGMENT_VALUES_TTL = 600  # seconds


def segment_values(*, run_id: int) -> dict[int, SegmentValue]:
    """Per segment of the run (by id): lifetime-value figures of its members with a stored value.

    Two grouped queries in the database: memberships joined to the customers' stored values (total and
    mean expected value, mean P(active), how many below 0.5), and their orders' net revenue (past value).
    Segments whose members have no value are left out (empty when no fit has been stored)."""
    latest = CustomerValue.objects.order_by("-pk").values_list("pk", flat=True).first()
    if latest is None:  # no fit stored: nothing to join (an EXISTS on a small index, not a scan of the run)
        return {}
    # Values change only when a fit is stored (its rows replace the previous ones, new ids), so the figures are
    # kept per run and latest value row; customers placed in the run since are counted at the next fit or after
    # SEGMENT_VALUES_TTL.
    key = f"segment-values:{run_id}:{latest}"
    cached = cache.get(key)
    if cached is None:
        cached = _segment_values(run_id=run_id)
        cache.set(key, cached, SEGMENT_VALUES_TTL)
    return cached


def _segment_values(*, run_id: int) -> dict[int, SegmentValue]:
    valued = Q(customer__value__isnull=False)
    rows = (
        Membership.objects.filter(run_id=run_id)
        .filter(valued)
        .values("segment_id")
        .annotate(
            n=Count("customer_id"),
            total=Sum("customer__value__expected_value"),
            p=Avg("customer__value__p_alive"),
            risk=Count("customer_id", filter=Q(customer__value__p_alive__lt=0.5)),
        )
        .order_by()
    )
    figures = {r["segment_id"]: r for r in rows if r["n"]}
    if not figures:
        return {}
    past = dict(
        Order.objects.filter(customer__memberships__run_id=run_id, customer__value__isnull=False)
        .values("customer__memberships__segment_id")
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list("customer__memberships__segment_id", "total")
    )
    return {
        segment_id: SegmentValue(
            customers=int(r["n"]),
            total_value=float(r["total"] or 0.0),
            mean_p_alive=float(r["p"] or 0.0),
            churn_share=int(r["risk"]) / int(r["n"]),
            past_value=float(past.get(segment_id) or 0.0),
        )
        for segment_id, r in figures.items()
    }


def segments_with_values(*, segments: list[Segment]) -> bool:
    """Attach `value` (a `SegmentValue` or None) to each segment of one run and show its flags with the values
    (`flags_with_values`: high value and at risk from the predictions); in memory only, never saved.
    Returns whether any segment has values."""
    if not segments:
        return False
    values = segment_values(run_id=segments[0].run_id)
    for s in segments:
        s.value = values.get(s.pk)
    if values:
        run_segments = list(Segment.objects.filter(run_id=segments[0].run_id).order_by("label"))
        shown = flags_with_values([x.flags or [] for x in run_segments], [values.get(x.pk) for x in run_segments])
        by_id = {x.pk: f for x, f in zip(run_segments, shown, strict=True)}
        for s in segments:
            s.flags = by_id.get(s.pk, s.flags)
    return bool(values)
