"""PostgreSQL bulk writes shared by every writer that loads many rows at once.

Generic over the table and its columns: SQL is composed with `psycopg.sql` (identifiers quoted by
psycopg, values always bound as parameters), never with f-strings. The helpers take a Django
cursor on a PostgreSQL connection and run inside the caller's transaction.

* COPY: `copy_statement` for text, CSV or binary COPY; `copy_rows` sends rows given column by
  column through psycopg's row writer (which escapes every value), `copy_write` a ready text or
  bytes payload and `copy_binary` a ready binary payload; `csv_bytes` writes columns as CSV with
  pyarrow (no Python object per cell); `BackgroundCopy` runs one COPY at a time on a worker thread
  while the caller prepares the next chunk (`submit_built`: its CSV built on a thread of its own).
* Staging: `staging_table_create` makes a temporary table dropped at commit.
* Locks and bulk loads: `table_lock`, `table_is_empty`, `table_has_fewer_rows` and
  `indexes_drop` / `foreign_keys_drop` / `indexes_rebuild` (secondary indexes and foreign keys
  around a large load, as the PostgreSQL manual advises).

No COPY escaping is written by hand: psycopg's `Copy.write_row` (compiled) or pyarrow's CSV writer
escapes each value.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
from django.db.backends.utils import CursorWrapper
from psycopg import pq, sql
from pyarrow import csv as pa_csv

CopyFormat = Literal["text", "csv", "binary"]

#: The signature, flags and header extension of PostgreSQL's binary COPY format, and its end marker.
PGCOPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
PGCOPY_TRAILER = b"\xff\xff"
LockMode = Literal["SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"]


# --------------------------------------------------------------------------- statements


def columns_sql(columns: Sequence[str]) -> sql.Composed:
    """`a, b, c` with every name quoted."""
    return sql.SQL(", ").join(sql.Identifier(name) for name in columns)


def copy_statement(
    *, table: str, columns: Sequence[str], format: CopyFormat = "text", freeze: bool = False
) -> sql.Composed:
    """`COPY table (columns) FROM STDIN` in the given format (FREEZE only into a table made in this transaction)."""
    options = [sql.SQL("FORMAT {}").format(sql.SQL(format))]
    if freeze:
        options.append(sql.SQL("FREEZE"))
    return sql.SQL("COPY {table} ({columns}) FROM STDIN WITH ({options})").format(
        table=sql.Identifier(table), columns=columns_sql(columns), options=sql.SQL(", ").join(options)
    )


def table_lock(cursor: CursorWrapper, *, table: str, mode: LockMode = "SHARE ROW EXCLUSIVE") -> None:
    """Lock `table` until the end of the transaction (SHARE ROW EXCLUSIVE: writers queue, readers do not)."""
    cursor.execute(sql.SQL("LOCK TABLE {} IN {} MODE").format(sql.Identifier(table), sql.SQL(mode)))


def table_is_empty(cursor: CursorWrapper, *, table: str) -> bool:
    cursor.execute(sql.SQL("SELECT NOT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(table)))
    return bool(cursor.fetchone()[0])


def table_has_fewer_rows(cursor: CursorWrapper, *, table: str, than: int) -> bool:
    """True when `table` holds fewer than `than` rows (counts at most `than`)."""
    cursor.execute(sql.SQL("SELECT count(*) FROM (SELECT 1 FROM {} LIMIT %s) t").format(sql.Identifier(table)), [than])
    return cursor.fetchone()[0] < than


def staging_table_create(
    cursor: CursorWrapper, *, columns: Sequence[tuple[str, str]], prefix: str = "segmenta_staging"
) -> str:
    """Create a temporary table dropped at commit; `columns` is (name, type) with types like "text"."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    definitions = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(column), sql.SQL(_column_type(kind))) for column, kind in columns
    )
    cursor.execute(sql.SQL("CREATE TEMPORARY TABLE {} ({}) ON COMMIT DROP").format(sql.Identifier(name), definitions))
    return name


