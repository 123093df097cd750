"""Campaign pieces shown on other apps' pages: `{% load campaign_tags %}`.

The segment page (segmentation) lists the campaigns that use the segment through this tag, so
segmentation never imports campaigns.
"""

from __future__ import annotations

from typing import Any

from django import template

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
    }
