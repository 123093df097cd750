"""Recommendation pieces shown on lower apps' pages: `{% load recommendation_tags %}`.

The customer page (customers) lists the customer's top products with a one-line reason, and the segment
page (segmentation) its defining and most recommended products, through these tags: neither app
imports campaigns.
"""

from __future__ import annotations

from typing import Any

from django import template

from campaigns.recommendations import selectors
from customers.models import Customer
from segmentation.models import Segment

register = template.Library()

SHOWN = 10


@register.inclusion_tag("campaigns/recommendations/_for_customer.html", takes_context=True)
def customer_recommendations(context: template.Context, customer: Customer) -> dict[str, Any]:
    request = context.get("request")
    allowed = request is None or request.user.has_perm("campaigns.view_recommendation")
    return {
        "allowed": allowed,
        "items": selectors.customer_recommendations(customer=customer, n=SHOWN) if allowed else [],
        "run": selectors.recommendation_run_active() if allowed else None,
    }


@register.inclusion_tag("campaigns/recommendations/_for_segment.html", takes_context=True)
def segment_products(context: template.Context, segment: Segment) -> dict[str, Any]:
    request = context.get("request")
    allowed = request is None or request.user.has_perm("campaigns.view_recommendation")
    return {
        "allowed": allowed,
        "defining": selectors.segment_defining_products(segment=segment, n=SHOWN) if allowed else [],
        "recommended": selectors.segment_recommended_products(segment=segment, n=SHOWN) if allowed else [],
        "run": selectors.recommendation_run_active() if allowed else None,
    }
