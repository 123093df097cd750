"""One number rule for every page (segmentation.ml.formatting): customer and segment pages, charts, rules."""

from __future__ import annotations

import pytest

from segmentation.ml.formatting import format_number, format_with_unit


@pytest.mark.parametrize(
    "value,unit,text",
    [
        (58138, "$", "$58,138"),
        (58138.0, "$", "$58,138"),
        (36800.4, "", "36,800"),
        (666666, "$", "$666,666"),
        (15, "k$", "15 k$"),
        (25.73, "k$", "25.7 k$"),
        (137.25, "k$", "137.2 k$"),
        (0.0372, "", "0.0372"),
        (-1234.0, "€", "-€1,234"),
        (None, "$", "—"),
        (float("nan"), "$", "—"),
        (42, "years", "42 years"),
    ],
)
def test_format_with_unit(value, unit, text):
    assert format_with_unit(value, unit) == text


def test_format_number_never_uses_exponents():
    for value in (3.68e4, 1e9, 1.5e-7, 123456789.123):
        assert "e" not in format_number(value)
