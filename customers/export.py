"""The customers list's CSV export: the filtered customers, every column, for a spreadsheet.

Excel-ready: a UTF-8 byte-order mark (accents show right), every text cell formula-safe (`core.csvsafe`),
and ids Excel would mangle kept as text: an all-digit id with a leading zero or more than 15 digits
("0124", "12345678901234567") is written as ="0124", which Excel shows as the text 0124. Such a cell is
a string constant of digits only, so it carries no formula of anyone's making.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet

from core.csvsafe import safe_cell, safe_row
from customers.models import Gender
from customers.selectors.columns import Column

BOM = "\ufeff"
#: Rows fetched per database round trip while streaming.
CHUNK = 2000
_GENDERS = dict(Gender.choices)


class _Echo:
    def write(self, value: str) -> str:
        return value


def excel_text_id(value: str) -> str:
    """="value" when Excel would read `value` as a number and lose digits; else the formula-safe value."""
    if value.isascii() and value.isdigit() and ((value.startswith("0") and len(value) > 1) or len(value) > 15):
        return f'="{value}"'
    return safe_cell(value)


def customer_csv_header(*, attributes: list[Column]) -> list[str]:
    return [
        "Customer ID",
        "Gender",
        "Age (years)",
        "Annual income (k$)",
        "Spending score (1-100)",
        *(c.title for c in attributes),
    ]


def customer_csv_stream(*, queryset: QuerySet, attributes: list[Column]) -> Iterator[str]:
    """The BOM, the header, then one line per customer of `queryset` (in its order), in constant memory."""
    writer = csv.writer(_Echo())
    yield BOM + writer.writerow(safe_row(customer_csv_header(attributes=attributes)))
    fields = ("external_id", "gender", "age", "annual_income", "spending_score", "attributes")
    for external_id, gender, age, income, score, values in queryset.values_list(*fields).iterator(chunk_size=CHUNK):
        values = values or {}
        row: list[Any] = [
            _GENDERS.get(gender, gender),
            age,
            income,
            score,
            *(values.get(c.key) for c in attributes),
        ]
        yield writer.writerow([excel_text_id(external_id), *safe_row(row)])
