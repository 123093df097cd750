"""What every reader of a customer or order file hands over: a `Table` (header and chunks of text cells),
and the rules shared by the readers (at most `MAX_COLUMNS` columns; a cell shown in a message by `value_shown`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core.exceptions import DataError

NOT_A_TABLE = "not a CSV, TSV or Excel file"
MAX_COLUMNS = 500


@dataclass
class Table:
    """An opened file: its header and an iterator of (first row number, DataFrame of str) chunks.

    Chunk columns are positions 0..n-1; cells are strings as in the file ("" for empty);
    `validation.chunk_validate` strips and checks them. Call `close()` when done.
    """

    format: str  # "csv", "tsv" or "xlsx"
    encoding: str
    delimiter: str
    headers: list[str]
    chunks: Iterator[tuple[int, pd.DataFrame]]
    closers: list[Any] = field(default_factory=list)

    def close(self) -> None:
        """Release the reader (call before closing the file)."""
        for closer in self.closers:
            closer.close()


def value_shown(value: Any, limit: int = 40) -> str:
    """A cell value for a message: repr, cut to `limit` characters with the full length said."""
    text = str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text):,} characters)"


def columns_check(width: int) -> None:
    if width > MAX_COLUMNS:
        raise DataError(
            f"the file has {width:,} columns or more; at most {MAX_COLUMNS:,} columns can be imported "
            "(remove the columns you do not need)"
        )
