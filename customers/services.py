"""Writes of the customers app. `customer_import` is the one service behind every import door
(the `import_customers` command, the upload page and the admin).

How an import runs:

1. The file is opened and validated chunk by chunk (`customers.importing`, pure pandas).
2. Valid rows are streamed into the database as they are validated, never one save per row:
   * PostgreSQL, first load into an empty customer table: COPY (text format, built column-wise
     by pandas, attributes JSON built once per distinct value) straight into the customer table,
     on a worker thread while the next chunk is read; for a large file the secondary indexes
     are dropped first and rebuilt at the end, in the same transaction;
   * PostgreSQL, a table with customers: COPY into a temporary table, then one UPDATE ... FROM
     for known ids and one INSERT ... SELECT for new ones (attributes JSON built in SQL);
   * SQLite: `bulk_create(update_conflicts=True)` in batches.
3. Everything runs in one transaction: a file with any invalid row changes nothing, unless
   `skip_invalid` is set, in which case the valid rows go in and the rejected ones come back as
   a CSV with a `reason` column. A dry run validates and counts, then rolls back.
4. Every import, failed and dry runs included, is recorded as an `ImportJob`. After a committed
   import `customers_changed` is sent with the ids of the customers added or changed (a known
   customer whose values are all the same as in the file is left untouched and not announced;
   it still counts as "updated" in the import's numbers, which count known ids).

Re-importing upserts by `external_id`: the canonical columns present in the file replace the
stored values (an empty cell clears one), columns absent from the file are left alone, and the
file's attribute columns replace those attributes while other attributes are kept.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
from django.db import connection, transaction

from core.csvsafe import write_csv
from core.exceptions import DataError
from core.services import activity_record
from customers import importing
from customers.models import AttributeKind, Customer, CustomerAttribute, ImportJob, ImportStatus
from customers.signals import customers_changed

IMPORT_SOURCES = ("upload", "command", "admin")
ORM_BATCH = 500
MAX_PROBLEMS_SHOWN = 10


@dataclass
class ImportResult:
    job: ImportJob
    rows_total: int
    added: int
    updated: int
    rejected: int
    rejected_csv: str
    dry_run: bool
    file_format: str = ""
    mapping: dict[str, str] = field(default_factory=dict)


@dataclass
class _Progress:
    file_size: int = 0
    rows_total: int = 0
    rejected: int = 0
    mapping: dict[str, str] = field(default_factory=dict)


def customer_import(
    *,
    file: IO[bytes] | str | os.PathLike,
    file_name: str = "",
    user: Any = None,
    source: str = "command",
    mapping: dict[str, str] | None = None,
    skip_invalid: bool = False,
    dry_run: bool = False,
    max_bytes: int | None = None,
    chunk_rows: int = importing.CHUNK_ROWS,
) -> ImportResult:
    """Import customers from a CSV, TSV or .xlsx file (a path or a binary file object).

    `mapping` overrides the automatic header mapping: {header in the file: canonical field}.
    Raises DataError (message fit for users) when the file is refused; the failed ImportJob is
    attached to the exception as `import_job`.
    """
    if source not in IMPORT_SOURCES:
        raise ValueError(f"source must be one of {IMPORT_SOURCES}; got {source!r}")
    started = time.monotonic()
    if not file_name:
        file_name = Path(str(file)).name if isinstance(file, str | os.PathLike) else getattr(file, "name", "") or ""
    file_name = Path(file_name).name[:255] or "upload"
    actor = user if getattr(user, "is_authenticated", False) else None
    progress = _Progress()
    job_fields = {
        "created_by": actor,
        "source": source,
        "file_name": file_name,
        "skip_invalid": skip_invalid,
    }
    try:
        with _binary(file) as fh:
            progress.file_size = _size_of(fh)
            if max_bytes is not None and progress.file_size > max_bytes:
                raise DataError(f"the file is {progress.file_size:,} bytes; the upload limit is {max_bytes:,} bytes")
            with transaction.atomic():
                outcome = _import_rows(
                    fh, mapping=mapping or {}, skip_invalid=skip_invalid, progress=progress, chunk_rows=chunk_rows
                )
                if dry_run:
                    transaction.set_rollback(True)
                else:
                    job = _job_record(job_fields, progress, outcome, status=ImportStatus.SUCCEEDED, started=started)
                    activity_record(
                        actor=actor,
                        verb="customers.imported",
                        obj=job,
                        detail={"added": outcome.added, "updated": outcome.updated, "rejected": outcome.rejected},
                    )
                    ids = outcome.customer_ids
                    transaction.on_commit(lambda: customers_changed.send(sender=Customer, customer_ids=ids))
    except Exception as exc:
        if isinstance(exc, DataError):
            message = str(exc)
        else:
            message = f"the import failed unexpectedly ({exc.__class__.__name__}: {exc})"
        job = ImportJob.objects.create(
            **job_fields,
            status=ImportStatus.FAILED,
            file_size=progress.file_size,
            mapping=progress.mapping or (mapping or {}),
            rows_total=progress.rows_total,
            rows_rejected=progress.rejected,
            duration_ms=_elapsed_ms(started),
            error=message,
        )
        exc.import_job = job  # type: ignore[attr-defined]
        raise
    if dry_run:
        job = _job_record(job_fields, progress, outcome, status=ImportStatus.DRY_RUN, started=started)
    return ImportResult(
        job=job,
        rows_total=progress.rows_total,
        added=outcome.added,
        updated=outcome.updated,
        rejected=outcome.rejected,
        rejected_csv=outcome.rejected_csv,
        dry_run=dry_run,
        file_format=outcome.file_format,
        mapping=progress.mapping,
    )


# --------------------------------------------------------------------------- the import itself


@dataclass
class _Outcome:
    added: int
    updated: int
    rejected: int
    rejected_csv: str
    customer_ids: list[int]
    file_format: str


def _import_rows(
    fh: IO[bytes], *, mapping: dict[str, str], skip_invalid: bool, progress: _Progress, chunk_rows: int
) -> _Outcome:
    if connection.vendor == "postgresql" and _customers_table_empty():
        # First load: COPY straight into the customer table. In the rare case it cannot (an
        # attribute column that looked numeric turns out not to be), the savepoint undoes it
        # and the file is read again through the staging table.
        try:
            with transaction.atomic():
                return _import_once(
                    fh,
                    mapping=mapping,
                    skip_invalid=skip_invalid,
                    progress=progress,
                    chunk_rows=chunk_rows,
                    first_load=True,
                )
        except _FirstLoadAbandoned:
            fh.seek(0)
            progress.rows_total = progress.rejected = 0
    return _import_once(
        fh, mapping=mapping, skip_invalid=skip_invalid, progress=progress, chunk_rows=chunk_rows, first_load=False
    )


def _import_once(
    fh: IO[bytes],
    *,
    mapping: dict[str, str],
    skip_invalid: bool,
    progress: _Progress,
    chunk_rows: int,
    first_load: bool,
) -> _Outcome:
    table = importing.table_open(fh, chunk_rows=chunk_rows)
    try:
        return _table_import(
            table, mapping=mapping, skip_invalid=skip_invalid, progress=progress, first_load=first_load
        )
    finally:
        table.close()


def _customers_table_empty() -> bool:
    """Lock the customer table against other writers until commit; True when it holds no row.

    Concurrent imports are serialised by this SHARE ROW EXCLUSIVE lock (readers are not blocked).
    """
    target = connection.ops.quote_name(Customer._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {target} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {target})")
        return bool(cursor.fetchone()[0])


def _table_import(
    table: importing.Table, *, mapping: dict[str, str], skip_invalid: bool, progress: _Progress, first_load: bool
) -> _Outcome:
    plan = importing.columns_plan(table.headers, mapping)
    progress.mapping = plan.as_mapping()
    kinds = importing.KindTracker()
    sink: _PostgresLoadSink | _PostgresSink | _OrmSink
    if first_load:
        sink = _PostgresLoadSink(plan, kinds, file_size=progress.file_size)
    elif connection.vendor == "postgresql":
        sink = _PostgresSink(plan)
    else:
        sink = _OrmSink(plan)
    try:
        seen_ids: dict[str, int] = {}
        rejected: list[tuple[int, list[str], str]] = []
        for first_row, frame in table.chunks:
            result = importing.chunk_validate(frame, first_row, plan, seen_ids, kinds)
            progress.rows_total += len(result.clean) + len(result.rejected)
            progress.rejected += len(result.rejected)
            if skip_invalid or len(rejected) < MAX_PROBLEMS_SHOWN:
                rejected.extend(result.rejected)
            if skip_invalid or not progress.rejected:
                sink.write(result.clean)
        sink.flush()
        del seen_ids
        if progress.rows_total == 0:
            raise DataError("the file has a header row but no data rows")
        if progress.rejected and not skip_invalid:
            raise DataError(_problems_message(rejected, progress.rejected))
        resolved = _attributes_register(plan, kinds)
        added, updated, ids = sink.finish(plan, resolved)
    finally:
        sink.close()
    rejected_csv = ""
    if rejected:
        buffer = io.StringIO()
        write_csv(
            buffer,
            importing.rejected_header(plan),
            ([row, *cells, reason] for row, cells, reason in rejected),
        )
        rejected_csv = buffer.getvalue()
    return _Outcome(
        added=added,
        updated=updated,
        rejected=progress.rejected,
        rejected_csv=rejected_csv,
        customer_ids=ids,
        file_format=table.format,
    )


def _problems_message(rejected: list[tuple[int, list[str], str]], count: int) -> str:
    if count == 1:
        return f"{rejected[0][2]}. Nothing was imported."
    shown = "; ".join(reason for _, _, reason in rejected[:MAX_PROBLEMS_SHOWN])
    more = f"; and {count - MAX_PROBLEMS_SHOWN} more rows" if count > MAX_PROBLEMS_SHOWN else ""
    return (
        f"{count} rows have problems, so nothing was imported (fix them, or skip invalid rows to "
        f"import the valid ones): {shown}{more}."
    )


def _attributes_register(plan: importing.ColumnPlan, kinds: importing.KindTracker) -> dict[str, str | None]:
    """Create or update the CustomerAttribute schema rows; return the kind each key is stored as.

    A column whose kind disagrees with an earlier import is stored as text from then on.
    None means the column had no value at all in this file.
    """
    keys = [a.key for a in plan.attributes]
    existing = {a.key: a for a in CustomerAttribute.objects.filter(key__in=keys)}
    resolved: dict[str, str | None] = {}
    for attr in plan.attributes:
        kind = kinds.kind(attr.key)
        known = existing.get(attr.key)
        if known is None:
            CustomerAttribute.objects.create(key=attr.key, label=attr.header, kind=kind or AttributeKind.TEXT)
        elif kind is not None and kind != known.kind:
            known.kind = AttributeKind.TEXT
            known.save(update_fields=["kind"])
            kind = AttributeKind.TEXT
        resolved[attr.key] = kind
    return resolved


def _update_fields(plan: importing.ColumnPlan) -> list[str]:
    fields = [f for f in importing.CANONICAL_FIELDS if f != "external_id" and f in plan.fields]
    if plan.attributes:
        fields.append("attributes")
    return [*fields, "updated_at"]


class _PostgresSink:
    """COPY the validated rows into a temporary table, then upsert them set-based.

    The temporary table holds text (as validated); casts happen in the final INSERT/UPDATE.
    Concurrent imports are serialised by a SHARE ROW EXCLUSIVE lock (readers are not blocked),
    so new and known ids can be written by a plain INSERT and an UPDATE ... FROM.
    For a large load into a small table (at least BULK_REINDEX_ROWS rows and more rows than the
    table holds) the secondary indexes are dropped and rebuilt in the same transaction, as the
    PostgreSQL manual advises for bulk loads; readers then wait for the import to commit.
    """

    BULK_REINDEX_ROWS = 100_000

    def __init__(self, plan: importing.ColumnPlan) -> None:
        self.plan = plan
        self.table = f"segmenta_import_{uuid.uuid4().hex[:12]}"
        self.cursor = connection.cursor()
        columns = ["row integer", *(f"{name} text" for name in importing.CLEAN_COLUMNS[1:])]
        columns += [f"a_{i} text" for i in range(len(plan.attributes))]
        self.cursor.execute(f"CREATE TEMPORARY TABLE {self.table} ({', '.join(columns)}) ON COMMIT DROP")
        self.copier = _BackgroundCopy(self.cursor)
        self.rows = 0

    def write(self, clean: pd.DataFrame) -> None:
        if not len(clean):
            return
        self.copier.submit(f"COPY {self.table} FROM STDIN (FORMAT csv)", _csv_text(clean))
        self.rows += len(clean)

    def flush(self) -> None:
        self.copier.wait()

    def finish(self, plan: importing.ColumnPlan, kinds: dict[str, str | None]) -> tuple[int, int, list[int]]:
        target = connection.ops.quote_name(Customer._meta.db_table)
        cursor = self.cursor
        cursor.execute(f"LOCK TABLE {target} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute("SET LOCAL work_mem = '256MB'")  # the joins below hash the whole file in memory
        if self.rows >= self.BULK_REINDEX_ROWS:
            cursor.execute(f"ANALYZE {self.table}")  # good join plans for large files
        cursor.execute(f"SELECT count(*) FROM {self.table} s JOIN {target} c ON c.external_id = s.external_id")
        updated = cursor.fetchone()[0]
        added = self.rows - updated
        values = {
            "gender": "s.gender",
            "age": "round(NULLIF(s.age, '')::float8)::smallint",
            "annual_income": "NULLIF(s.annual_income, '')::float8",
            "spending_score": "NULLIF(s.spending_score, '')::float8",
            "attributes": self._attributes_sql(plan, kinds),
            "updated_at": "statement_timestamp()",
        }
        ids: list[int] = []
        if updated:
            # Rows whose values do not change are left alone (no new row version, no index
            # churn, updated_at kept): re-importing the same file is cheap.
            columns, news = [], []
            for name in _update_fields(plan):
                if name == "updated_at":
                    continue
                if name == "attributes":
                    keys = ", ".join(f"'{a.key}'" for a in plan.attributes)
                    news.append(f"(c.attributes - ARRAY[{keys}]::text[]) || n.attributes")
                else:
                    news.append(f"n.{name}")
                columns.append(name)
            selected = ", ".join(f"{values[name]} AS {name}" for name in columns)
            cursor.execute(
                f"UPDATE {target} AS c SET "
                + ", ".join(f"{name} = {new}" for name, new in zip(columns, news, strict=True))
                + (", " if columns else "")
                + "updated_at = statement_timestamp() "
                f"FROM (SELECT s.external_id{', ' if columns else ''}{selected} FROM {self.table} s) n "
                "WHERE c.external_id = n.external_id"
                + (
                    f" AND ({', '.join(f'c.{name}' for name in columns)}, NULL) IS DISTINCT FROM "
                    f"({', '.join(news)}, NULL)"
                    if columns
                    else " AND false"
                )
                + " RETURNING c.id"
            )
            ids.extend(row[0] for row in cursor.fetchall())
        if added:
            reindex = self._bulk_indexes(target, added)
            for drop, _create in reindex:
                cursor.execute(drop)
            new_only = (
                f" WHERE NOT EXISTS (SELECT 1 FROM {target} c WHERE c.external_id = s.external_id)" if updated else ""
            )
            cursor.execute(
                f"INSERT INTO {target} "
                "(external_id, gender, age, annual_income, spending_score, attributes, created_at, updated_at) "
                f"SELECT s.external_id, s.gender, {values['age']}, {values['annual_income']}, "
                f"{values['spending_score']}, {values['attributes']}, statement_timestamp(), statement_timestamp() "
                f"FROM {self.table} s{new_only} RETURNING id"
            )
            ids.extend(row[0] for row in cursor.fetchall())
            if reindex:
                cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
                for _drop, create in reindex:
                    cursor.execute(create)
        return added, updated, ids

    def _attributes_sql(self, plan: importing.ColumnPlan, kinds: dict[str, str | None]) -> str:
        pairs = []
        for i, attr in enumerate(plan.attributes):
            kind = kinds.get(attr.key)
            if kind is None:
                continue
            value = f"NULLIF(s.a_{i}, '')"
            if kind == AttributeKind.NUMBER:
                value += "::float8"
            pairs.append(f"'{attr.key}', {value}")  # keys are [a-z0-9_] (header_snake_case)
        if not pairs:
            return "'{}'::jsonb"
        # jsonb_build_object takes at most 100 arguments: build in groups and concatenate.
        groups = [pairs[i : i + 40] for i in range(0, len(pairs), 40)]
        return "jsonb_strip_nulls(" + " || ".join(f"jsonb_build_object({', '.join(g)})" for g in groups) + ")"

    def _bulk_indexes(self, target: str, added: int) -> list[tuple[str, str]]:
        """(drop, create) statements of the indexes to rebuild after a bulk load; none for a small import.

        Secondary indexes and the unique constraint on external_id are rebuilt; the primary key
        stays. Uniqueness holds meanwhile: ids are unique within the file, only ids not yet
        in the table are inserted, and the lock keeps other writers out until commit.
        """
        if added < self.BULK_REINDEX_ROWS:
            return []
        cursor = self.cursor
        # Worth it only when the table holds fewer rows than are being added (bounded count).
        cursor.execute(f"SELECT count(*) FROM (SELECT 1 FROM {target} LIMIT %s) t", [added])
        if cursor.fetchone()[0] >= added:
            return []
        return _index_statements(cursor)

    def close(self) -> None:
        self.copier.close()
        try:
            if connection.needs_rollback or connection.connection is None:
                return
            self.cursor.execute(f"DROP TABLE IF EXISTS {self.table}")
        except Exception:  # noqa: BLE001 - the transaction is being rolled back; ON COMMIT DROP remains
            pass
        finally:
            self.cursor.close()


def _index_statements(cursor: Any) -> list[tuple[str, str]]:
    """(drop, create) statements of the customer table's unique constraints and secondary indexes.

    The primary key stays. Used around bulk loads, as the PostgreSQL manual advises.
    """
    table = Customer._meta.db_table
    target = connection.ops.quote_name(table)
    quote = connection.ops.quote_name
    statements: list[tuple[str, str]] = []
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
        "AND contype = 'u' ORDER BY conname",
        [table],
    )
    for name, definition in cursor.fetchall():
        statements.append(
            (
                f"ALTER TABLE {target} DROP CONSTRAINT {quote(name)}",
                f"ALTER TABLE {target} ADD CONSTRAINT {quote(name)} {definition}",
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
        statements.append((f"DROP INDEX {quote(name)}", definition))
    return statements


def _csv_text(frame: pd.DataFrame) -> str:
    """The rows of a frame of text cells as CSV for COPY ("" is written as an empty, NULL, field)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(zip(*(frame[c].tolist() for c in frame.columns), strict=True))
    return buffer.getvalue()


