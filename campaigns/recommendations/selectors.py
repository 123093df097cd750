"""Reads for recommendations: purchase lines in (for a run), the active run and its stored lists out."""

from __future__ import annotations

from typing import Any

import pandas as pd
from django.conf import settings
from django.db.models import Count, Q, QuerySet

from campaigns.recommendations.models import Recommendation, RecommendationRun, RecommendationRunStatus
from customers.models import Customer
from customers.orders.models import OrderLine, Product
from segmentation.models import Membership, Segment, Segmentation
from segmentation.services.config import DEFAULT_SEGMENTATION_NAME

LINE_COLUMNS = ("customer", "product", "date", "order", "quantity")


def purchase_lines() -> pd.DataFrame:
    """Product lines bought by a customer: not cancelled or returned, not postage or fees, positive quantity
    and price (a line without a unit price needs a positive amount). Columns: customer (pk), product (pk),
    date (local time, naive), order (pk), quantity."""
    price = Q(unit_price__gt=0) | Q(unit_price__isnull=True, amount__gt=0)
    rows = (
        OrderLine.objects.filter(
            price,
            order__customer__isnull=False,
            order__is_cancellation=False,
            is_return=False,
            is_non_product=False,
            product__isnull=False,
            quantity__gt=0,
        )
        .order_by()
        .values_list("order__customer_id", "product_id", "order__ordered_at", "order_id", "quantity")
    )
    frame = pd.DataFrame.from_records(list(rows.iterator(chunk_size=20000)), columns=list(LINE_COLUMNS))
    if frame.empty:
        return frame
    dates = pd.to_datetime(frame["date"], utc=True)
    frame["date"] = dates.dt.tz_convert(settings.TIME_ZONE).dt.tz_localize(None)
    return frame


def recommendation_segmentation() -> Segmentation | None:
    """The segmentation recommendations are conditioned on: "Default" when it has an active run, else the
    most recently updated one with an active run."""
    with_run = Segmentation.objects.filter(active_run__isnull=False)
    return with_run.filter(name=DEFAULT_SEGMENTATION_NAME).first() or with_run.order_by("-updated_at", "-id").first()


def segment_of_customers(*, segmentation: Segmentation | None) -> dict[int, str]:
    """customer pk -> segment pk (as text) in the segmentation's active run."""
    if segmentation is None or segmentation.active_run_id is None:
        return {}
    rows = Membership.objects.filter(run_id=segmentation.active_run_id).values_list("customer_id", "segment_id")
    return {c: str(s) for c, s in rows.iterator(chunk_size=20000)}


def recommendation_run_active() -> RecommendationRun | None:
    return RecommendationRun.objects.filter(is_active=True).first()


def recommendation_run_latest() -> RecommendationRun | None:
    return RecommendationRun.objects.select_related("requested_by").first()


def recommendation_runs_list() -> QuerySet[RecommendationRun]:
    return RecommendationRun.objects.select_related("requested_by").defer("metrics", "evaluation", "segment_products")


def recommendation_run_in_progress() -> RecommendationRun | None:
    return RecommendationRun.objects.filter(
        status__in=[RecommendationRunStatus.QUEUED, RecommendationRunStatus.RUNNING]
    ).first()


def customer_recommendations(*, customer: Customer, n: int = 10) -> list[Recommendation]:
    """The customer's list in the active run, best first (empty when no run is active)."""
    return list(
        Recommendation.objects.filter(customer=customer, run__is_active=True, rank__lte=n)
        .select_related("product")
        .order_by("rank")
    )


def segment_recommended_products(*, segment: Segment, n: int = 10) -> list[dict[str, Any]]:
    """The products most often in the top-10 lists of the segment's members (active recommendation run)."""
    members = Membership.objects.filter(segment=segment).values("customer_id")
    rows = (
        Recommendation.objects.filter(run__is_active=True, customer_id__in=members)
        .values("product_id", "product__code", "product__description")
        .annotate(customers=Count("customer_id"))
        .order_by("-customers", "product__code")[:n]
    )
    return [
        {"code": r["product__code"], "description": r["product__description"], "customers": r["customers"]}
        for r in rows
    ]


def segment_defining_products(*, segment: Segment, n: int = 10) -> list[dict[str, Any]]:
    """The products that define the segment (lift against the whole base), from the active run, when it was
    computed with the segment's run."""
    run = recommendation_run_active()
    if run is None:
        return []
    rows = (run.segment_products or {}).get(str(segment.pk), [])[:n]
    products = Product.objects.in_bulk([r["product"] for r in rows])
    out = []
    for r in rows:
        product = products.get(r["product"])
        if product is not None:
            out.append({**r, "code": product.code, "description": product.description})
    return out


def recommendations_for_export(*, n: int = 10) -> QuerySet[Recommendation]:
    """Every stored line of the active run up to rank n, ordered by customer and rank, for the CSV export."""
    return (
        Recommendation.objects.filter(run__is_active=True, rank__lte=n)
        .order_by("customer__external_id", "rank")
        .values_list("customer__external_id", "rank", "product__code", "product__description", "score", "reason")
    )


FEATURED = 3  # products to feature in a segment's strategy


def segment_products_to_feature(*, segment: Segment, n: int = FEATURED) -> list[dict[str, Any]]:
    """The products a segment's message should feature: its defining products (lift against the whole base)
    and its most recommended ones, alternately, without repeats; each with `code`, `description` and `why`
    ("defines this segment" or "most recommended to its members"). Empty without an active run."""
    if recommendation_run_active() is None:
        return []
    defining = [{**p, "why": "defines this segment"} for p in segment_defining_products(segment=segment, n=n)]
    recommended = [
        {**p, "why": "most recommended to its members"} for p in segment_recommended_products(segment=segment, n=n * 2)
    ]
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i in range(max(len(defining), len(recommended))):
        for source in (defining, recommended):
            if i < len(source) and source[i]["code"] not in seen and len(out) < n:
                seen.add(source[i]["code"])
                out.append(source[i])
    return out


def recommendations_basis(*, items: list[Recommendation], run: RecommendationRun | None) -> dict[str, Any] | None:
    """Why a customer's list is what it is when it is a cold start (too little history): `kind` is
    "segment" (popular in their segment) or "overall" (popular with all customers), with the run's
    threshold `below` (purchase days); None for a list from their own history (or no list)."""
    if not items or not all(r.cold_start for r in items):
        return None
    kind = "segment" if any(r.reason_kind == "segment_popular" for r in items) else "overall"
    below = int(((run.params if run else None) or {}).get("cold_start_below") or 1)
    return {"kind": kind, "below": below}
