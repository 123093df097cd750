"""core.csvsafe: formula-safe cells, and the one rule for text Excel would convert on opening a CSV."""

from __future__ import annotations

import csv
import io

import pytest

from core.csvsafe import DANGEROUS_START, EXCEL_CONVERTS, excel_text, safe_cell


def _written(value) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([value, "x"])
    return buffer.getvalue()


@pytest.mark.parametrize("start", sorted(DANGEROUS_START))
def test_formula_starts_are_quoted(start):
    assert safe_cell(start + "1") == "'" + start + "1"
    assert excel_text(start + "1") == "'" + start + "1"


@pytest.mark.parametrize(
    "value",
    ["0124", "00", "12345678901234567", "1E5", "2e-3", "1-2", "3/4", "2026-11-30", "1/2/2026", "0001234567890123456"],
)
def test_excel_would_convert_so_written_as_a_text_formula(value):
    assert EXCEL_CONVERTS.fullmatch(value)
    assert excel_text(value) == f'="{value}"'
    assert _written(excel_text(value)) == f'"=""{value}""",x\r\n'  # what the file holds; Excel shows the text


@pytest.mark.parametrize(
    "value",
    ["0", "124", "123456789012345", "1.5", "CUST-0124", "C-7", "0124 ", " 0124", "0124\n", "12345-6", "1E", "E5",
     "٠١٢٣٤", "Ana", ""],
)  # fmt: skip
def test_other_text_is_kept_as_it_is(value):
    assert not EXCEL_CONVERTS.fullmatch(value)
    assert excel_text(value) == value


def test_non_text_cells():
    assert excel_text(None) == "" == safe_cell(None)
    assert excel_text(124) == 124  # a number stays a number
    assert excel_text(-5) == -5
    assert excel_text("-5") == "'-5"  # text that starts like a formula is neutralised first
