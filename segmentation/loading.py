"""Customers from the database into the engine's DataFrame, set-based.

The frame is indexed by the customer primary key (index name ``id``) and holds one column
per requested feature, named canonically (``gender``, ``age``, ``annual_income``,
``spending_score`` or a numeric attribute key). Only the needed columns are read:
on PostgreSQL, when every feature is numeric, with one binary COPY ordered by id whose fixed-width
rows numpy reads in place (a missing value is sent as NaN, which is what the engine sees as missing);
with a text feature (gender) with one query returning each column as a binary array per block of ids (the
aggregates of one group see the rows in the same order, so the arrays line up; COPY would hand
the rows to Python one by one, ~15 s per million), elsewhere with one ``values_list`` query (also for a
subset of customers, e.g. the new ones to assign).
Never a query per customer.

Every customer is read, with NaN where it lacks a feature: who is a member is the engine's one rule
(`segmentation.ml.features.members_mask`: `drop` needs every feature, an imputing policy more than half
of them), applied the same way to a run's fit and to the new customers assigned after it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from django.db import connection, transaction
from django.db.models import QuerySet
from django.db.models.fields.json import KT
from psycopg import sql

from customers.models import AttributeKind, Customer, CustomerAttribute
from segmentation.ml.fields import CANONICAL_FEATURES


def model_float64(value: Any) -> Any:
    """A fitted model read back from JSON with every number a float64-safe Python float.

    PostgreSQL's jsonb keeps numbers as `numeric` and gives them back without an exponent, so a
    1e308 (or any value past 9.2e18) comes back as a Python int too big for int64, and numpy then
    makes an object array whose arithmetic fails (TypeError). Integers of any size become floats
    here, except inside lists of names; booleans and text stay as they are.
    """
    if isinstance(value, dict):
        return {k: model_float64(v) for k, v in value.items()}
    if isinstance(value, list):
        return [model_float64(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return float(value)
    return value


def features_available() -> list[str]:
    """Every feature name a segmentation may use: canonical fields, then numeric attributes."""
    keys = CustomerAttribute.objects.filter(kind=AttributeKind.NUMBER).order_by("key").values_list("key", flat=True)
    return list(CANONICAL_FEATURES) + [k for k in keys if k not in CANONICAL_FEATURES]


def customers_frame(*, features: Sequence[str], customer_ids: QuerySet | None = None) -> pd.DataFrame:
    """The feature columns of every customer (or of `customer_ids`, a queryset of ids)."""
    features = list(dict.fromkeys(features))
    canonical = [f for f in features if f in CANONICAL_FEATURES]
    attributes = [f for f in features if f not in CANONICAL_FEATURES]
    if connection.vendor == "postgresql" and customer_ids is None and "gender" not in canonical:
        df = _frame_postgres_numeric(canonical=canonical, attributes=attributes)
    elif connection.vendor == "postgresql" and customer_ids is None:
        df = _frame_postgres(canonical=canonical, attributes=attributes)
    else:
        df = _frame_orm(canonical=canonical, attributes=attributes, customer_ids=customer_ids)
    for col in features:
        if col != "gender" and df[col].dtype != "float64":  # kept as is: one contiguous block from PostgreSQL
            df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    return df if list(df.columns) == features else df[features]


def _frame_orm(*, canonical: list[str], attributes: list[str], customer_ids: QuerySet | None) -> pd.DataFrame:
    qs = Customer.objects.order_by()
    if customer_ids is not None:
        qs = qs.filter(pk__in=customer_ids)
    annotations = {f"attr__{key}": KT(f"attributes__{key}") for key in attributes}
    qs = qs.annotate(**annotations)
    columns = ["id", *canonical, *annotations]
    rows = qs.values_list(*columns)
    df = pd.DataFrame.from_records(list(rows), columns=["id", *canonical, *attributes])
    return df.set_index("id")


def _frame_postgres(*, canonical: list[str], attributes: list[str], chunk: int = 250_000) -> pd.DataFrame:
    """One query returning each column as a binary array per block of ids: no Python work per row."""
    table = Customer._meta.db_table
    columns = [sql.SQL("array_agg(id)")]
    for col in canonical:
        columns.append(sql.SQL("array_agg({c})").format(c=sql.Identifier(col)))
    for key in attributes:
        # Numbers are stored as JSON numbers; anything else becomes missing rather than failing the cast.
        columns.append(
            sql.SQL(
                "array_agg(CASE WHEN jsonb_typeof(attributes -> {k}) = 'number' THEN (attributes ->> {k})::float8 END)"
            ).format(k=sql.Literal(key))
        )
    query = sql.SQL("SELECT {cols} FROM {table} GROUP BY id / {chunk} ORDER BY id / {chunk}").format(
        cols=sql.SQL(", ").join(columns), table=sql.Identifier(table), chunk=sql.Literal(chunk)
    )
    names = [*canonical, *attributes]
    parts: dict[str, list] = {name: [] for name in ["id", *names]}
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(query, binary=True)
        for row in cursor:
            parts["id"].append(np.asarray(row[0], dtype=np.int64))
            for name, values in zip(names, row[1:], strict=True):
                kind = object if name == "gender" else np.float64
                parts[name].append(np.asarray(values, dtype=kind))
    if not parts["id"]:
        return pd.DataFrame(
            {name: pd.Series(dtype=object if name == "gender" else "float64") for name in names},
            index=pd.Index([], name="id", dtype="int64"),
        )
    data = {name: np.concatenate(parts[name]) for name in names}
    return pd.DataFrame(data, index=pd.Index(np.concatenate(parts["id"]), name="id"))


def _frame_postgres_numeric(
    *,
    canonical: list[str],
    attributes: list[str],
    chunk: int = 5_000_000,
    workers: int = 2,
    parallel_from: int = 200_000,
) -> pd.DataFrame:
    """Numeric features only: one query, each column sent as ONE binary string of big-endian float8.

    `string_agg(float8send(x), '')` per block of ids gives a bytea that numpy reads in place, with no
    Python object per value (a binary COPY would hand the rows to Python one by one, and an array
    column becomes a Python list of floats). NULL is sent as NaN, which is what the engine sees as
    missing; the aggregates of one query see the rows in the same order, so the columns line up.
    One plain aggregate (a seq scan, no sort: a GROUP BY would sort the whole table, spilling to disk)
    per range of `chunk` ids keeps every string far below PostgreSQL's 1 GB limit; one range up to
    five million customers. The frame comes out sorted by id with its values in one contiguous block.

    From `parallel_from` ids on, and outside a transaction, the ranges are read by `workers`
    connections at once (PostgreSQL runs one aggregate per core; measured ~1.8x faster on two cores),
    all in ONE snapshot: this connection exports it in a REPEATABLE READ transaction and the others
    adopt it, so the frame is exactly what a single query would have read.
    """
    table = Customer._meta.db_table
    columns = [sql.SQL("string_agg(int8send(id), '')")]
    for col in canonical:
        columns.append(
            sql.SQL("string_agg(float8send(COALESCE({c}::float8, 'NaN')), '')").format(c=sql.Identifier(col))
        )
    for key in attributes:
        # Numbers are stored as JSON numbers; anything else becomes missing rather than failing the cast.
        columns.append(
            sql.SQL(
                "string_agg(float8send(COALESCE(CASE WHEN jsonb_typeof(attributes -> {k}) = 'number' "
                "THEN (attributes ->> {k})::float8 END, 'NaN')), '')"
            ).format(k=sql.Literal(key))
        )
    names = [*canonical, *attributes]
    query = sql.SQL("SELECT {cols} FROM {table} WHERE id >= %s AND id < %s").format(
        cols=sql.SQL(", ").join(columns), table=sql.Identifier(table)
    )
    bounds_query = sql.SQL("SELECT min(id), max(id) FROM {table}").format(table=sql.Identifier(table))

    def read(conn: psycopg.Connection, ranges: list[tuple[int, int]]) -> list[tuple]:
        with psycopg.Cursor(conn) as cursor:
            found = []
            for lo, hi in ranges:
                cursor.execute(query, [lo, hi], binary=True)
                row = cursor.fetchone()
                if row[0] is not None:
                    found.append(row)
            return found

    connection.ensure_connection()
    if workers < 2 or connection.in_atomic_block:
        with psycopg.Cursor(connection.connection) as cursor:
            low, high = cursor.execute(bounds_query).fetchone()
        blocks = read(connection.connection, _id_ranges(low, high, chunk=chunk, parts=1))
    else:
        with transaction.atomic(), psycopg.Cursor(connection.connection) as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            low, high = cursor.execute(bounds_query).fetchone()
            parts = workers if low is not None and high - low >= parallel_from else 1
            ranges = _id_ranges(low, high, chunk=chunk, parts=parts)
            if parts == 1:
                blocks = read(connection.connection, ranges)
            else:
                (snapshot,) = cursor.execute("SELECT pg_export_snapshot()").fetchone()
                blocks = _read_in_snapshot(read=read, ranges=ranges, snapshot=snapshot, workers=workers)
    n = sum(len(block[0]) // 8 for block in blocks)
    ids = np.empty(n, dtype=np.int64)
    values = np.empty((n, len(names)), dtype=np.float64)
    at = 0
    for block in blocks:
        size = len(block[0]) // 8
        ids[at : at + size] = np.frombuffer(block[0], dtype=">i8")
        for i, column in enumerate(block[1:]):
            values[at : at + size, i] = np.frombuffer(column, dtype=">f8")
        at += size
    del blocks
    if n and not (ids[1:] > ids[:-1]).all():
        order = np.argsort(ids, kind="stable")
        ids, values = ids[order], values[order]
    return pd.DataFrame(values, index=pd.Index(ids, name="id"), columns=names)


def _id_ranges(low: int | None, high: int | None, *, chunk: int, parts: int) -> list[tuple[int, int]]:
    """Half-open id ranges covering low..high: at most `chunk` ids each, at least `parts` of them."""
    if low is None or high is None:
        return []
    span = high - low + 1
    count = max(parts, -(-span // chunk))
    edges = [low + span * i // count for i in range(count)] + [high + 1]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def _read_in_snapshot(
    *,
    read: Callable[[psycopg.Connection, list[tuple[int, int]]], list[tuple]],
    ranges: list[tuple[int, int]],
    snapshot: str,
    workers: int,
) -> list[tuple]:
    """`read` the ranges on this connection and `workers - 1` others, all in the exported `snapshot`."""
    info = connection.connection.info
    others = []
    try:
        for _ in range(workers - 1):
            other = psycopg.connect(info.dsn, password=info.password or None)
            other.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            other.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
            others.append(other)
        conns = [connection.connection, *others]
        shares = [ranges[i :: len(conns)] for i in range(len(conns))]
        with ThreadPoolExecutor(max_workers=len(conns)) as pool:
            results = list(pool.map(read, conns, shares))
    finally:
        for other in others:
            other.close()
    blocks = [block for result in results for block in result]
    blocks.sort(key=lambda block: int.from_bytes(block[0][:8], "big", signed=True))  # back in id order
    return blocks
