"""CSV output that spreadsheets cannot execute.

Every CSV the product writes passes its cells through `safe_cell`: a text cell that
begins with =, +, -, @, a tab or a carriage return is prefixed with a single quote,
so spreadsheet programs show it as text instead of evaluating it as a formula.
Numbers are written as they are (a negative number is data, not a formula).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_DANGEROUS):
        return "'" + value
    return value


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
