"""Opening a customer file: format sniffing, CSV/TSV/xlsx reading in chunks. Pure (pandas, openpyxl).

A 1,000,000-row file is never held in memory as Python objects: `table_open` returns the header
and an iterator of chunks (DataFrames of text cells) that `validation.chunk_validate` checks.

* Formats: CSV and TSV (delimiter detected among , ; tab |), Excel .xlsx (first sheet).
  Encodings: UTF-8, UTF-8 with BOM, Latin-1 (anything that is not valid UTF-8); CRLF or LF.
* Bounded: at most MAX_COLUMNS columns; an .xlsx file is checked from its zip entry sizes before
  any XML is parsed (MAX_XLSX_PART_BYTES per part, MAX_SHARED_STRINGS_BYTES and MAX_SHARED_STRINGS
  for the shared-strings table, MAX_XLSX_UNPACKED_BYTES in all), its declared dimension is ignored
  (a 5 KB file declaring `A1:XFD1048576` reads in milliseconds), its rows and cells are capped
  (MAX_XLSX_ROWS, MAX_XLSX_CELLS) and its XML is parsed by defusedxml (entity declarations, as in
  "billion laughs" and XXE files, are refused). Every refusal is a DataError that says the limit.
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
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any

import numpy as np
import openpyxl
import pandas as pd
from defusedxml import DefusedXmlException
from openpyxl import load_workbook

from core.exceptions import DataError

CHUNK_ROWS = 100_000
FIRST_DATA_ROW = 2  # the header is row 1
NOT_A_TABLE = "not a CSV, TSV or Excel file"
_DELIMITERS = (",", ";", "\t", "|")
_SNIFF_BYTES = 64 * 1024
MAX_COLUMNS = 500
MAX_XLSX_ROWS = 1_048_576  # Excel's own limit
MAX_XLSX_CELLS = 20_000_000
MAX_SHARED_STRINGS = 1_000_000
MAX_SHARED_STRINGS_BYTES = 64 * 1024 * 1024
MAX_XLSX_PART_BYTES = 16 * 1024 * 1024  # workbook, styles and the other parts read whole
MAX_XLSX_SHEET_BYTES = 1024 * 1024 * 1024  # the first sheet, streamed
MAX_XLSX_UNPACKED_BYTES = 1536 * 1024 * 1024


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
    encoding, nul_found = _encoding_detect(fh, head)
    text = head.decode(encoding, errors="ignore")
    if _looks_binary(head, text):
        raise DataError(NOT_A_TABLE)
    if not text.strip():
        raise DataError("the file is empty")
    delimiter = _delimiter_detect(text)
    _columns_check(_header_width(text, delimiter))
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


def _columns_check(width: int) -> None:
    if width > MAX_COLUMNS:
        raise DataError(
            f"the file has {width:,} columns or more; at most {MAX_COLUMNS:,} columns can be imported "
            "(remove the columns you do not need)"
        )


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


def value_shown(value: Any, limit: int = 40) -> str:
    """A cell value for a message: repr, cut to `limit` characters with the full length said."""
    text = str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text):,} characters)"


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


def _xlsx_open(fh: IO[bytes], *, chunk_rows: int) -> Table:
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