def staging_table_drop(cursor: CursorWrapper, *, table: str) -> None:
    """Drop a staging table before commit, so a long transaction does not collect them.

    Nothing to do when the transaction has failed: its rollback drops the table.
    """
    if cursor.connection.info.transaction_status == pq.TransactionStatus.INERROR:
        return
    cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))


_COLUMN_TYPES = frozenset({"text", "integer", "bigint", "smallint", "float8", "boolean", "jsonb", "timestamptz"})


def _column_type(kind: str) -> str:
    if kind not in _COLUMN_TYPES:
        raise ValueError(f"column type must be one of {sorted(_COLUMN_TYPES)}; got {kind!r}")
    return kind


def index_statements(
    cursor: CursorWrapper, *, table: str, unique: bool = True
) -> list[tuple[sql.Composed, sql.Composed]]:
    """(drop, create) statements of `table`'s unique constraints (unless `unique` is false: an upsert needs
    them) and secondary indexes; the primary key stays.

    Run the drops before a large load into a (nearly) empty table and the creates after it, in the
    same transaction, as the PostgreSQL manual advises for bulk loads.
    """
    target = sql.Identifier(table)
    statements: list[tuple[sql.Composed, sql.Composed]] = []
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
        "AND contype = 'u' ORDER BY conname",
        [table],
    )
    for name, definition in cursor.fetchall() if unique else []:
        statements.append(
            (
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(target, sql.Identifier(name)),
                # the definition is PostgreSQL's own text of the constraint, read back from the catalogue
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                    target, sql.Identifier(name), sql.SQL(definition)
                ),
            )
        )
    cursor.execute(
        "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary AND NOT x.indisunique "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) ORDER BY i.relname",
        [table],
    )
    for name, definition in cursor.fetchall():
        statements.append((sql.SQL("DROP INDEX {}").format(sql.Identifier(name)), sql.Composed([sql.SQL(definition)])))
    return statements


def indexes_drop(cursor: CursorWrapper, *, table: str, unique: bool = True) -> list[sql.Composed]:
    """Drop `table`'s unique constraints (unless `unique` is false) and secondary indexes; return the
    statements that rebuild them."""
    statements = index_statements(cursor, table=table, unique=unique)
    for drop, _create in statements:
        cursor.execute(drop)
    return [create for _drop, create in statements]


def foreign_keys_drop(cursor: CursorWrapper, *, table: str) -> list[sql.Composed]:
    """Drop `table`'s foreign keys; return the statements that add them back (PostgreSQL's own definitions)."""
    target = sql.Identifier(table)
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
        "AND contype = 'f' ORDER BY conname",
        [table],
    )
    creates = []
    for name, definition in cursor.fetchall():
        cursor.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(target, sql.Identifier(name)))
        # the definition is PostgreSQL's own text of the constraint, read back from the catalogue
        creates.append(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(target, sql.Identifier(name), sql.SQL(definition))
        )
    return creates


def indexes_rebuild(cursor: CursorWrapper, creates: Sequence[sql.Composed]) -> None:
    """Run the statements `indexes_drop` returned, with memory enough to sort a large table."""
    if not creates:
        return
    cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
    for create in creates:
        cursor.execute(create)


# --------------------------------------------------------------------------- COPY data


def empty_as_null(text: pd.Series) -> list[str | None]:
    """Text cells for COPY where the empty string means NULL."""
    cells = text.to_numpy()
    empty = cells == ""
    return np.where(empty, None, cells).tolist() if empty.any() else text.tolist()


def whole_numbers(text: pd.Series) -> list[str | None]:
    """Validated whole-number cells ("35", " 35 ", "35.0"; "" for NULL) as integer text, per distinct value."""
    codes, uniques = pd.factorize(text)
    converted = np.array([str(round(float(u))) if u.strip() else None for u in uniques], dtype=object)
    return converted[codes].tolist()


