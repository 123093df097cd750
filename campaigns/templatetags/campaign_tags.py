"""Campaign pieces shown on other apps' pages: `{% load campaign_tags %}`.

The segment page (segmentation) lists the campaigns that use the segment through this tag, so
segmentation never imports campaigns; the customer list (customers) links "Save as audience" through
`audience_save_url`.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from campaigns.selectors import campaigns_for_segment
from segmentation.models import Segment

register = template.Library()

SEGMENT_CAMPAIGNS_SHOWN = 50


@register.inclusion_tag("campaigns/_for_segment.html", takes_context=True)
def segment_campaigns(context: template.Context, segment: Segment) -> dict[str, Any]:
    """Campaigns using `segment` (or its group in another run), and a "New campaign" link for writers."""
    return {
        "campaigns": campaigns_for_segment(segment=segment)[:SEGMENT_CAMPAIGNS_SHOWN],
        "can_write": context.get("can_write", False),
        "segment": segment,
    }


@register.simple_tag(takes_context=True)
def audience_save_url(context: template.Context) -> str:
    """The "Save as audience" link for the customer list: `{% audience_save_url as url %}` keeps the list's
    query string; empty for users who may not create campaigns (Viewers)."""
    request = context.get("request")
    if request is None or not request.user.has_perm("campaigns.add_campaign"):
        return ""
    query = request.GET.urlencode()
    return reverse("campaigns:audience-create") + (f"?{query}" if query else "")
