"""Numbers as people read them, with their unit, on every page: "$58,138", "86.5 k$", "42 years". Pure.

One rule for customer pages (template filters `number` / `with_unit`), segment pages and charts
(`charts.format_value`) and decision-tree rules (`explain`):
- thousands separators and never an exponent: whole numbers from 1,000 up, one decimal from 10,
  two from 1, three significant digits below 1; trailing zeros dropped ("58,138", "137.2", "3.25", "0.0372");
- a currency symbol goes before the number ("$58,138", "-€1,234"); any other unit follows it after a
  space ("15 k$", "42 years");
- a missing or non-finite value is an em dash.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

MISSING = "—"
CURRENCY_PREFIXES: tuple[str, ...] = ("$", "€", "£", "¥")  # written before the number: $36,800


def format_number(value: float | int | Decimal | None | Any) -> str:
    """'58,138', '86.5', '3.25', '0.0372', '-1,200'; '—' for a missing or non-finite value."""
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
    elif size >= 10:
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


def unit_before(unit: str | None) -> bool:
    """True for a currency symbol, written before the number ("$58,138")."""
    return (unit or "") in CURRENCY_PREFIXES


def format_with_unit(value: float | int | Decimal | None | Any, unit: str | None = "") -> str:
    """A value in its unit: '$58,138', '-$1,250', '86.5 k$', '42 years'; the bare number without a unit."""
    text = format_number(value)
    if text == MISSING or not unit:
        return text
    if unit_before(unit):
        return f"-{unit}{text[1:]}" if text.startswith("-") else f"{unit}{text}"
    return f"{text} {unit}"


def format_duration(seconds: float | int | None) -> str:
    """A duration as people read it: '0.04 s', '1.3 s', '12 s', '3 min 5 s', '2 h 4 min'; '—' when unknown."""
    if seconds is None:
        return MISSING
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        return MISSING
    if not math.isfinite(value) or value < 0:
        return MISSING
    if value < 10:
        return f"{format_number(round(value, 2 if value < 1 else 1))} s"
    whole = round(value)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
