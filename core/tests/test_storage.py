"""The PostgreSQL bulk-write helpers: cells for COPY (pure), and on PostgreSQL the statements
themselves (COPY round trips, staging tables, locks, index drop and rebuild, background COPY)."""

from __future__ import annotations

import struct

import pandas as pd
import psycopg
import pytest
from django.db import connection, transaction
from psycopg import sql

from core import storage

TRICKY = ["plain", "back\\slash", "tab\there", "line\nbreak", "cr\r\nlf", "\\N", "Zoë ✓ {json}", ""]


def test_empty_cells_become_null():
    assert storage.empty_as_null(pd.Series(["1.5", "", "a\tb"], dtype=object)) == ["1.5", None, "a\tb"]
    assert storage.empty_as_null(pd.Series(["1", "2"], dtype=object)) == ["1", "2"]


def test_whole_numbers_and_jsonb_numbers():
    assert storage.whole_numbers(pd.Series(["35", " 35 ", "35.0", ""], dtype=object)) == ["35", "35", "35", None]
    assert [storage.jsonb_number_text(t) for t in ("7", "007", "2.50", "-0", "1e20", "0.1", " ")] == [
        "7",
        "7",
        "2.5",
        "0",
        "1e+20",
        "0.1",
        None,
    ]


def test_statements_quote_identifiers():
    statement = storage.copy_statement(table='odd"name', columns=["a", "select"], format="binary", freeze=True)
    assert statement.as_string(None) == 'COPY "odd""name" ("a", "select") FROM STDIN WITH (FORMAT binary, FREEZE)'
    with pytest.raises(ValueError, match="column type"):
        storage._column_type("text; DROP TABLE x")


# ----------------------------------------------------------------------------- PostgreSQL


postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="COPY, temporary tables and index rebuilds are PostgreSQL only"
)


@pytest.fixture
def cursor(db):
    if connection.vendor != "postgresql":
        pytest.skip("COPY, temporary tables and index rebuilds are PostgreSQL only")
    with connection.cursor() as cursor:
        yield cursor


def rows_of(cursor, table: str, order: str = "k") -> list[tuple]:
    cursor.execute(sql.SQL("SELECT * FROM {} ORDER BY {}").format(sql.Identifier(table), sql.Identifier(order)))
    return cursor.fetchall()


@postgresql
def test_copy_rows_round_trips_tricky_cells(cursor):
    table = storage.staging_table_create(cursor, columns=[("k", "integer"), ("v", "text"), ("n", "float8")])
    keys = [str(i) for i in range(len(TRICKY))]
    numbers = storage.empty_as_null(pd.Series(["1.5", ""] * (len(TRICKY) // 2), dtype=object))
    statement = storage.copy_statement(table=table, columns=["k", "v", "n"])
    storage.copy_rows(cursor, statement=statement, columns=[keys, TRICKY, numbers])
    assert rows_of(cursor, table) == [(i, t, 1.5 if i % 2 == 0 else None) for i, t in enumerate(TRICKY)]


@postgresql
def test_copy_write_of_a_ready_text_payload(cursor):
    table = storage.staging_table_create(cursor, columns=[("k", "integer"), ("v", "text")])
    storage.copy_write(cursor, statement=storage.copy_statement(table=table, columns=["k", "v"]), data="1\ta\n2\t\\N\n")
    assert rows_of(cursor, table) == [(1, "a"), (2, None)]


@postgresql
def test_binary_copy_of_a_ready_payload(cursor):
    table = storage.staging_table_create(cursor, columns=[("k", "integer"), ("v", "float8")])
    payload = b"".join(struct.pack("!hii", 2, 4, k) + struct.pack("!id", 8, k / 2) for k in range(3))
    storage.copy_binary(cursor, table=table, columns=["k", "v"], rows=[payload])
    assert rows_of(cursor, table) == [(0, 0.0), (1, 0.5), (2, 1.0)]


@postgresql
def test_background_copy_runs_in_turn_and_reports_errors(cursor):
    table = storage.staging_table_create(cursor, columns=[("k", "integer")])
    statement = storage.copy_statement(table=table, columns=["k"])
    copier = storage.BackgroundCopy(cursor)
    copier.submit(statement, [[1, 2]])
    copier.submit(statement, [["3"]])
    copier.wait()
    assert rows_of(cursor, table) == [(1,), (2,), (3,)]
    with transaction.atomic():
        copier.submit(statement, [["not a number"]])
        with pytest.raises(psycopg.errors.InvalidTextRepresentation):
            copier.wait()
        transaction.set_rollback(True)
    copier.close()


@postgresql
def test_lock_emptiness_and_size(cursor):
    table = storage.staging_table_create(cursor, columns=[("k", "integer")])
    storage.table_lock(cursor, table=table)
    assert storage.table_is_empty(cursor, table=table)
    storage.copy_rows(cursor, statement=storage.copy_statement(table=table, columns=["k"]), columns=[[1, 2]])
    assert not storage.table_is_empty(cursor, table=table)
    assert storage.table_has_fewer_rows(cursor, table=table, than=3)
    assert not storage.table_has_fewer_rows(cursor, table=table, than=2)
    storage.staging_table_drop(cursor, table=table)
    cursor.execute("SELECT to_regclass(%s)", [table])
    assert cursor.fetchone()[0] is None


@postgresql
def test_indexes_dropped_and_rebuilt_exactly(cursor):
    table = storage.staging_table_create(cursor, columns=[("k", "integer"), ("v", "text")])
    name = sql.Identifier(table)
    cursor.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (k)").format(name))
    cursor.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} UNIQUE (v)").format(name, sql.Identifier(f"{table}_v")))
    cursor.execute(sql.SQL("CREATE INDEX {} ON {} (lower(v))").format(sql.Identifier(f"{table}_lower"), name))

    def schema():
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s ORDER BY 1", [table])
        return cursor.fetchall()

    before = schema()
    assert len(before) == 3
    rebuild = storage.indexes_drop(cursor, table=table)
    assert len(rebuild) == 2 and [n for n, _ in schema()] == [f"{table}_pkey"]  # the primary key stays
    storage.indexes_rebuild(cursor, rebuild)
    assert schema() == before