class _FirstLoadAbandoned(Exception):
    """The first-load COPY cannot store the file as the staging path would: read it again that way."""


class _PostgresLoadSink:
    """First load into an empty customer table: COPY the validated rows straight into it.

    The attributes JSON is built per chunk (per distinct value, not per cell) with the kind each
    column has so far, exactly as the SQL of `_PostgresSink` would store it: numbers as JSON
    numbers (PostgreSQL's float8 -> jsonb), text and dates as strings, empty cells left out. A
    column written as numbers that ends up text raises `_FirstLoadAbandoned` at the end.
    For a large file the secondary indexes and the unique constraint are dropped before the
    first row and rebuilt at the end, in the same transaction; uniqueness holds meanwhile, as
    ids are unique within the file, the table was empty and the lock keeps other writers out.
    """

    BULK_REINDEX_BYTES = 4_000_000  # about 100,000 mall-style rows

    def __init__(self, plan: importing.ColumnPlan, kinds: importing.KindTracker, *, file_size: int) -> None:
        self.plan = plan
        self.kinds = kinds
        self.file_size = file_size
        self.cursor = connection.cursor()
        self.cursor.execute("SELECT statement_timestamp()")
        self.now = self.cursor.fetchone()[0]
        self.known = dict(
            CustomerAttribute.objects.filter(key__in=[a.key for a in plan.attributes]).values_list("key", "kind")
        )
        self.as_number: set[str] = set()
        self.as_string: set[str] = set()
        self.reindex: list[tuple[str, str]] | None = None
        self.copier = _BackgroundCopy(self.cursor)
        self.rows = 0

    def write(self, clean: pd.DataFrame) -> None:
        if not len(clean):
            return
        if self.reindex is None:
            bulk = self.file_size >= self.BULK_REINDEX_BYTES or len(clean) >= _PostgresSink.BULK_REINDEX_ROWS
            self.reindex = _index_statements(self.cursor) if bulk else []
            for drop, _create in self.reindex:
                self.cursor.execute(drop)
            # created_at and updated_at take the time of the import from a default set for the
            # load only (dropped in `finish`, all in this transaction): no timestamp per row to send.
            target = connection.ops.quote_name(Customer._meta.db_table)
            self.cursor.execute(
                f"ALTER TABLE {target} ALTER created_at SET DEFAULT %s::timestamptz, "
                "ALTER updated_at SET DEFAULT %s::timestamptz",
                [self.now, self.now],
            )
        columns = {
            "external_id": _copy_text(clean["external_id"]).to_numpy(),
            "gender": clean["gender"].to_numpy(),
            "age": _whole_text(clean["age"]).to_numpy(),
            "annual_income": _copy_number(clean["annual_income"]).to_numpy(),
            "spending_score": _copy_number(clean["spending_score"]).to_numpy(),
            "attributes": self._attributes_json(clean),
        }
        # COPY's text format built column-wise (one string operation per column, not per cell)
        lines: Any = None
        for values in columns.values():
            lines = values if lines is None else lines + "\t" + values
        target = connection.ops.quote_name(Customer._meta.db_table)
        sql = f"COPY {target} ({', '.join(columns)}) FROM STDIN"
        self.copier.submit(sql, "\n".join(lines.tolist()) + "\n")
        self.rows += len(clean)

    def _attributes_json(self, clean: pd.DataFrame) -> Any:
        """The attributes JSON of each row, escaped for COPY (the string "{}" when no row has any)."""
        fragments: list[tuple[np.ndarray, np.ndarray]] = []
        some_empty = False
        for i, attr in enumerate(self.plan.attributes):
            kind = self.kinds.kind(attr.key)
            known = self.known.get(attr.key)
            if kind is not None and known is not None and kind != known:
                kind = AttributeKind.TEXT  # as `_attributes_register` resolves it
            codes, uniques = pd.factorize(clean[f"a_{i}"])
            if kind is None or (len(uniques) == 1 and uniques[0] == ""):
                continue
            if kind == AttributeKind.NUMBER:
                self.as_number.add(attr.key)
                values = [_json_number(u) for u in uniques]
            else:
                self.as_string.add(attr.key)
                values = [json.dumps(u, ensure_ascii=False) if u else None for u in uniques]
            some_empty = some_empty or None in values
            # escaping for COPY is per character, so the pieces can be escaped one distinct value at a time
            pieces = [_copy_escape(f',"{attr.key}":{v}') if v is not None else "" for v in values]
            fragments.append((np.array(pieces, dtype=object), codes))
        if not fragments:
            return "{}"
        if not some_empty:  # every row has every key: the first one needs no comma
            first, codes = fragments[0]
            fragments[0] = (np.array([piece[1:] for piece in first], dtype=object), codes)
        joined: Any = None
        for pieces, codes in fragments:
            joined = pieces[codes] if joined is None else joined + pieces[codes]
        if some_empty:
            return ("{" + pd.Series(joined).str[1:] + "}").to_numpy()
        return "{" + joined + "}"

    def finish(self, plan: importing.ColumnPlan, kinds: dict[str, str | None]) -> tuple[int, int, list[int]]:
        for key in self.as_number:
            if kinds.get(key) != AttributeKind.NUMBER:
                raise _FirstLoadAbandoned(key)
        for key in self.as_string:
            if kinds.get(key) == AttributeKind.NUMBER:
                raise _FirstLoadAbandoned(key)
        cursor = self.cursor
        target = connection.ops.quote_name(Customer._meta.db_table)
        if self.reindex is not None:
            cursor.execute(f"ALTER TABLE {target} ALTER created_at DROP DEFAULT, ALTER updated_at DROP DEFAULT")
        if self.reindex:
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for _drop, create in self.reindex:
                cursor.execute(create)
        cursor.execute(f"SELECT id FROM {target}")  # the table was empty: every row is new
        ids = [row[0] for row in cursor.fetchall()]
        return self.rows, 0, ids

    def flush(self) -> None:
        self.copier.wait()

    def close(self) -> None:
        self.copier.close()
        self.cursor.close()