def jsonb_number_text(text: str) -> str | None:
    """A validated number cell as PostgreSQL stores `text::float8` in jsonb; None when empty.

    jsonb takes float8's shortest text, then reads it as numeric: whole numbers have no
    fraction digits, other numbers the shortest round-trip digits (Python's repr finds the
    same digits). Beyond 1e16 both write an exponent, which numeric reads the same way.
    """
    if not text.strip():
        return None
    value = float(text)
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def copy_rows(cursor: CursorWrapper, *, statement: sql.Composable, columns: Sequence[Sequence[object]]) -> None:
    """COPY rows given column by column (equal lengths; None is NULL) with psycopg's row writer."""
    with cursor.copy(statement) as copy:
        for row in zip(*columns, strict=True):
            copy.write_row(row)


def copy_write(cursor: CursorWrapper, *, statement: sql.Composable, data: str | bytes | Iterable[bytes]) -> None:
    """Run one COPY ... FROM STDIN with `data` (text, bytes, or bytes in pieces)."""
    with cursor.copy(statement) as copy:
        if isinstance(data, str | bytes):
            copy.write(data)
        else:
            for piece in data:
                copy.write(piece)


def copy_binary(
    cursor: CursorWrapper, *, table: str, columns: Sequence[str], rows: Iterable[bytes], freeze: bool = False
) -> None:
    """Binary COPY of ready row payloads (each piece: whole rows in PostgreSQL's binary tuple format)."""

    def pieces() -> Iterable[bytes]:
        yield PGCOPY_HEADER
        yield from rows
        yield PGCOPY_TRAILER

    statement = copy_statement(table=table, columns=columns, format="binary", freeze=freeze)
    copy_write(cursor, statement=statement, data=pieces())


class BackgroundCopy:
    """Run the COPY of one chunk at a time on a worker thread, while the next chunk is prepared.

    The database works on one chunk while Python prepares the next (at most one chunk waits, so
    memory stays bounded). The connection is used by one thread at a time: `wait` before any other
    statement on the cursor.
    """

    def __init__(self, cursor: CursorWrapper) -> None:
        self.cursor = cursor
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-copy")
        self.builder: ThreadPoolExecutor | None = None
        self.pending: Future[None] | None = None

    def submit(self, statement: sql.Composable, columns: Sequence[Sequence[object]]) -> None:
        """COPY the rows of `columns` (see `copy_rows`) once the chunk before them is in."""
        self.wait()
        self.pending = self.executor.submit(copy_rows, self.cursor, statement=statement, columns=columns)

    def submit_built(self, statement: sql.Composable, build: Callable[[], bytes]) -> None:
        """COPY the data `build()` returns: built on a thread of its own while the chunk before is COPYed, then
        COPYed once that one is in (returns then)."""
        if self.builder is None:
            self.builder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-build")
        data = self.builder.submit(build)
        self.wait()
        self.pending = self.executor.submit(lambda: copy_write(self.cursor, statement=statement, data=data.result()))

    def wait(self) -> None:
        """Wait for the chunk in flight; its error, if any, is raised here."""
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        """Stop the worker; an error of the chunk in flight is not raised again (the caller is already failing)."""
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.exception()  # waits; the error already ended the caller's transaction
        self.executor.shutdown()
        if self.builder is not None:
            self.builder.shutdown()


def csv_bytes(arrays: Sequence[pa.Array], names: Sequence[str]) -> bytes:
    """Rows for `COPY ... (FORMAT csv)` from columns, written by pyarrow (no Python object per cell): text is
    always quoted (an empty text is '', not NULL), a null is unquoted and empty (NULL)."""
    out = pa.BufferOutputStream()
    pa_csv.write_csv(
        pa.Table.from_arrays(list(arrays), names=list(names)),
        out,
        pa_csv.WriteOptions(include_header=False, quoting_style="needed"),
    )
    return out.getvalue().to_pybytes()
