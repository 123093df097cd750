"""Opening an order file: gzip and whitespace-separated text are turned into what the customer
import's reader (`customers.imports.reading.table_open`) reads; it does the rest (CSV/TSV/xlsx,
encodings, chunks, empty and binary files).

* `.gz` (recognised by its magic bytes, whatever the name) is decompressed to a temporary file.
* A text file whose lines have none of , ; tab | but several values apart by spaces (CDNOW's
  `00004 0001 19970101  2   29.33`) is rewritten tab-separated, line for line.
* A file without a header row (`--columns`): the reader's "header" is the first data row, given
  back as row 1 of the data.
"""

from __future__ import annotations

import gzip
import itertools
import re
import shutil
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

import pandas as pd

from core.exceptions import DataError
from customers.imports import reading
from customers.imports.table import Table

_SPOOL_BYTES = 64 * 1024 * 1024
_SNIFF_LINES = 20
_WORDS = re.compile(rb"\S+")


@contextmanager
def order_file_open(fh: IO[bytes]) -> Iterator[IO[bytes]]:
    """The file as a seekable binary table the reader understands (decompressed, tab-separated)."""
    head = fh.read(4)
    fh.seek(0)
    if head.startswith(b"\x1f\x8b"):
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as plain:
            try:
                with gzip.GzipFile(fileobj=fh) as unzipped:
                    shutil.copyfileobj(unzipped, plain, 1 << 20)
            except (OSError, EOFError, zlib.error):
                raise DataError("the .gz file is damaged or not gzip-compressed") from None
            plain.seek(0)
            with order_file_open(plain) as inner:
                yield inner
        return
    if _whitespace_separated(fh):
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as tabbed:
            for line in fh:
                tabbed.write(b"\t".join(_WORDS.findall(line)) + b"\n")
            tabbed.seek(0)
            yield tabbed
        return
    yield fh


def _whitespace_separated(fh: IO[bytes]) -> bool:
    head = fh.read(64 * 1024)
    fh.seek(0)
    if head.startswith(b"PK\x03\x04") or b"\x00" in head:
        return False
    lines = [line for line in head.splitlines()[:_SNIFF_LINES] if line.strip()]
    if len(lines) > 1:
        lines = lines[:-1]  # may be cut
    if not lines or any(ch in head for ch in (b",", b";", b"\t", b"|")):
        return False
    widths = {len(_WORDS.findall(line)) for line in lines}
    return len(widths) == 1 and widths.pop() > 1


def table_open(fh: IO[bytes], *, header_less: bool, chunk_rows: int) -> Table:
    """Open with the customer reader; with `header_less` the first line is data (row 1)."""
    table = reading.table_open(fh, chunk_rows=chunk_rows)
    if not header_less:
        return table
    first = pd.DataFrame([table.headers], columns=range(len(table.headers)), dtype=str)
    first.attrs["rows"] = [1]
    rest = table.chunks

    table.chunks = itertools.chain([(1, first)], rest)
    return table
