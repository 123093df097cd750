"""Reading the first sheet of an .xlsx file in chunks, bounded before and while it is read. Pure (openpyxl).

* Checked from the zip's entry sizes before any XML is parsed (`MAX_XLSX_PART_BYTES` per part,
  `MAX_SHARED_STRINGS_BYTES` and `MAX_SHARED_STRINGS` for the shared-strings table, which openpyxl reads
  whole, `MAX_XLSX_UNPACKED_BYTES` in all); its XML parsed by defusedxml (entity declarations, as in
  "billion laughs" and external-entity files, are refused).
* The declared dimension is ignored (a 5 KB file declaring `A1:XFD1048576` reads in milliseconds); rows,
  columns and cells are capped while read (`MAX_XLSX_ROWS`, `table.MAX_COLUMNS`, `MAX_XLSX_CELLS`).
* Cells become text as a spreadsheet shows them (whole numbers without ".0", dates in ISO form); row
  numbers are the sheet's own.
Every refusal is a DataError that says the limit.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from typing import IO, Any

import numpy as np
import openpyxl
import pandas as pd
from defusedxml import DefusedXmlException
from openpyxl import load_workbook

from core.exceptions import DataError
from customers.imports.table import MAX_COLUMNS, NOT_A_TABLE, Table, value_shown

MAX_XLSX_ROWS = 1_048_576  # Excel's own limit
MAX_XLSX_CELLS = 20_000_000
MAX_SHARED_STRINGS = 1_000_000
MAX_SHARED_STRINGS_BYTES = 64 * 1024 * 1024
MAX_XLSX_PART_BYTES = 16 * 1024 * 1024  # workbook, styles and the other parts read whole
MAX_XLSX_SHEET_BYTES = 1024 * 1024 * 1024  # the first sheet, streamed
MAX_XLSX_UNPACKED_BYTES = 1536 * 1024 * 1024


def xlsx_open(fh: IO[bytes], *, chunk_rows: int) -> Table:
    _xlsx_check(fh)
    try:
        workbook = load_workbook(fh, read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
    except DefusedXmlException:
        raise DataError(XML_REFUSED) from None
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, IndexError) as exc:
        # openpyxl wraps what its XML parser raised in a ValueError
        if isinstance(exc.__cause__ or exc.__context__, DefusedXmlException):
            raise DataError(XML_REFUSED) from None
        raise DataError(NOT_A_TABLE) from None
    # Never trust the declared size (`A1:XFD1048576` would pad every row to 16,384 cells and add
    # empty rows up to 1,048,576): read the cells that are there.
    sheet.reset_dimensions()
    rows = _xlsx_rows(sheet.iter_rows(values_only=True))
    try:
        row_number, headers = _xlsx_header(rows)
    except BaseException:
        workbook.close()
        raise
    while headers and not headers[-1]:
        headers.pop()
    width = len(headers)

    def chunks() -> Iterator[tuple[int, pd.DataFrame]]:
        batch: list[list[str]] = []
        numbers: list[int] = []
        try:
            for row_number, cells in rows:
                if not any(cells):
                    continue
                extra = [c for c in cells[width:] if c]
                if extra:
                    raise DataError(f"row {row_number}: has a value ({value_shown(extra[0])}) right of the last header")
                cells = (cells + [""] * width)[:width]
                batch.append(cells)
                numbers.append(row_number)
                if len(batch) >= chunk_rows:
                    yield _xlsx_frame(batch, numbers, width)
                    batch, numbers = [], []
            if batch:
                yield _xlsx_frame(batch, numbers, width)
        finally:
            workbook.close()

    data = chunks()
    return Table(format="xlsx", encoding="", delimiter="", headers=headers, chunks=data, closers=[data, workbook])


XML_REFUSED = (
    "the Excel file declares XML entities (as in 'billion laughs' or external-entity attacks), which are "
    "refused; save it again from a spreadsheet program, or as CSV"
)


def _xlsx_header(rows: Iterator[tuple[int, list[str]]]) -> tuple[int, list[str]]:
    for row_number, cells in rows:
        if any(cells):
            return row_number, cells
    raise DataError("the file is empty")


def _xlsx_rows(values: Iterator[tuple[Any, ...]]) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells as text) for each row of the sheet, within the row, column and cell limits."""
    row_number = 0
    cells_seen = 0
    try:
        for row in values:
            row_number += 1
            if row_number > MAX_XLSX_ROWS:
                raise DataError(f"the sheet has more than {MAX_XLSX_ROWS:,} rows")
            if not row:
                continue
            if len(row) > MAX_COLUMNS:
                last = max(i for i, v in enumerate(row) if v is not None) + 1
                if last > MAX_COLUMNS:
                    raise DataError(
                        f"row {row_number}: has a value in column {last:,}; at most {MAX_COLUMNS:,} columns "
                        "can be imported (remove the columns you do not need)"
                    )
                row = row[:last]
            cells_seen += len(row)
            if cells_seen > MAX_XLSX_CELLS:
                raise DataError(
                    f"the sheet has more than {MAX_XLSX_CELLS:,} cells (at row {row_number:,}); split the file "
                    "or save it as CSV"
                )
            yield row_number, [_xlsx_cell(v) for v in row]
    except DefusedXmlException:
        raise DataError(XML_REFUSED) from None


