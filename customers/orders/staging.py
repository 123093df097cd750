"""PostgreSQL: validated order lines streamed into a staging table, then written set-based.

Each validated chunk is COPied into a temporary staging table as it is read (memory bounded by the
chunk, not the file); then, in the import's transaction, a few statements write everything:
customers created (INSERT ... SELECT DISTINCT ... ON CONFLICT DO NOTHING), products upserted, one
order per order id aggregated and upserted (ON CONFLICT DO UPDATE), the replaced orders' old lines
deleted, and the lines inserted joined to their order and product (INSERT ... SELECT). A large load
into a smaller table rebuilds the lines' indexes and foreign keys after it, as the PostgreSQL manual
advises.
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from django.db import connection
from django.utils import timezone
from psycopg import sql
from pyarrow import csv as pa_csv

from core import storage
from customers.models import Customer
from customers.orders.models import Order, OrderLine, Product
from customers.orders.writers import LINE_COLUMNS, ORDER_STAGING, Written

#: A load of at least this many lines into a table holding fewer rebuilds the line indexes after it.
BULK_REINDEX_LINES = 200_000

#: The staging table's columns: each validated line, numbered within its order as read.
STAGE_COLUMNS = (
    ("line_number", "integer"),
    ("order_id", "text"),
    ("customer_id", "text"),
    ("ordered_us", "bigint"),  # microseconds since 1970-01-01 UTC
    ("product_code", "text"),
    ("description", "text"),
    ("quantity", "float8"),
    ("unit_price", "float8"),  # NaN: no price (NULL in the line)
    ("amount", "float8"),
    ("country", "text"),
    ("is_return", "boolean"),
    ("is_cancellation", "boolean"),
    ("is_non_product", "boolean"),
)
PRODUCT_STAGE_COLUMNS = (("code", "text"), ("description", "text"), ("last_price", "float8"))
#: Memory for the hash joins, aggregates and index builds of one import's set-based statements.
WORK_MEM = "256MB"


class LineStage:
    """PostgreSQL: validated lines streamed chunk by chunk into a temporary staging table (COPY on a
    background thread while the next chunk is read), then written by a few set-based statements
    (`write`, in the caller's transaction).

    The staging table lives for the session (a killed process leaves nothing behind) and is filled
    outside the import's transaction, so the import's progress stays visible to the page meanwhile;
    `close` drops it. Python keeps only what is bounded by orders, customers and products, not by
    lines: each order's line count so far (line numbers continue across chunks), the customer ids
    named, and each product's latest description and sale price. The staged customer and country
    are those of each order's first line only (the order's; the other lines' are empty).
    """

    def __init__(self) -> None:
        self.cursor = connection.cursor()
        self.table = f"segmenta_order_stage_{uuid.uuid4().hex[:12]}"
        # inside a caller's transaction (tests, an outer atomic block) the table goes with it
        on_commit = " ON COMMIT DROP" if connection.in_atomic_block else ""
        definitions = sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind)) for name, kind in STAGE_COLUMNS
        )
        self.cursor.execute(
            sql.SQL("CREATE TEMPORARY TABLE {} ({})" + on_commit).format(sql.Identifier(self.table), definitions)
        )
        self.statement = storage.copy_statement(
            table=self.table, columns=[name for name, _ in STAGE_COLUMNS], format="csv"
        )
        self.background = storage.BackgroundCopy(self.cursor)
        self.line_counts: dict[str, int] = {}
        self.product_codes: set[str] = set()
        self.customer_ids: set[str] = set()
        self.descriptions: pd.DataFrame | None = None
        self.prices: pd.DataFrame | None = None
        self.lines = 0

    def add(self, lines: pd.DataFrame) -> None:
        """Queue the COPY of one chunk of validated lines (`validation.LINE_COLUMNS`)."""
        if not len(lines):
            return
        line_number = self._line_numbers(lines["order_id"])
        ordered_us = (
            lines["ordered_at"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[us]").astype("int64")
        )
        self._products_track(lines, ordered_us)
        self.customer_ids.update(pd.unique(lines["customer_id"]).tolist())
        first = line_number == 1
        columns = {
            "line_number": line_number.astype(np.int64, copy=False),
            "order_id": lines["order_id"],
            "customer_id": np.where(first, lines["customer_id"].to_numpy(dtype=object), ""),
            "ordered_us": ordered_us,
            "product_code": lines["product_code"],
            "description": lines["description"],
            "quantity": lines["quantity"].to_numpy(dtype=np.float64),
            "unit_price": lines["unit_price"].to_numpy(dtype=np.float64),  # NaN: no price
            "amount": lines["amount"].to_numpy(dtype=np.float64),
            "country": np.where(first, lines["country"].to_numpy(dtype=object), ""),
            "is_return": lines["is_return"].to_numpy(dtype=bool),
            "is_cancellation": lines["is_cancellation"].to_numpy(dtype=bool),
            "is_non_product": lines["is_non_product"].to_numpy(dtype=bool),
        }
        self.lines += len(lines)
        self.background.submit_data(self.statement, _csv_bytes(columns))

    def wait(self) -> None:
        """Wait for the chunk in flight (before any other statement on the connection)."""
        self.background.wait()

    def reset(self) -> None:
        """Empty the staging table and forget what was added (the file is read again from the start)."""
        self.background.wait()
        self.cursor.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(self.table)))
        self.line_counts, self.product_codes, self.customer_ids = {}, set(), set()
        self.descriptions = self.prices = None
        self.lines = 0

    def _line_numbers(self, order_ids: pd.Series) -> np.ndarray:
        codes, uniques = pd.factorize(order_ids)
        counts = self.line_counts
        before = np.fromiter((counts.get(u, 0) for u in uniques), dtype=np.int64, count=len(uniques))
        within = pd.Series(codes).groupby(codes, sort=False).cumcount().to_numpy()
        added = np.bincount(codes, minlength=len(uniques))
        counts.update(zip(uniques.tolist(), (before + added).tolist(), strict=True))
        return before[codes] + within + 1

    def _products_track(self, lines: pd.DataFrame, ordered_us: np.ndarray) -> None:
        """Each product's latest non-empty description and latest sale price (by time, then row)."""
        coded = (lines["product_code"] != "").to_numpy()
        if not coded.any():
            return
        base = pd.DataFrame(
            {
                "code": lines["product_code"].to_numpy()[coded],
                "us": ordered_us[coded],
                "row": lines["row"].to_numpy()[coded],
            }
        )
        self.product_codes.update(pd.unique(base["code"]).tolist())
        description = lines["description"].to_numpy()[coded]
        price = lines["unit_price"].to_numpy(dtype="float64")[coded]
        described = description != ""
        sold = (lines["quantity"].to_numpy()[coded] > 0) & ~np.isnan(price)
        self.descriptions = _latest(self.descriptions, base[described].assign(value=description[described]))
        self.prices = _latest(self.prices, base[sold].assign(value=price[sold]))

    def write(self) -> Written:
        """Customers, products, orders and lines from the staging table (call in a transaction)."""
        self.background.wait()
        cursor, stage = self.cursor, sql.Identifier(self.table)
        cursor.execute(sql.SQL("SET LOCAL work_mem = {}").format(sql.Literal(WORK_MEM)))
        cursor.execute(sql.SQL("ANALYZE {}").format(stage))
        created = _customers_create(cursor, ids=sorted(self.customer_ids - {""}))
        products = self._products_write(cursor)
        orders, replaced = _orders_write(cursor, stage=stage)
        _lines_insert(cursor, stage=stage, count=self.lines)
        return Written(customers_created=created, orders=orders, orders_replaced=replaced, products=products)

    def _products_write(self, cursor) -> int:  # noqa: ANN001
        if not self.product_codes:
            return 0
        codes = sorted(self.product_codes)
        descriptions = _values(self.descriptions)
        prices = _values(self.prices)
        staging = storage.staging_table_create(cursor, columns=PRODUCT_STAGE_COLUMNS, prefix="segmenta_products")
        storage.copy_rows(
            cursor,
            statement=storage.copy_statement(table=staging, columns=[name for name, _ in PRODUCT_STAGE_COLUMNS]),
            columns=[
                codes,
                [descriptions.get(code, "")[:255] for code in codes],
                [prices.get(code) for code in codes],
            ],
        )
        cursor.execute(
            sql.SQL(
                "INSERT INTO {products} (code, description, last_price) SELECT code, description, last_price "
                "FROM {staged} ON CONFLICT (code) DO UPDATE SET description = EXCLUDED.description, "
                "last_price = EXCLUDED.last_price"
            ).format(products=sql.Identifier(Product._meta.db_table), staged=sql.Identifier(staging))
        )
        storage.staging_table_drop(cursor, table=staging)
        return len(codes)

    def close(self) -> None:
        """Stop the background COPY and drop the staging table (nothing to do after a failed transaction)."""
        self.background.close()
        try:
            storage.staging_table_drop(self.cursor, table=self.table)
        finally:
            self.cursor.close()


def _csv_bytes(columns: dict[str, Any]) -> bytes:
    """The staged lines as CSV for COPY, written by pyarrow (no Python object per cell); text is always
    quoted, so an empty text is '' and not NULL."""
    arrays = [
        pa.array(np.asarray(values, dtype=object), type=pa.string()) if kind == "text" else pa.array(np.asarray(values))
        for (name, kind), values in ((column, columns[column[0]]) for column in STAGE_COLUMNS)
    ]
    out = pa.BufferOutputStream()
    pa_csv.write_csv(
        pa.Table.from_arrays(arrays, names=[name for name, _ in STAGE_COLUMNS]),
        out,
        pa_csv.WriteOptions(include_header=False, quoting_style="needed"),
    )
    return out.getvalue().to_pybytes()


def _latest(known: pd.DataFrame | None, new: pd.DataFrame) -> pd.DataFrame:
    """Per code, the row (code, us, row, value) latest by time then row, of `known` and `new` (rows after known's)."""
    frame = new if known is None else pd.concat([known, new], ignore_index=True)
    latest = frame["us"].to_numpy() == frame.groupby("code", sort=False)["us"].transform("max").to_numpy()
    return frame[latest].groupby("code", sort=False).last().reset_index()


def _values(latest: pd.DataFrame | None) -> dict:
    return {} if latest is None else dict(zip(latest["code"].tolist(), latest["value"].tolist(), strict=True))


def _customers_create(cursor, *, ids: list[str]) -> list[int]:  # noqa: ANN001
    """Create the customers of `ids` (those the lines name) the table lacks (their fields' defaults); their pks.

    The columns and values come from the model, so a field added later with a default is filled too."""
    fields = [f for f in Customer._meta.concrete_fields if not f.primary_key and f.name != "external_id"]
    now = timezone.now()
    names, values = [sql.Identifier("external_id")], [sql.SQL("s.customer_id")]
    params: list[object] = []
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            value = now
        elif field.has_default():
            value = field.get_default()
        elif field.null:
            continue
        else:
            raise ValueError(f"Customer.{field.name} has no default: customers cannot be created from order lines")
        names.append(sql.Identifier(field.column))
        values.append(sql.Placeholder())
        params.append(field.get_db_prep_save(value, connection))
    if not ids:
        return []
    staged = storage.staging_table_create(cursor, columns=(("customer_id", "text"),), prefix="segmenta_customers")
    storage.copy_rows(cursor, statement=storage.copy_statement(table=staged, columns=["customer_id"]), columns=[ids])
    cursor.execute(
        sql.SQL(
            "INSERT INTO {customers} ({names}) SELECT {values} FROM {staged} s "
            "ORDER BY s.customer_id ON CONFLICT (external_id) DO NOTHING RETURNING id"
        ).format(
            customers=sql.Identifier(Customer._meta.db_table),
            names=sql.SQL(", ").join(names),
            values=sql.SQL(", ").join(values),
            staged=sql.Identifier(staged),
        ),
        params,
    )
    created = sorted(pk for (pk,) in cursor.fetchall())
    storage.staging_table_drop(cursor, table=staged)
    return created


def _orders_write(cursor, *, stage: sql.Identifier) -> tuple[int, int]:  # noqa: ANN001
    """One order per staged order id (customer and country of its first line, earliest time, net amount,
    line count), upserted; the lines of the orders that existed deleted (they are replaced).

    Returns how many orders were written and how many of them existed."""
    orders = sql.Identifier(Order._meta.db_table)
    summary_name = f"segmenta_order_summary_{uuid.uuid4().hex[:12]}"
    summary = sql.Identifier(summary_name)
    cursor.execute(
        sql.SQL(
            "CREATE TEMPORARY TABLE {summary} ON COMMIT DROP AS "
            "SELECT s.order_id, c.id AS customer_id, "
            "timestamptz '1970-01-01 00:00:00+00' + s.ordered_us * interval '1 microsecond' AS ordered_at, "
            "s.country, s.is_cancellation, s.amount, s.line_count FROM ("
            "  SELECT order_id, max(customer_id) FILTER (WHERE line_number = 1) AS customer_id, "
            "  min(ordered_us) AS ordered_us, max(country) FILTER (WHERE line_number = 1) AS country, "
            "  bool_or(is_cancellation) AS is_cancellation, sum(amount) AS amount, count(*) AS line_count "
            "  FROM {stage} GROUP BY order_id"
            ") s LEFT JOIN {customers} c ON c.external_id = s.customer_id AND s.customer_id <> ''"
        ).format(summary=summary, stage=stage, customers=sql.Identifier(Customer._meta.db_table))
    )
    written = cursor.rowcount
    cursor.execute(sql.SQL("ANALYZE {}").format(summary))
    cursor.execute(
        sql.SQL("SELECT count(*) FROM {orders} o JOIN {summary} s ON o.order_id = s.order_id").format(
            orders=orders, summary=summary
        )
    )
    existing = cursor.fetchone()[0]
    if existing:
        cursor.execute(
            sql.SQL(
                "DELETE FROM {lines} l USING {orders} o, {summary} s "
                "WHERE l.order_id = o.id AND o.order_id = s.order_id"
            ).format(lines=sql.Identifier(OrderLine._meta.db_table), orders=orders, summary=summary)
        )
    names = [name for name, _kind in ORDER_STAGING]
    updates = sql.SQL(", ").join(
        sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(name), sql.Identifier(name)) for name in names[1:]
    )
    creates: list[sql.Composed] = []
    if written >= BULK_REINDEX_LINES // 4 and storage.table_has_fewer_rows(
        cursor, table=Order._meta.db_table, than=written
    ):  # a large load: the secondary indexes and the customer key rebuilt after it (the upsert's key stays)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        table = Order._meta.db_table
        creates = [*storage.indexes_drop(cursor, table=table, unique=False), *_foreign_keys_drop(cursor, table=table)]
    cursor.execute(
        sql.SQL(
            "INSERT INTO {orders} ({columns}) SELECT {columns} FROM {summary} "
            "ON CONFLICT (order_id) DO UPDATE SET {updates}"
        ).format(orders=orders, columns=storage.columns_sql(names), summary=summary, updates=updates)
    )
    storage.indexes_rebuild(cursor, creates)
    storage.staging_table_drop(cursor, table=summary_name)
    return written, existing


