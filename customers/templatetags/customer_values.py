"""Template filters for customer values: `{{ value|number }}`, `{{ value|with_unit:unit }}`.

The rule lives once, in `segmentation.ml.formatting` (segment pages and charts use it too).
"""

from __future__ import annotations

from typing import Any

from django import template

from segmentation.ml.formatting import format_number, format_with_unit

register = template.Library()


@register.filter
def number(value: Any) -> str:
    """58138 -> '58,138'; 86.54 -> '86.5'; None -> '—'."""
    return format_number(value)


@register.filter
def with_unit(value: Any, unit: str = "") -> str:
    """58138 with '$' -> '$58,138'; 15 with 'k$' -> '15 k$'; None -> '—'."""
    return format_with_unit(value, unit or "")
