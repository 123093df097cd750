"""Numbers as people read them, with their unit: "58,138 $", "15 k$", "0.037", never "3.68e+04". Pure.

Every page that shows a customer value formats it here (templates through the `customer_values` tags):
thousands separators, whole numbers from 1,000 up, at most two decimals below, trailing zeros dropped.
The unit follows the number ("58,138 $", "25.7 k$", "42 years"); a missing value is a dash.
"""

from __future__ import annotations

import math
from decimal import Decimal

MISSING = "—"


def number_format(value: float | int | Decimal | None) -> str:
    """'58,138', '25.7', '0.037', '-1,200'; '—' for a missing or non-finite value."""
    if value is None or isinstance(value, bool):
        return MISSING if value is None else str(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return MISSING
    size = abs(number)
    if size >= 1000 or number == int(number):
        text = f"{round(number):,}"
    elif size >= 100:
        text = f"{number:,.1f}"
    elif size >= 1:
        text = f"{number:,.2f}"
    else:
        text = f"{number:.3g}"
        if "e" in text:
            text = f"{number:.6f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def value_format(value: float | int | Decimal | None, unit: str = "") -> str:
    """A value with its unit: '58,138 $', '25.7 k$', '42 years'; just the number when there is no unit."""
    text = number_format(value)
    if text == MISSING or not unit:
        return text
    return f"{text} {unit}"
