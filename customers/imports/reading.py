"""Opening a customer file: format sniffing, CSV/TSV/xlsx reading in chunks. Pure (pandas, openpyxl).

A 1,000,000-row file is never held in memory as Python objects: `table_open` returns the header
and an iterator of chunks (DataFrames of text cells) that `validation.chunk_validate` checks.

* Formats: CSV and TSV (delimiter detected among , ; tab |), Excel .xlsx (first sheet).
  Encodings: UTF-8, UTF-8 with BOM, Latin-1 (anything that is not valid UTF-8); CRLF or LF.
* Bounded: at most `table.MAX_COLUMNS` columns; an .xlsx file is read by `excel` within its limits
  (zip entry sizes, shared strings, rows, cells; defusedxml). Every refusal is a DataError that says the limit.
* A NUL character in a CSV cell is refused with its row and column (never silently cut).
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
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

import pandas as pd

from core.exceptions import DataError
from customers.imports import excel
from customers.imports.table import NOT_A_TABLE, Table, columns_check, value_shown

CHUNK_ROWS = 100_000
FIRST_DATA_ROW = 2  # the header is row 1
_DELIMITERS = (",", ";", "\t", "|")
_SNIFF_BYTES = 64 * 1024


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
        return excel.xlsx_open(fh, chunk_rows=chunk_rows)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise DataError("this is an old Excel .xls file; save it as .xlsx or CSV and import that")
    encoding, nul_found = _encoding_detect(fh, head)
    text = head.decode(encoding, errors="ignore")
    if _looks_binary(head, text):
        raise DataError(NOT_A_TABLE)
    if not text.strip():
        raise DataError("the file is empty")
    delimiter = _delimiter_detect(text)
    columns_check(_header_width(text, delimiter))
    if nul_found:
        _nul_locate(fh, encoding=encoding, delimiter=delimiter)
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


def _encoding_detect(fh: IO[bytes], head: bytes) -> tuple[str, bool]:
    """(encoding, whether the file has a NUL byte): utf-8-sig with a BOM; utf-8 when the whole file
    decodes as UTF-8; latin-1 otherwise. Reads the whole file once, in blocks."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = not head.startswith(codecs.BOM_UTF8)
    nul = False
    try:
        while block := fh.read(1 << 20):
            nul = nul or b"\x00" in block
            if utf8:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    utf8 = False
        if utf8:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8 = False
    finally:
        fh.seek(0)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", nul
    return ("utf-8" if utf8 else "latin-1"), nul


def _header_width(text: str, delimiter: str) -> int:
    """The number of columns of the header row, read from the start of the file."""
    try:
        first = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    except csv.Error:
        return 0
    return len(first)


def _nul_locate(fh: IO[bytes], *, encoding: str, delimiter: str) -> None:
    """Raise a DataError naming the first cell with a NUL character (row and column)."""
    try:
        text = io.TextIOWrapper(fh, encoding=encoding, errors="replace", newline="")
        try:
            reader = csv.reader(text, delimiter=delimiter)
            headers: list[str] = []
            row = 0
            for record in reader:
                if not any(cell.strip() for cell in record):
                    continue
                row += 1
                if row == 1:
                    headers = [h.strip() for h in record]
                for col, cell in enumerate(record):
                    if "\x00" in cell:
                        header = headers[col] if col < len(headers) else f"#{col + 1}"
                        raise DataError(
                            f"row {row}, column {header}: {value_shown(cell)} contains a NUL character "
                            "(a zero byte); remove it and import again"
                        )
        finally:
            text.detach()
    finally:
        fh.seek(0)
    raise DataError("the file contains a NUL character (a zero byte); remove it and import again")


def _looks_binary(head: bytes, text: str) -> bool:
    """Many control characters (UTF-16 text, images, archives); a stray NUL is located by `_nul_locate`."""
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