class _BackgroundCopy:
    """Run the COPY of one chunk at a time on a worker thread, while the next chunk is read and checked.

    The database works on one chunk while Python prepares the next (at most one chunk waits,
    so memory stays bounded). The connection is used by one thread at a time: `wait` before
    any other statement.
    """

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="customer-import-copy")
        self.pending: Future[None] | None = None

    def submit(self, sql: str, data: str) -> None:
        self.wait()
        self.pending = self.executor.submit(self._copy, sql, data)

    def _copy(self, sql: str, data: str) -> None:
        with self.cursor.copy(sql) as copy:
            copy.write(data)

    def wait(self) -> None:
        """Wait for the chunk in flight; its error, if any, is raised here."""
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        try:
            self.wait()
        except Exception:  # noqa: BLE001 - already failing: the transaction is rolled back
            pass
        finally:
            self.executor.shutdown()


_COPY_NULL = "\\N"
_COPY_SPECIAL = ("\\", "\t", "\n", "\r")


def _whole_text(text: pd.Series) -> pd.Series:
    """Validated whole numbers ("35", " 35 ", "35.0", "" for missing) as integer text for COPY."""
    codes, uniques = pd.factorize(text)
    converted = np.array([str(round(float(u))) if u.strip() else _COPY_NULL for u in uniques], dtype=object)
    return pd.Series(converted[codes], index=text.index)


