"""Recommendation pieces shown on lower apps' pages: `{% load recommendation_tags %}`.

The customer page (customers) lists the customer's top products with a one-line reason, and the segment
page (segmentation) its defining and most recommended products, through these tags: neither app
imports campaigns. A segment's strategy is shown by `segment_strategy` (its product placeholders filled in,
`campaigns.recommendations.strategy_text`) with a "Products to feature" line (`products_to_feature`).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.defaultfilters import linebreaksbr
from django.utils.safestring import SafeString

from campaigns.recommendations import selectors
from campaigns.recommendations.strategy_text import strategy_fill, strategy_placeholders
from customers.models import Customer
from segmentation.models import Segment

register = template.Library()

SHOWN = 10


@register.inclusion_tag("campaigns/recommendations/_for_customer.html", takes_context=True)
def customer_recommendations(context: template.Context, customer: Customer) -> dict[str, Any]:
    request = context.get("request")
    allowed = request is None or request.user.has_perm("campaigns.view_recommendation")
    items = selectors.customer_recommendations(customer=customer, n=SHOWN) if allowed else []
    run = selectors.recommendation_run_active() if allowed else None
    return {
        "allowed": allowed,
        "items": items,
        "run": run,
        "basis": selectors.recommendations_basis(items=items, run=run),
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


def _may_see(context: template.Context) -> bool:
    request = context.get("request")
    return request is None or request.user.has_perm("campaigns.view_recommendation")


def _placeholder_products(segment: Segment, placeholders: list[str]) -> dict[str, list[dict[str, Any]]]:
    readers = {
        "{top_products}": lambda: selectors.segment_products_to_feature(segment=segment),
        "{defining_products}": lambda: selectors.segment_defining_products(segment=segment, n=selectors.FEATURED),
        "{recommended_products}": lambda: selectors.segment_recommended_products(segment=segment, n=selectors.FEATURED),
    }
    return {p: readers[p]() for p in placeholders}


@register.simple_tag(takes_context=True)
def segment_strategy_text(context: template.Context, segment: Segment, default: str = "") -> str:
    """The segment's strategy with its product placeholders filled in (plain text; products are read only
    when the text has a placeholder, and only for readers allowed to see recommendations)."""
    text = segment.strategy or default
    placeholders = strategy_placeholders(text)
    if not placeholders:
        return text
    return strategy_fill(text, _placeholder_products(segment, placeholders) if _may_see(context) else {})


@register.simple_tag(takes_context=True)
def segment_strategy(context: template.Context, segment: Segment, default: str = "No strategy yet.") -> SafeString:
    """`segment_strategy_text` as HTML: escaped, line breaks kept."""
    return linebreaksbr(segment_strategy_text(context, segment, default), autoescape=True)


@register.inclusion_tag("campaigns/recommendations/_to_feature.html", takes_context=True)
def products_to_feature(context: template.Context, segment: Segment) -> dict[str, Any]:
    """A "Products to feature" line: the segment's defining and most recommended products."""
    allowed = _may_see(context)
    return {
        "allowed": allowed,
        "segment": segment,
        "products": selectors.segment_products_to_feature(segment=segment) if allowed else [],
    }
