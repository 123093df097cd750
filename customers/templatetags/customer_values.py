"""Template filters for customer values: `{{ value|number }}`, `{{ value|with_unit:unit }}` (customers.formatting)."""

from __future__ import annotations

from typing import Any

from django import template

from customers.formatting import number_format, value_format

register = template.Library()


@register.filter
def number(value: Any) -> str:
    """58138 -> '58,138'; 25.75 -> '25.75'; None -> '—'."""
    return number_format(value)


@register.filter
def with_unit(value: Any, unit: str = "") -> str:
    """58138 with '$' -> '58,138 $'; None -> '—'."""
    return value_format(value, unit or "")
