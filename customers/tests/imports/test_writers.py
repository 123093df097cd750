"""The first load into an empty customer table (COPY straight into the table on PostgreSQL)
stores exactly what the staging path stores, and stays atomic."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from django.db import connection

from core.exceptions import DataError
from customers.imports import writers
from customers.imports.service import customer_import
from customers.models import Customer, CustomerAttribute

pytestmark = pytest.mark.django_db

TRICKY_ROWS = [
    ["ID", "Gender", "Age", "Income", "Score", "Note", "Amount", "Joined"],
    ["a\\b", "F", "30.0", " 12 ", "1e1", 'say "hi"\nthere', "1.5", "2020-01-01"],
    ["tab\there", "m", "", "", "", "back\\slash\ttab", "0.1", ""],
    ['quo"te', "", "7", "0", "100", "Zoë ✓ {json}", "1e14", "2021-12-31"],
    ["x,y", "2", "120", "1e3", "2.5", "", "99999999999999.5", "2022-02-02"],
    ["n1", "1", "0", "3.25", "1", "\\N", "-0", ""],
    ["n2", "u", "45", "", "99.9", "plain", "1e-7", ""],
    ["n3", "x", "007", "", "", "", "007", ""],
    ["n4", "", "", "", "", "", "2.50", ""],
    ["n5", "", "", "", "", "", "", ""],
    ["n6", "", "", "", "", "tail\r\nend", "123456789012345", ""],  # numbers are below 1e15 (validation)
]


def csv_file(tmp_path: Path, rows: list[list[str]], name: str = "tricky.csv") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    path = tmp_path / name
    path.write_bytes(buffer.getvalue().encode("utf-8"))
    return path


def stored(exclude: str = "") -> dict:
    return {
        row[0]: row[1:]
        for row in Customer.objects.exclude(external_id=exclude).values_list(
            "external_id", "gender", "age", "annual_income", "spending_score", "attributes"
        )
    }


@pytest.fixture
def first_loads(monkeypatch):
    """Count the imports that went through the first-load COPY (PostgreSQL only)."""
    calls: list[int] = []
    finish = writers.FirstLoadWriter.finish

    def counted(self, *args, **kwargs):
        calls.append(self.rows)
        return finish(self, *args, **kwargs)

    monkeypatch.setattr(writers.FirstLoadWriter, "finish", counted)
    return calls


def test_first_load_stores_what_a_later_import_stores(tmp_path, first_loads):
    path = csv_file(tmp_path, TRICKY_ROWS)
    first = customer_import(file=path, source="command")
    assert first.added == 10
    loaded = stored()
    assert first_loads == ([10] if connection.vendor == "postgresql" else [])
    assert loaded["a\\b"] == (
        "female",
        30,
        12.0,
        10.0,
        {"note": 'say "hi"\nthere', "amount": 1.5, "joined": "2020-01-01"},
    )
    assert loaded["tab\there"][-1] == {"note": "back\\slash\ttab", "amount": 0.1}
    assert loaded['quo"te'][-1] == {"note": "Zoë ✓ {json}", "amount": 1e14, "joined": "2021-12-31"}
    assert loaded["n3"][1] == 7 and loaded["n3"][-1] == {"amount": 7}
    assert loaded["n5"] == ("unknown", None, None, None, {})
    assert loaded["n6"][-1] == {"note": "tail\r\nend", "amount": 123456789012345}

    # The same file into a table that is not empty goes through the staging table: same values.
    Customer.objects.all().delete()
    Customer.objects.create(external_id="decoy")
    again = customer_import(file=path, source="command")
    assert (again.added, again.updated) == (10, 0)
    assert first_loads == ([10] if connection.vendor == "postgresql" else [])
    assert stored(exclude="decoy") == loaded
    for key, values in loaded.items():  # ints stay ints, floats floats (json of the attribute)
        again_values = stored(exclude="decoy")[key]
        assert {k: type(v) for k, v in values[-1].items()} == {k: type(v) for k, v in again_values[-1].items()}


def test_number_column_that_turns_text_in_a_later_chunk(tmp_path):
    path = csv_file(tmp_path, [["ID", "Code"], ["1", "10"], ["2", "11"], ["3", "A7"], ["4", "0012"]])
    result = customer_import(file=path, source="command", chunk_rows=2)
    assert (result.rows_total, result.added) == (4, 4)
    assert CustomerAttribute.objects.get(key="code").kind == "text"
    assert {c.external_id: c.attributes for c in Customer.objects.all()} == {
        "1": {"code": "10"},
        "2": {"code": "11"},
        "3": {"code": "A7"},
        "4": {"code": "0012"},
    }


def test_known_attribute_kind_applies_to_a_first_load(tmp_path):
    CustomerAttribute.objects.create(key="code", label="Code", kind="text")
    customer_import(file=csv_file(tmp_path, [["ID", "Code"], ["1", "10"], ["2", "2.50"]]), source="command")
    assert CustomerAttribute.objects.get(key="code").kind == "text"
    assert dict(Customer.objects.values_list("external_id", "attributes")) == {
        "1": {"code": "10"},
        "2": {"code": "2.50"},
    }


def schema() -> tuple:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'customers_customer' ORDER BY 1")
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'customers_customer'::regclass ORDER BY 1"
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT column_name, column_default FROM information_schema.columns "
            "WHERE table_name = 'customers_customer' ORDER BY 1"
        )
        return indexes, constraints, cursor.fetchall()


@pytest.fixture
def bulk(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("the first-load COPY and its index rebuild are PostgreSQL only")
    monkeypatch.setattr(writers, "BULK_REINDEX_ROWS", 2)
    return schema()


@pytest.fixture
def rebuilds(monkeypatch):
    """The number of indexes each bulk load dropped (and had to rebuild)."""
    counts: list[int] = []
    drop = writers.storage.indexes_drop

    def counted(cursor, *, table):
        creates = drop(cursor, table=table)
        counts.append(len(creates))
        return creates

    monkeypatch.setattr(writers.storage, "indexes_drop", counted)
    return counts


def test_large_load_into_a_small_table_rebuilds_the_schema_exactly(tmp_path, bulk, rebuilds):
    Customer.objects.create(external_id="decoy")  # not empty: the staging writer
    rows = [["ID", "Age"], *([f"{i:04d}", str(20 + i)] for i in range(1, 6))]
    result = customer_import(file=csv_file(tmp_path, rows), source="command", chunk_rows=2)
    assert (result.added, result.updated) == (5, 0) and Customer.objects.count() == 6
    assert rebuilds and rebuilds[0] > 0
    assert schema() == bulk
    small = customer_import(file=csv_file(tmp_path, rows[:2], name="small.csv"), source="command")
    assert (small.added, small.updated) == (0, 1) and len(rebuilds) == 1  # nothing new: no rebuild


def test_large_first_load_rebuilds_the_schema_exactly(tmp_path, bulk, rebuilds):
    rows = [["ID", "Age", "Visits"], *([f"{i:04d}", str(20 + i), str(i)] for i in range(1, 8))]
    result = customer_import(file=csv_file(tmp_path, rows), source="command", chunk_rows=3)
    assert result.added == 7 and Customer.objects.count() == 7
    assert rebuilds and rebuilds[0] > 0  # the indexes really were dropped
    assert schema() == bulk
    one = Customer.objects.get(external_id="0001")
    assert one.created_at == one.updated_at and one.attributes == {"visits": 1}
    assert result.job.rows_added == 7


def test_first_load_refused_in_a_later_chunk_leaves_nothing(tmp_path, bulk):
    rows = [["ID", "Age"], ["1", "20"], ["2", "21"], ["3", "22"], ["4", "abc"], ["5", "23"]]
    with pytest.raises(DataError, match=re.escape("row 5, column Age: 'abc' is not a number")):
        customer_import(file=csv_file(tmp_path, rows), source="command", chunk_rows=2)
    assert Customer.objects.count() == 0 and CustomerAttribute.objects.count() == 0
    assert schema() == bulk
    result = customer_import(file=csv_file(tmp_path, rows[:4]), source="command", chunk_rows=2)
    assert result.added == 3 and schema() == bulk