def _lines_insert(cursor, *, stage: sql.Identifier, count: int) -> None:  # noqa: ANN001
    """Every staged line, joined to its order and product; a large load into a smaller table drops the
    lines' indexes and foreign keys first and rebuilds them after (checked in one pass, not per line)."""
    table = OrderLine._meta.db_table
    creates: list[sql.Composed] = []
    if count >= BULK_REINDEX_LINES and storage.table_has_fewer_rows(cursor, table=table, than=count):
        # (the orders' own deferred checks run first: a table with pending checks cannot be altered)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        creates = [*storage.indexes_drop(cursor, table=table), *_foreign_keys_drop(cursor, table=table)]
    cursor.execute(
        sql.SQL(
            "INSERT INTO {lines} ({columns}) "
            "SELECT o.id, s.line_number, p.id, s.description, s.quantity, NULLIF(s.unit_price, 'NaN'), "
            "s.amount, s.is_return, s.is_non_product "
            "FROM {stage} s JOIN {orders} o ON o.order_id = s.order_id "
            "LEFT JOIN {products} p ON p.code = s.product_code"
        ).format(
            lines=sql.Identifier(table),
            columns=storage.columns_sql(LINE_COLUMNS),
            stage=stage,
            orders=sql.Identifier(Order._meta.db_table),
            products=sql.Identifier(Product._meta.db_table),
        )
    )
    storage.indexes_rebuild(cursor, creates)
    if creates:  # a large load: the planner's statistics of both tables are stale (behaviour reads them next)
        cursor.execute(sql.SQL("ANALYZE {}, {}").format(sql.Identifier(table), sql.Identifier(Order._meta.db_table)))


def _foreign_keys_drop(cursor, *, table: str) -> list[sql.Composed]:  # noqa: ANN001
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
