"""Opening files: format, delimiter and encoding detection, chunks with spreadsheet row numbers."""

from __future__ import annotations

import io

import pytest

from core.exceptions import DataError
from customers.imports.reading import binary_open, file_size, table_open


def opened(data: bytes, chunk_rows: int = 2):
    table = table_open(io.BytesIO(data), chunk_rows=chunk_rows)
    chunks = [(row, frame.values.tolist()) for row, frame in table.chunks]
    table.close()
    return table, chunks


def test_semicolon_latin1_in_chunks():
    table, chunks = opened("ID;Name\r\n1;Zoë\r\n\r\n2;B\r\n3;C\r\n".encode("latin-1"))
    assert (table.format, table.encoding, table.delimiter, table.headers) == ("csv", "latin-1", ";", ["ID", "Name"])
    assert chunks == [(2, [["1", "Zoë"]]), (3, [["2", "B"], ["3", "C"]])]


def test_tsv_with_bom():
    table, chunks = opened(b"\xef\xbb\xbfID\tAge\n7\t\n")
    assert (table.format, table.encoding, table.headers) == ("tsv", "utf-8-sig", ["ID", "Age"])
    assert chunks == [(2, [["7", ""]])]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"  \n", "the file is empty"),
        (b"\xd0\xcf\x11\xe0rest", "old Excel .xls"),
        (bytes(range(256)) * 4, "not a CSV, TSV or Excel file"),
        (b"ID,Age\n1,2,3\n", "line 2: expected 2 values like the header, found 3"),
    ],
)
def test_refused_files(data, message):
    with pytest.raises(DataError, match=message):
        opened(data)


def test_binary_open_paths_and_objects(tmp_path):
    with pytest.raises(DataError, match="no such file: nope.csv"):
        with binary_open(tmp_path / "nope.csv"):
            pass
    with pytest.raises(DataError, match="is a folder"):
        with binary_open(tmp_path):
            pass
    buffer = io.BytesIO(b"ID\n1\n")
    buffer.read()
    with binary_open(buffer) as fh:
        assert file_size(fh) == 5 and fh.read() == b"ID\n1\n"
