"""CSV output that spreadsheets cannot execute.

Every CSV the product writes passes its cells through `safe_cell`: a text cell that
begins with =, +, -, @, a tab or a carriage return is prefixed with a single quote,
so spreadsheet programs show it as text instead of evaluating it as a formula.
Numbers are written as they are (a negative number is data, not a formula).

"CSV for Excel" files also keep the text Excel would mangle on opening (`EXCEL_CONVERTS`: digits with a
leading zero such as 0124, 16 digits or more, an exponent such as 1E5, a date shape such as 1-2 or 3/4):
`excel_text` writes such a cell as the string literal ="0124", which Excel, LibreOffice and Google Sheets
show (and copy) as the text 0124. It is only used for cells the pattern matches, which hold nothing but
ASCII digits, e, E, +, -, / -- so the formula never carries text that could do anything.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
#: The first characters that make a text cell a formula (for writers that test one character themselves).
DANGEROUS_START = frozenset(_DANGEROUS)
#: Text Excel reads as a number or a date when it opens a CSV, losing leading zeros or digits (use fullmatch).
EXCEL_CONVERTS = re.compile(r"0\d+|\d{16,}|\d+[eE][+-]?\d+|\d{1,4}[-/]\d{1,2}(?:[-/]\d{1,4})?", re.ASCII)


def safe_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_DANGEROUS):
        return "'" + value
    return value


def excel_text(value: Any) -> Any:
    """A cell of a CSV for Excel, for csv.writer: '="0124"' when Excel would convert the text, else safe_cell(value)."""
    if isinstance(value, str) and EXCEL_CONVERTS.fullmatch(value):
        return f'="{value}"'
    return safe_cell(value)


def safe_row(values: Sequence[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]


class _Echo:
    def write(self, value: str) -> str:
        return value


def stream_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """Yield CSV text line by line (for StreamingHttpResponse): constant memory."""
    writer = csv.writer(_Echo())
    yield writer.writerow(safe_row(header))
    for row in rows:
        yield writer.writerow(safe_row(row))


def write_csv(fh: io.TextIOBase, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write a whole CSV to an open text file; returns the number of data rows."""
    writer = csv.writer(fh)
    writer.writerow(safe_row(header))
    n = 0
    for row in rows:
        writer.writerow(safe_row(row))
        n += 1
    return n
