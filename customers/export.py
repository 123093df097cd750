"""The customers list's CSV export: the filtered customers, every column, for a spreadsheet.

Excel-ready: a UTF-8 byte-order mark (accents show right), every text cell formula-safe, and ids Excel
would mangle (a leading zero, 16 digits or more, 1E5, 1-2: `core.csvsafe.EXCEL_CONVERTS`) kept as text by
`core.csvsafe.excel_text`, which writes "0124" as ="0124", shown by Excel as the text 0124.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet

from core.csvsafe import excel_text, safe_row
from customers.models import Gender
from customers.selectors.columns import Column

BOM = "\ufeff"
#: Rows fetched per database round trip while streaming.
CHUNK = 2000
_GENDERS = dict(Gender.choices)


class _Echo:
    def write(self, value: str) -> str:
        return value


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
        yield writer.writerow([excel_text(external_id), *safe_row(row)])
