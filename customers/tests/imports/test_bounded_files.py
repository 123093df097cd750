"""Files that would exhaust the server are refused quickly, in bounded memory, with a clear message
(issue 14, findings 3 and 9): hand-made .xlsx files (declared dimension, shared strings, entities,
columns, cells) and CSV files (NUL bytes, 10,000 columns)."""

from __future__ import annotations

import io
import time
import tracemalloc

import pytest

from core.exceptions import DataError
from customers.imports import excel, reading
from customers.tests.imports.xlsx_parts import MAIN, cell, customers_sheet, row_xml, sheet_xml, xlsx_bytes


def _read_all(data: bytes) -> tuple[list[str], list[list[str]]]:
    table = reading.table_open(io.BytesIO(data))
    try:
        rows = [r for _, frame in table.chunks for r in frame.values.tolist()]
    finally:
        table.close()
    return table.headers, rows


def _bounded(fn, *, seconds: float, megabytes: float):
    """Run fn; assert it took at most `seconds` and allocated at most `megabytes` at its peak."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        return fn()
    finally:
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        assert elapsed < seconds, f"took {elapsed:.1f} s"
        assert peak < megabytes, f"peak {peak:.0f} MB"


def test_a_declared_dimension_of_the_whole_sheet_costs_nothing():
    # 4 KB file declaring A1:XFD1048576: before, every row was padded to 16,384 cells and empty rows
    # were made up to row 1,048,576 (minutes of CPU).
    data = xlsx_bytes(customers_sheet(3, dimension="A1:XFD1048576"))
    assert len(data) < 5000
    headers, rows = _bounded(lambda: _read_all(data), seconds=2, megabytes=20)
    assert headers == ["CustomerID", "Age"]
    assert rows == [["c2", "22"], ["c3", "23"], ["c4", "24"]]


def test_three_million_shared_strings_are_refused_before_parsing():
    entries = b"<si><t>x</t></si>" * 3_000_000
    strings = f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}">'.encode() + entries + b"</sst>"
    data = xlsx_bytes(customers_sheet(2), strings)
    del entries, strings
    assert len(data) < 2_000_000

    def read():
        with pytest.raises(DataError, match=r"shared-strings table has more than 1,000,000 entries"):
            _read_all(data)

    _bounded(read, seconds=10, megabytes=20)


def test_a_shared_strings_table_over_its_size_is_refused_from_the_zip_entry(monkeypatch):
    monkeypatch.setattr(excel, "MAX_SHARED_STRINGS_BYTES", 1000)
    strings = f'<sst xmlns="{MAIN}">'.encode() + b"<si><t>long text</t></si>" * 100 + b"</sst>"
    with pytest.raises(DataError, match=r"shared-strings table is 2,\d{3} bytes; at most 1,000"):
        _read_all(xlsx_bytes(customers_sheet(2), strings))


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
    '<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">'
    '<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">'
    '<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">'
    '<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">'
    '<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">'
    '<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>'
)


def test_billion_laughs_in_the_shared_strings_is_refused():
    strings = (BILLION_LAUGHS + f'<sst xmlns="{MAIN}"><si><t>&lol9;</t></si></sst>').encode()
    data = xlsx_bytes(customers_sheet(2), strings)

    def read():
        with pytest.raises(DataError, match="declares XML entities"):
            _read_all(data)

    _bounded(read, seconds=5, megabytes=20)


def test_billion_laughs_and_external_entities_in_the_sheet_are_refused():
    laughs = sheet_xml(
        [row_xml(1, [cell("A1", "CustomerID")]), row_xml(2, [cell("A2", "&lol9;")])],
        prolog=BILLION_LAUGHS.removeprefix('<?xml version="1.0"?>'),
    ).replace(b'<?xml version="1.0" encoding="UTF-8"?>', b"")
    with pytest.raises(DataError, match="declares XML entities"):
        _read_all(xlsx_bytes(laughs))
    xxe = sheet_xml(
        [row_xml(1, [cell("A1", "CustomerID")]), row_xml(2, [cell("A2", "&xxe;")])],
        prolog='<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    ).replace(b'<?xml version="1.0" encoding="UTF-8"?>', b"")
    with pytest.raises(DataError, match="declares XML entities"):
        _read_all(xlsx_bytes(xxe))


def test_openpyxl_parses_with_defusedxml():
    import openpyxl

    assert openpyxl.DEFUSEDXML is True


def test_a_value_far_right_is_refused_at_the_column_limit():
    sheet = sheet_xml(
        [
            row_xml(1, [cell("A1", "CustomerID"), cell("B1", "Age")]),
            row_xml(2, [cell("A2", "c1"), cell("B2", 30), cell("XFD2", "far")]),
        ]
    )
    with pytest.raises(DataError, match=r"row 2: has a value in column 16,384; at most 500 columns"):
        _read_all(xlsx_bytes(sheet))


def test_rows_and_cells_are_capped(monkeypatch):
    monkeypatch.setattr(excel, "MAX_XLSX_CELLS", 10)
    with pytest.raises(DataError, match=r"more than 10 cells \(at row 6\)"):
        _read_all(xlsx_bytes(customers_sheet(8)))
    monkeypatch.setattr(excel, "MAX_XLSX_ROWS", 3)
    with pytest.raises(DataError, match="more than 3 rows"):
        _read_all(xlsx_bytes(customers_sheet(8)))


def test_a_part_unpacking_to_too_much_is_refused(monkeypatch):
    monkeypatch.setattr(excel, "MAX_XLSX_UNPACKED_BYTES", 2000)
    with pytest.raises(DataError, match=r"unpacks to [\d,]+ bytes; at most 2,000"):
        _read_all(xlsx_bytes(customers_sheet(40)))


# ------------------------------------------------------------------------------ CSV


def test_a_nul_inside_a_csv_field_is_refused_with_row_and_column():
    data = b"CustomerID,Age,City\n1,30,Paris\n2,31,Ly\x00on\n"
    with pytest.raises(DataError, match=r"row 3, column City: 'Ly\\x00on' contains a NUL character"):
        _read_all(data)


def test_a_nul_far_into_a_bom_csv_is_refused():
    rows = b"".join(b"%d,30,Paris\n" % i for i in range(20_000))
    data = b"\xef\xbb\xbfCustomerID,Age,City\n" + rows + b"x,1,\x00\n"
    with pytest.raises(DataError, match=r"row 20002, column City: '\\x00' contains a NUL character"):
        _read_all(data)


def test_ten_thousand_columns_are_refused_quickly():
    header = ",".join(f"c{i}" for i in range(10_000))
    data = (header + "\n" + ",".join("1" for _ in range(10_000)) + "\n").encode()
    with pytest.raises(DataError, match=r"at most 500 columns can be imported"):
        _bounded(lambda: _read_all(data), seconds=2, megabytes=20)


def test_five_hundred_columns_are_read():
    header = "CustomerID," + ",".join(f"c{i}" for i in range(499))
    headers, rows = _read_all((header + "\n1," + ",".join("1" for _ in range(499)) + "\n").encode())
    assert len(headers) == 500 and len(rows[0]) == 500


def test_values_are_shown_cut():
    assert reading.value_shown("x" * 1_000_000) == "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'… (1,000,000 characters)"
    assert reading.value_shown("abc") == "'abc'"
