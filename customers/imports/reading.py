"""Opening a customer file: format sniffing, CSV/TSV/xlsx reading in chunks. Pure (pandas, openpyxl).

A 1,000,000-row file is never held in memory as Python objects: `table_open` returns the header
and an iterator of chunks (DataFrames of text cells) that `validation.chunk_validate` checks.

* Formats: CSV and TSV (delimiter detected among , ; tab |), Excel .xlsx (first sheet).
  Encodings: UTF-8, UTF-8 with BOM, Latin-1 (anything that is not valid UTF-8); CRLF or LF.
* Row numbers are the ones a spreadsheet shows: the header is row 1, the first data row is
  row 2. Blank lines are skipped and not counted (a CSV record spanning several lines in
  quotes counts as one row).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
from openpyxl import load_workbook

from core.exceptions import DataError

CHUNK_ROWS = 100_000
FIRST_DATA_ROW = 2  # the header is row 1
NOT_A_TABLE = "not a CSV, TSV or Excel file"
_DELIMITERS = (",", ";", "\t", "|")
_SNIFF_BYTES = 64 * 1024


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


def table_open(fh: IO[bytes], *, chunk_rows: int = CHUNK_ROWS) -> Table:
    """Detect the format of a seekable binary file and return its header and data chunks.

    Raises DataError for an empty file and for anything that is not a table (a file with a
    header and no data rows opens fine and yields no chunks).
    """
    head = fh.read(_SNIFF_BYTES)
    fh.seek(0)
    if not head.strip():
        raise DataError("the file is empty")
    if head.startswith(b"PK\x03\x04"):
        return _xlsx_open(fh, chunk_rows=chunk_rows)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise DataError("this is an old Excel .xls file; save it as .xlsx or CSV and import that")
    encoding = _encoding_detect(fh, head)
    text = head.decode(encoding, errors="ignore")
    if _looks_binary(head, text):
        raise DataError(NOT_A_TABLE)
    if not text.strip():
        raise DataError("the file is empty")
    delimiter = _delimiter_detect(text)
    reader = pd.read_csv(
        fh,
        sep=delimiter,
        header=None,
        dtype=str,
        na_filter=False,
        skip_blank_lines=True,
        encoding=encoding,
        encoding_errors="strict",
        chunksize=chunk_rows,
        engine="c",
        quotechar='"',
    )
    chunks = _csv_chunks(reader)
    try:
        first_row, first = next(chunks)
    except StopIteration:
        raise DataError("the file is empty") from None
    except DataError:
        chunks.close()
        raise
    headers = [h.strip() for h in first.iloc[0].tolist()]
    rest = first.iloc[1:]

    def all_chunks() -> Iterator[tuple[int, pd.DataFrame]]:
        if len(rest):
            yield FIRST_DATA_ROW, rest
        yield from chunks

    data = all_chunks()
    return Table(
        format="tsv" if delimiter == "\t" else "csv",
        encoding=encoding,
        delimiter=delimiter,
        headers=headers,
        chunks=data,
        closers=[data, chunks],
    )


def _csv_chunks(reader: Any) -> Iterator[tuple[int, pd.DataFrame]]:
    row = 1
    try:
        for chunk in reader:
            chunk = chunk.reset_index(drop=True)
            chunk.columns = range(chunk.shape[1])
            yield row, chunk
            row += len(chunk)
    except pd.errors.ParserError as exc:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if found:
            expected, line, saw = found.groups()
            raise DataError(f"line {line}: expected {expected} values like the header, found {saw}") from None
        raise DataError(f"{NOT_A_TABLE} ({str(exc).strip()})") from None
    except UnicodeDecodeError:
        raise DataError("the file mixes text encodings; save it as UTF-8 and import again") from None
    except pd.errors.EmptyDataError:
        return
    finally:
        with suppress(OSError, ValueError):  # the reader may already be closed with its file
            reader.close()


def _encoding_detect(fh: IO[bytes], head: bytes) -> str:
    """utf-8-sig with a BOM; utf-8 when the whole file decodes as UTF-8; latin-1 otherwise."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while block := fh.read(1 << 20):
            decoder.decode(block)
        decoder.decode(b"", final=True)
        return "utf-8"
    except UnicodeDecodeError:
        return "latin-1"
    finally:
        fh.seek(0)


def _looks_binary(head: bytes, text: str) -> bool:
    if b"\x00" in head:
        return True
    controls = sum(1 for ch in text if (ord(ch) < 32 and ch not in "\t\r\n") or 0x7F <= ord(ch) < 0xA0)
    return controls > max(2, len(text) // 100)


def _delimiter_detect(text: str) -> str:
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    if len(lines) > 1:
        lines = lines[:-1]  # the last line of the sample may be cut
    best, best_count = ",", 0
    for delimiter in _DELIMITERS:
        try:
            counts = [len(row) - 1 for row in csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter)]
        except csv.Error:
            continue
        if not counts or counts[0] == 0:
            continue
        consistent = all(c == counts[0] for c in counts)
        score = counts[0] * (2 if consistent else 1)
        if score > best_count:
            best, best_count = delimiter, score
    return best


def _xlsx_open(fh: IO[bytes], *, chunk_rows: int) -> Table:
    try:
        workbook = load_workbook(fh, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError):
        raise DataError(NOT_A_TABLE) from None
    sheet = workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    row_number = 0
    headers: list[str] | None = None
    for values in rows:
        row_number += 1
        cells = [_xlsx_cell(v) for v in values]
        if any(cells):
            headers = cells
            break
    if headers is None:
        workbook.close()
        raise DataError("the file is empty")
    while headers and not headers[-1]:
        headers.pop()
    width = len(headers)

    def chunks() -> Iterator[tuple[int, pd.DataFrame]]:
        nonlocal row_number
        batch: list[list[str]] = []
        numbers: list[int] = []
        try:
            for values in rows:
                row_number += 1
                cells = [_xlsx_cell(v) for v in values]
                if not any(cells):
                    continue
                extra = [c for c in cells[width:] if c]
                if extra:
                    raise DataError(f"row {row_number}: has a value ({extra[0]!r}) right of the last header")
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


@contextmanager
def binary_open(file: IO[bytes] | str | os.PathLike) -> Iterator[IO[bytes]]:
    """Open a path, a Django upload or a binary file object for reading from the start."""
    if isinstance(file, str | os.PathLike):
        try:
            fh = open(file, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            raise DataError(f"no such file: {Path(file).name}") from None
        except IsADirectoryError:
            raise DataError(f"{Path(file).name} is a folder, not a file") from None
        try:
            yield fh
        finally:
            fh.close()
        return
    temporary_path = getattr(file, "temporary_file_path", None)
    if callable(temporary_path):
        with open(temporary_path(), "rb") as fh:
            yield fh
        return
    inner = getattr(file, "file", file)
    inner.seek(0)
    yield inner


def file_size(fh: IO[bytes]) -> int:
    """The size of a seekable file in bytes; the file is left at its start."""
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    fh.seek(0)
    return size
