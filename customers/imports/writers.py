"""Writing validated customer rows: three writers, one per situation, with the same interface.

* `FirstLoadWriter` (PostgreSQL, the customer table is empty): COPY straight into the customer
  table, the attributes JSON built per distinct value in pandas. The fast path for the first,
  usually largest, file; for a large file the secondary indexes are dropped and rebuilt.
* `StagingWriter` (PostgreSQL, the table has customers): COPY into a temporary table, then one
  UPDATE ... FROM for known ids and one INSERT ... SELECT for new ones, set-based in SQL. It also
  takes over a first load that `FirstLoadWriter` gives up (`FirstLoadAbandoned`).
* `OrmWriter` (any other database, i.e. SQLite for `make run` and the embedded test setup):
  `bulk_create(update_conflicts=True)` in batches.

All three store the same values: the tests compare them row for row. Each writer gets the
validated chunks with `write`, `flush` waits for COPYs in flight, `finish` writes what is left
and returns (added, updated, ids of the customers added or changed), and `close` releases it
(`service.CustomerWriter`, chosen by `service.writer_for`).
The PostgreSQL statements come from `core.storage`.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection
from psycopg import sql

from core import storage
from customers.imports.columns import CANONICAL_FIELDS, ColumnPlan
from customers.imports.validation import CLEAN_COLUMNS, KindTracker, number_value
from customers.models import AttributeKind, Customer, CustomerAttribute

ORM_BATCH = 500
#: A load of at least this many new rows into a table holding fewer rows rebuilds the indexes after it.
BULK_REINDEX_ROWS = 100_000
#: A first-load file at least this large rebuilds the indexes after it (about 100,000 mall-style rows).
BULK_REINDEX_BYTES = 4_000_000
Kinds = dict[str, str | None]  # attribute key -> kind it is stored as (None: no value in the file)


class FirstLoadAbandoned(Exception):
    """The first-load COPY cannot store the file as the staging writer would: read it again that way."""


def customer_table() -> str:
    return Customer._meta.db_table


def update_fields(plan: ColumnPlan) -> list[str]:
    """The customer fields an import of this file replaces (columns absent from the file are kept)."""
    fields = [f for f in CANONICAL_FIELDS if f != "external_id" and f in plan.fields]
    if plan.attributes:
        fields.append("attributes")
    return [*fields, "updated_at"]


# --------------------------------------------------------------------------- PostgreSQL, staging table


def _cast(name: str) -> sql.Composable:
    """The SQL value of a staged canonical column (staged as validated text, "" for missing)."""
    column = sql.Identifier("s", name)
    if name == "gender":
        return column
    if name == "age":
        return sql.SQL("round(NULLIF({}, '')::float8)::smallint").format(column)
    return sql.SQL("NULLIF({}, '')::float8").format(column)


def _attributes_sql(plan: ColumnPlan, kinds: Kinds) -> sql.Composable:
    """The attributes JSON of a staged row, built in SQL (numbers as JSON numbers, empty cells left out)."""
    pairs: list[sql.Composable] = []
    for i, attr in enumerate(plan.attributes):
        kind = kinds.get(attr.key)
        if kind is None:
            continue
        cast = "::float8" if kind == AttributeKind.NUMBER else ""
        value = sql.SQL("NULLIF({}, ''){}").format(sql.Identifier("s", f"a_{i}"), sql.SQL(cast))
        pairs.append(sql.SQL("{}, {}").format(sql.Literal(attr.key), value))
    if not pairs:
        return sql.SQL("'{}'::jsonb")
    # jsonb_build_object takes at most 100 arguments: build in groups and concatenate.
    groups = [pairs[i : i + 40] for i in range(0, len(pairs), 40)]
    built = sql.SQL(" || ").join(sql.SQL("jsonb_build_object({})").format(sql.SQL(", ").join(g)) for g in groups)
    return sql.SQL("jsonb_strip_nulls({})").format(built)


class StagingWriter:
    """COPY the validated rows into a temporary table, then upsert them set-based.

    The temporary table holds text (as validated); casts happen in the final INSERT/UPDATE.
    Concurrent imports are serialised by a SHARE ROW EXCLUSIVE lock (readers are not blocked),
    so new and known ids can be written by a plain INSERT and an UPDATE ... FROM.
    For a large load into a small table (at least BULK_REINDEX_ROWS rows and more rows than the
    table holds) the secondary indexes are dropped and rebuilt in the same transaction, as the
    PostgreSQL manual advises for bulk loads; readers then wait for the import to commit.
    """

    def __init__(self, plan: ColumnPlan) -> None:
        self.cursor = connection.cursor()
        self.columns = [*CLEAN_COLUMNS[1:], *(f"a_{i}" for i in range(len(plan.attributes)))]
        self.table = storage.staging_table_create(
            self.cursor, columns=[(name, "text") for name in self.columns], prefix="segmenta_import"
        )
        self.statement = storage.copy_statement(table=self.table, columns=self.columns)
        self.copier = storage.BackgroundCopy(self.cursor)
        self.rows = 0

    def write(self, clean: pd.DataFrame) -> None:
        if not len(clean):
            return
        self.copier.submit(self.statement, [clean[name].tolist() for name in self.columns])
        self.rows += len(clean)

    def flush(self) -> None:
        self.copier.wait()

    def finish(self, plan: ColumnPlan, kinds: Kinds) -> tuple[int, int, list[int]]:
        cursor, staged, table = self.cursor, sql.Identifier(self.table), customer_table()
        target = sql.Identifier(table)
        storage.table_lock(cursor, table=table)
        cursor.execute("SET LOCAL work_mem = '256MB'")  # the joins below hash the whole file in memory
        if self.rows >= BULK_REINDEX_ROWS:
            cursor.execute(sql.SQL("ANALYZE {}").format(staged))  # good join plans for large files
        cursor.execute(
            sql.SQL("SELECT count(*) FROM {} s JOIN {} c ON c.external_id = s.external_id").format(staged, target)
        )
        updated = cursor.fetchone()[0]
        added = self.rows - updated
        values = {name: _cast(name) for name in CANONICAL_FIELDS[1:]}
        values["attributes"] = _attributes_sql(plan, kinds)
        ids: list[int] = []
        if updated:
            ids.extend(self._update(plan, values))
        if added:
            bulk = added >= BULK_REINDEX_ROWS and storage.table_has_fewer_rows(cursor, table=table, than=added)
            rebuild = storage.indexes_drop(cursor, table=table) if bulk else []
            new_only = (
                sql.SQL(" WHERE NOT EXISTS (SELECT 1 FROM {} c WHERE c.external_id = s.external_id)").format(target)
                if updated
                else sql.SQL("")
            )
            cursor.execute(
                sql.SQL(
                    "INSERT INTO {target} ({columns}, created_at, updated_at) "
                    "SELECT s.external_id, {values}, statement_timestamp(), statement_timestamp() "
                    "FROM {staged} s{new_only} RETURNING id"
                ).format(
                    target=target,
                    columns=storage.columns_sql(["external_id", *values]),
                    values=sql.SQL(", ").join(values.values()),
                    staged=staged,
                    new_only=new_only,
                )
            )
            ids.extend(row[0] for row in cursor.fetchall())
            storage.indexes_rebuild(cursor, rebuild)
        return added, updated, ids

    def _update(self, plan: ColumnPlan, values: dict[str, sql.Composable]) -> list[int]:
        """Update the known ids; rows whose values do not change are left alone (no new row version,
        no index churn, updated_at kept), so re-importing the same file is cheap."""
        columns = [name for name in update_fields(plan) if name != "updated_at"]
        news: list[sql.Composable] = []
        for name in columns:
            if name == "attributes":
                keys = sql.SQL(", ").join(sql.Literal(a.key) for a in plan.attributes)
                news.append(sql.SQL("(c.attributes - ARRAY[{}]::text[]) || n.attributes").format(keys))
            else:
                news.append(sql.Identifier("n", name))
        assignments = [
            sql.SQL("{} = {}").format(sql.Identifier(name), new) for name, new in zip(columns, news, strict=True)
        ]
        selected = [sql.SQL("{} AS {}").format(values[name], sql.Identifier(name)) for name in columns]
        changed = (
            sql.SQL("({}, NULL) IS DISTINCT FROM ({}, NULL)").format(
                sql.SQL(", ").join(sql.Identifier("c", name) for name in columns), sql.SQL(", ").join(news)
            )
            if columns
            else sql.SQL("false")
        )
        self.cursor.execute(
            sql.SQL(
                "UPDATE {target} AS c SET {assignments} "
                "FROM (SELECT {selected} FROM {staged} s) n "
                "WHERE c.external_id = n.external_id AND {changed} RETURNING c.id"
            ).format(
                target=sql.Identifier(customer_table()),
                assignments=sql.SQL(", ").join([*assignments, sql.SQL("updated_at = statement_timestamp()")]),
                selected=sql.SQL(", ").join([sql.SQL("s.external_id"), *selected]),
                staged=sql.Identifier(self.table),
                changed=changed,
            )
        )
        return [row[0] for row in self.cursor.fetchall()]

    def close(self) -> None:
        """Stop the COPY worker and drop the temporary table (a failed transaction drops it on rollback)."""
        self.copier.close()
        try:
            storage.staging_table_drop(self.cursor, table=self.table)
        finally:
            self.cursor.close()


# --------------------------------------------------------------------------- PostgreSQL, first load


class FirstLoadWriter:
    """First load into an empty customer table: COPY the validated rows straight into it.

    The attributes JSON is built per chunk (per distinct value, not per cell) with the kind each
    column has so far, exactly as the SQL of `StagingWriter` would store it: numbers as JSON
    numbers (PostgreSQL's float8 -> jsonb), text and dates as strings, empty cells left out. A
    column written as numbers that ends up text raises `FirstLoadAbandoned` at the end.
    For a large file the secondary indexes and the unique constraint are dropped before the
    first row and rebuilt at the end, in the same transaction; uniqueness holds meanwhile, as
    ids are unique within the file, the table was empty and the lock keeps other writers out.
    """

    COLUMNS = (*CANONICAL_FIELDS, "attributes")

    def __init__(self, plan: ColumnPlan, kinds: KindTracker, *, file_size: int) -> None:
        self.plan = plan
        self.kinds = kinds
        self.file_size = file_size
        self.cursor = connection.cursor()
        self.cursor.execute("SELECT statement_timestamp()")
        self.now = self.cursor.fetchone()[0]
        keys = [a.key for a in plan.attributes]
        self.known = dict(CustomerAttribute.objects.filter(key__in=keys).values_list("key", "kind"))
        self.as_number: set[str] = set()
        self.as_string: set[str] = set()
        self.rebuild: list[sql.Composed] | None = None  # None until the first rows arrive
        self.statement = storage.copy_statement(table=customer_table(), columns=self.COLUMNS)
        self.copier = storage.BackgroundCopy(self.cursor)
        self.rows = 0

    def _timestamps_default(self, value: Any) -> None:
        """created_at and updated_at take the time of the import from a default set for the load only
        (dropped in `finish`, all in this transaction): no timestamp per row to send."""
        action = sql.SQL("SET DEFAULT %s::timestamptz") if value is not None else sql.SQL("DROP DEFAULT")
        self.cursor.execute(
            sql.SQL("ALTER TABLE {} ALTER created_at {action}, ALTER updated_at {action}").format(
                sql.Identifier(customer_table()), action=action
            ),
            [value, value] if value is not None else None,
        )

    def write(self, clean: pd.DataFrame) -> None:
        if not len(clean):
            return
        if self.rebuild is None:
            bulk = self.file_size >= BULK_REINDEX_BYTES or len(clean) >= BULK_REINDEX_ROWS
            self.rebuild = storage.indexes_drop(self.cursor, table=customer_table()) if bulk else []
            self._timestamps_default(self.now)
        cells = [
            clean["external_id"].tolist(),
            clean["gender"].tolist(),
            storage.whole_numbers(clean["age"]),
            storage.empty_as_null(clean["annual_income"]),
            storage.empty_as_null(clean["spending_score"]),
            self._attributes_json(clean),
        ]
        self.copier.submit(self.statement, cells)
        self.rows += len(clean)

    def _attributes_json(self, clean: pd.DataFrame) -> list[str]:
        """The attributes JSON of each row ("{}" for a row without any), built per distinct value."""
        fragments: list[tuple[np.ndarray, np.ndarray]] = []
        some_empty = False
        for i, attr in enumerate(self.plan.attributes):
            kind = self.kinds.kind(attr.key)
            known = self.known.get(attr.key)
            if kind is not None and known is not None and kind != known:
                kind = AttributeKind.TEXT  # as `attributes.attributes_register` resolves it
            codes, uniques = pd.factorize(clean[f"a_{i}"])
            if kind is None or (len(uniques) == 1 and uniques[0] == ""):
                continue
            if kind == AttributeKind.NUMBER:
                self.as_number.add(attr.key)
                values = [storage.jsonb_number_text(u) for u in uniques]
            else:
                self.as_string.add(attr.key)
                values = [json.dumps(u, ensure_ascii=False) if u else None for u in uniques]
            some_empty = some_empty or None in values
            pieces = [f',"{attr.key}":{v}' if v is not None else "" for v in values]
            fragments.append((np.array(pieces, dtype=object), codes))
        if not fragments:
            return ["{}"] * len(clean)
        if not some_empty:  # every row has every key: the first one needs no comma
            first, codes = fragments[0]
            fragments[0] = (np.array([piece[1:] for piece in first], dtype=object), codes)
        joined: np.ndarray = fragments[0][0][fragments[0][1]]
        for pieces, codes in fragments[1:]:
            joined = joined + pieces[codes]
        if some_empty:
            return ("{" + pd.Series(joined).str[1:] + "}").tolist()
        return ("{" + joined + "}").tolist()

    def flush(self) -> None:
        self.copier.wait()

    def finish(self, plan: ColumnPlan, kinds: Kinds) -> tuple[int, int, list[int]]:
        for key in self.as_number:
            if kinds.get(key) != AttributeKind.NUMBER:
                raise FirstLoadAbandoned(key)
        for key in self.as_string:
            if kinds.get(key) == AttributeKind.NUMBER:
                raise FirstLoadAbandoned(key)
        if self.rebuild is not None:
            self._timestamps_default(None)
            storage.indexes_rebuild(self.cursor, self.rebuild)
        # the table was empty: every row is new
        self.cursor.execute(sql.SQL("SELECT id FROM {}").format(sql.Identifier(customer_table())))
        return self.rows, 0, [row[0] for row in self.cursor.fetchall()]

    def close(self) -> None:
        self.copier.close()
        self.cursor.close()


# --------------------------------------------------------------------------- other databases


class OrmWriter:
    """Keep the validated chunks, then upsert with bulk_create(update_conflicts=True) in batches."""

    def __init__(self) -> None:
        self.frames: list[pd.DataFrame] = []

    def write(self, clean: pd.DataFrame) -> None:
        if len(clean):
            self.frames.append(clean)

    def flush(self) -> None:
        """Nothing in flight: the rows are written in `finish`."""

    def finish(self, plan: ColumnPlan, kinds: Kinds) -> tuple[int, int, list[int]]:
        fields_updated = update_fields(plan)
        file_keys = [a.key for a in plan.attributes]
        canonical = [name for name in CANONICAL_FIELDS[1:] if name in plan.fields]
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
                            fields[name] = number_value(record[name])
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
                        objs, update_conflicts=True, unique_fields=["external_id"], update_fields=fields_updated
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


def _attribute_values(record: dict[str, Any], plan: ColumnPlan, kinds: Kinds) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for i, attr in enumerate(plan.attributes):
        kind = kinds.get(attr.key)
        text = record[f"a_{i}"]
        if kind is None or not text:
            continue
        values[attr.key] = number_value(text) if kind == AttributeKind.NUMBER else text
    return values
