"""The fast path of an order file: a plain CSV or TSV with a header, read and checked with pyarrow.

pyarrow's CSV reader (C++, on several threads) parses the file without a Python object per cell,
and each column of a chunk is dictionary-encoded: the checks then run once per distinct value, with
the very functions of the pandas path (`validation.LineChecker`'s number and date parsing, Python's
strip and upper), and their results are spread to the lines by index. A chunk is worth it because
order files repeat: a chunk of Online Retail has about 5,000 distinct invoices, dates and products
for 100,000 lines.

A chunk with any problem is checked again by `LineChecker` itself, so that every message (row,
column, value) is the pandas path's. A file pyarrow cannot read as the pandas reader does (a row
with another number of values than the header, a header that differs) raises `ArrowAbandoned`
and the caller reads the file again on the pandas path.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as pa_csv

from customers.imports import reading
from customers.imports.validation import RejectedRow, _numbers
from customers.orders.validation import CANCELLATION, ID_MAX_LENGTH, TEXT_MAX_LENGTH, LineChecker, line_amounts

#: Bytes pyarrow parses per block (a block is cut into chunks of `chunk_rows` lines).
BLOCK_BYTES = 8 << 20
_ENCODINGS = {"utf-8": "utf8", "utf-8-sig": "utf8"}
_IDS = (("order_id", ID_MAX_LENGTH), ("customer_id", ID_MAX_LENGTH), ("product_code", ID_MAX_LENGTH))


class ArrowAbandoned(Exception):
    """pyarrow could not read the file as the pandas reader does: read it on the pandas path."""


def arrow_eligible(table: reading.Table, *, header_less: bool, checker: LineChecker) -> bool:
    """Whether the file can take the fast path: CSV/TSV in UTF-8 with a header and an order id column."""
    return (
        table.format in ("csv", "tsv")
        and table.encoding in _ENCODINGS
        and not header_less
        and "order_id" in checker.plan.fields
    )


def arrow_chunks(
    fh: IO[bytes], table: reading.Table, *, checker: LineChecker, chunk_rows: int
) -> Iterator[tuple[pd.DataFrame, list[RejectedRow]]]:
    """The valid lines (`validation.LINE_COLUMNS`) and the rejected ones of each chunk of the file."""
    width = len(table.headers)
    names = [f"c{i}" for i in range(width)]
    fh.seek(0)
    try:
        reader = pa_csv.open_csv(
            pa.PythonFile(fh, mode="r"),
            read_options=pa_csv.ReadOptions(column_names=names, block_size=BLOCK_BYTES, encoding="utf8"),
            parse_options=pa_csv.ParseOptions(delimiter=table.delimiter, quote_char='"', newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeError) as exc:
        raise ArrowAbandoned(str(exc)) from None
    try:
        yield from _batches_checked(reader, table, checker=checker, chunk_rows=chunk_rows)
    finally:
        reader.close()  # its read-ahead stops before the file is read again or closed


def _batches_checked(
    reader: pa_csv.CSVStreamingReader, table: reading.Table, *, checker: LineChecker, chunk_rows: int
) -> Iterator[tuple[pd.DataFrame, list[RejectedRow]]]:
    width = len(table.headers)
    row = reading.FIRST_DATA_ROW - 1  # the header's row: dropped from the first batch
    header_seen = False
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except (pa.ArrowInvalid, UnicodeError) as exc:
            raise ArrowAbandoned(str(exc)) from None
        if not header_seen:
            if not batch.num_rows:
                continue
            first = [str(batch.column(i)[0]).strip() for i in range(width)]
            if first != table.headers:
                raise ArrowAbandoned("the header differs from the pandas reader's")
            batch, header_seen, row = batch.slice(1), True, row + 1
        for start in range(0, batch.num_rows, chunk_rows):
            piece = batch.slice(start, chunk_rows)
            yield _chunk_check(piece, row, checker=checker)
            row += piece.num_rows


def _distinct(column: pa.Array) -> tuple[np.ndarray, pd.Series]:
    """Each cell's index into the column's distinct values, and those values (as in the file)."""
    encoded = pc.dictionary_encode(column)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    indices = encoded.indices.to_numpy(zero_copy_only=False).astype(np.intp, copy=False)
    return indices, pd.Series(encoded.dictionary.to_numpy(zero_copy_only=False), dtype=object)


def _chunk_check(
    batch: pa.RecordBatch, first_row: int, *, checker: LineChecker
) -> tuple[pd.DataFrame, list[RejectedRow]]:
    """One chunk checked per distinct value; `LineChecker.check` itself as soon as a line has a problem."""
    out = _lines_fast(batch, first_row, checker=checker)
    if out is not None:
        return out, []
    frame = batch.to_pandas()
    frame.columns = range(frame.shape[1])
    return checker.check(frame, first_row)


def _lines_fast(batch: pa.RecordBatch, first_row: int, *, checker: LineChecker) -> pd.DataFrame | None:
    """The valid lines of a chunk, or None when any line has a problem (or lacks an order id)."""
    plan, count = checker.plan, batch.num_rows
    out = pd.DataFrame({"row": np.arange(first_row, first_row + count, dtype=np.int64)})

    def stripped(name: str) -> tuple[np.ndarray, np.ndarray]:
        indices, distinct = _distinct(batch.column(plan.fields[name]))
        return indices, distinct.str.strip().to_numpy(dtype=object)

    cancellation = np.zeros(count, dtype=bool)
    for name, limit in _IDS:
        if name not in plan.fields:
            out[name] = np.full(count, "", dtype=object)
            continue
        indices, values = stripped(name)
        if any(len(v) > limit for v in values) or (name == "order_id" and "" in values):
            return None
        if name == "order_id":
            cancelled = pd.Series(values, dtype=object).str.match(CANCELLATION, na=False).to_numpy(dtype=bool)
            cancellation = cancelled[indices]
        out[name] = values[indices]
    for name, limit in (("description", TEXT_MAX_LENGTH), ("country", 64)):
        if name not in plan.fields:
            out[name] = np.full(count, "", dtype=object)
            continue
        indices, values = stripped(name)
        out[name] = pd.Series(values, dtype=object).str.slice(0, limit).to_numpy(dtype=object)[indices]

    numbers: dict[str, np.ndarray] = {}
    for name in ("quantity", "unit_price", "amount"):
        if name not in plan.fields:
            continue
        indices, distinct = _distinct(batch.column(plan.fields[name]))
        values, bad = _numbers(distinct)
        if bad.any() or values.isna().any():
            return None  # (a distinct value is in the chunk: some line has it)
        numbers[name] = values.to_numpy()[indices]
    quantity, out["unit_price"], out["amount"] = line_amounts(numbers, count)
    out["quantity"] = quantity

    indices, dates = stripped("ordered_at")
    if checker.date_format is None:  # chosen on the lines' first values, as LineChecker does
        checker.date_format_choose(pd.Series(dates[indices], dtype=object))
    if checker.date_format is None or "" in dates:
        return None
    parsed = checker.dates_parse(pd.Series(dates, dtype=object))
    if parsed.isna().any():
        return None
    out["ordered_at"] = pd.Series(parsed.array.take(indices))

    codes, values = stripped("product_code") if "product_code" in plan.fields else (None, None)
    out["is_cancellation"] = cancellation
    out["is_return"] = (quantity < 0) | cancellation
    if codes is None:
        out["is_non_product"] = np.zeros(count, dtype=bool)
    else:
        marked = np.fromiter((v.upper() in checker.non_product for v in values), dtype=bool, count=len(values))
        out["is_non_product"] = marked[codes]
    return out