def _copy_number(text: pd.Series) -> pd.Series:
    """Validated number cells for COPY's text format: "" (missing) becomes NULL."""
    empty = (text == "").to_numpy()
    text = _copy_text(text)
    if empty.any():
        text = pd.Series(np.where(empty, _COPY_NULL, text.to_numpy()), index=text.index)
    return text


def _copy_text(text: pd.Series) -> pd.Series:
    """Text cells escaped for COPY's text format (backslash, tab, newline, carriage return)."""
    joined = "".join(text.tolist())
    if not any(ch in joined for ch in _COPY_SPECIAL):
        return text
    return (
        text.str.replace("\\", "\\\\", regex=False)
        .str.replace("\t", "\\t", regex=False)
        .str.replace("\n", "\\n", regex=False)
        .str.replace("\r", "\\r", regex=False)
    )


def _copy_escape(text: str) -> str:
    """One string escaped for COPY's text format."""
    if not any(ch in text for ch in _COPY_SPECIAL):
        return text
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _json_number(text: str) -> str | None:
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


class _OrmSink:
    """Keep the validated chunks, then upsert with bulk_create(update_conflicts=True) in batches."""

    def __init__(self, plan: importing.ColumnPlan) -> None:
        self.frames: list[pd.DataFrame] = []

    def write(self, clean: pd.DataFrame) -> None:
        if len(clean):
            self.frames.append(clean)

    def flush(self) -> None:
        pass

    def finish(self, plan: importing.ColumnPlan, kinds: dict[str, str | None]) -> tuple[int, int, list[int]]:
        update_fields = _update_fields(plan)
        file_keys = [a.key for a in plan.attributes]
        canonical = [name for name in importing.CANONICAL_FIELDS[1:] if name in plan.fields]
        compared = [*canonical, "attributes"]
        added = updated = 0
        ids: list[int] = []
        for frame in self.frames:
            for start in range(0, len(frame), ORM_BATCH):
                records = frame.iloc[start : start + ORM_BATCH].to_dict("records")
                stored = {
                    row[0]: row[1:]
                    for row in Customer.objects.filter(external_id__in=[r["external_id"] for r in records]).values_list(
                        "external_id", *compared
                    )
                }
                objs = []
                for record in records:
                    values = _attribute_values(record, plan, kinds)
                    old = stored.get(record["external_id"])
                    if old is not None:
                        values = {**{k: v for k, v in old[-1].items() if k not in file_keys}, **values}
                    fields = {"external_id": record["external_id"], "gender": record["gender"]}
                    for name in canonical:
                        if name != "gender":
                            fields[name] = importing.number_value(record[name])
                    if fields.get("age") is not None:
                        fields["age"] = round(fields["age"])
                    fields["attributes"] = values
                    if old is not None and all(
                        fields.get(name, value) == value for name, value in zip(compared, old, strict=True)
                    ):
                        continue  # unchanged: left alone, like on PostgreSQL
                    objs.append(Customer(**fields))
                if objs:
                    Customer.objects.bulk_create(
                        objs, update_conflicts=True, unique_fields=["external_id"], update_fields=update_fields
                    )
                missing = [o.external_id for o in objs if o.pk is None]
                if missing:
                    found = dict(Customer.objects.filter(external_id__in=missing).values_list("external_id", "pk"))
                    for o in objs:
                        if o.pk is None:
                            o.pk = found[o.external_id]
                ids.extend(o.pk for o in objs)
                updated += len(stored)
                added += len(records) - len(stored)
        return added, updated, ids

    def close(self) -> None:
        self.frames = []


def _attribute_values(
    record: dict[str, Any], plan: importing.ColumnPlan, kinds: dict[str, str | None]
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for i, attr in enumerate(plan.attributes):
        kind = kinds.get(attr.key)
        text = record[f"a_{i}"]
        if kind is None or not text:
            continue
        values[attr.key] = importing.number_value(text) if kind == AttributeKind.NUMBER else text
    return values


def _job_record(
    job_fields: dict[str, Any], progress: _Progress, outcome: _Outcome, *, status: str, started: float
) -> ImportJob:
    return ImportJob.objects.create(
        **job_fields,
        status=status,
        file_size=progress.file_size,
        mapping=progress.mapping,
        rows_total=progress.rows_total,
        rows_added=outcome.added,
        rows_updated=outcome.updated,
        rows_rejected=outcome.rejected,
        duration_ms=_elapsed_ms(started),
        rejected_csv=outcome.rejected_csv,
    )


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


@contextmanager
def _binary(file: IO[bytes] | str | os.PathLike) -> Iterator[IO[bytes]]:
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


def _size_of(fh: IO[bytes]) -> int:
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    fh.seek(0)
    return size