def _xlsx_check(fh: IO[bytes]) -> None:
    """Refuse an .xlsx file whose parts would cost too much, from the zip's entry sizes (no XML parsed).

    A zip entry never yields more than its declared size (zipfile stops there and checks the CRC),
    so the sizes bound what openpyxl reads. The shared strings (read whole by openpyxl) are also
    counted by scanning their bytes for `<si` tags.
    """
    if not openpyxl.DEFUSEDXML:  # pragma: no cover - defusedxml is a pinned dependency
        raise DataError("Excel files cannot be read safely here (defusedxml is missing); import a CSV file")
    try:
        archive = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise DataError(NOT_A_TABLE) from None
    try:
        entries = archive.infolist()
        total = sum(e.file_size for e in entries)
        if total > MAX_XLSX_UNPACKED_BYTES:
            raise DataError(
                f"the Excel file unpacks to {total:,} bytes; at most {MAX_XLSX_UNPACKED_BYTES:,} are read "
                "(save it as CSV)"
            )
        for entry in entries:
            name = entry.filename.lower()
            if name.endswith("sharedstrings.xml"):
                if entry.file_size > MAX_SHARED_STRINGS_BYTES:
                    raise DataError(
                        f"the Excel file's shared-strings table is {entry.file_size:,} bytes; at most "
                        f"{MAX_SHARED_STRINGS_BYTES:,} are read (save it as CSV)"
                    )
                _shared_strings_count(archive, entry)
            elif name.startswith("xl/worksheets/"):
                if entry.file_size > MAX_XLSX_SHEET_BYTES:
                    raise DataError(
                        f"a sheet of the Excel file is {entry.file_size:,} bytes unpacked; at most "
                        f"{MAX_XLSX_SHEET_BYTES:,} are read (save it as CSV)"
                    )
            elif name.endswith((".xml", ".rels")) and entry.file_size > MAX_XLSX_PART_BYTES:
                raise DataError(
                    f"the part {entry.filename} of the Excel file is {entry.file_size:,} bytes unpacked; at most "
                    f"{MAX_XLSX_PART_BYTES:,} are read"
                )
    except (zipfile.BadZipFile, OSError, EOFError):
        raise DataError(NOT_A_TABLE) from None
    finally:
        archive.close()
        fh.seek(0)


_SI_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si[\s>/]")


def _shared_strings_count(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> None:
    count = 0
    tail = b""
    with archive.open(entry) as part:
        while block := part.read(1 << 20):
            data = tail + block
            found = _SI_TAG.findall(data)
            count += len(found)
            # keep the last bytes unless they end a tag already counted
            tail = data[-32:]
            if found and data.rfind(found[-1]) >= len(data) - 32:
                tail = data[data.rfind(found[-1]) + len(found[-1]) :]
            if count > MAX_SHARED_STRINGS:
                raise DataError(
                    f"the Excel file's shared-strings table has more than {MAX_SHARED_STRINGS:,} entries; at most "
                    f"{MAX_SHARED_STRINGS:,} are read (save it as CSV)"
                )


def _xlsx_frame(batch: list[list[str]], numbers: list[int], width: int) -> tuple[int, pd.DataFrame]:
    frame = pd.DataFrame(batch, columns=range(width), dtype=str)
    frame.attrs["rows"] = np.asarray(numbers)
    return numbers[0], frame


def _xlsx_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()
