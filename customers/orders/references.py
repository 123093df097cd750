"""What an import's lines refer to, written at its end (PostgreSQL, in the import's transaction, set-based):
the customers it names created, the products' latest descriptions and prices, the orders upserted from
per-order totals. `copy_writer.LineCopyWriter.write` calls them in that order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from django.db import connection
from django.utils import timezone
from psycopg import sql

from core import storage
from customers.models import Customer
from customers.orders.models import Order, Product
from customers.orders.writers import ORDER_STAGING

ORDER_SUMMARY_COLUMNS = (
    ("id", "bigint"),
    ("order_id", "text"),
    ("customer_id", "text"),
    ("ordered_us", "bigint"),  # microseconds since 1970-01-01 UTC
    ("country", "text"),
    ("is_cancellation", "boolean"),
    ("amount", "float8"),
    ("line_count", "integer"),
)
PRODUCT_STAGE_COLUMNS = (("code", "text"), ("description", "text"), ("last_price", "float8"))


def orders_aggregate(frame: pd.DataFrame, *, key: str, count: str) -> pd.DataFrame:
    """Per `key` (an order): first customer and country given, earliest time, any cancellation, amount, line
    count (`count` "size" counts the frame's lines, "sum" adds the `line_count` of partial aggregates)."""
    grouped = frame.groupby(key, sort=False)
    summary = grouped.agg(
        customer_id=("customer_id", "first"),
        country=("country", "first"),
        ordered_us=("ordered_us", "min"),
        is_cancellation=("is_cancellation", "any"),
        amount=("amount", "sum"),
    )
    summary["line_count"] = grouped.size() if count == "size" else grouped["line_count"].sum()
    return summary


def products_update(cursor: Any, *, codes: list[str], descriptions: dict[str, str], prices: dict[str, float]) -> int:
    """Set the latest description and sale price of the products `codes` (created while the lines were read);
    a product keeps its own when this file has none for it. Returns how many."""
    if not codes:
        return 0
    staged = storage.staging_table_create(cursor, columns=PRODUCT_STAGE_COLUMNS, prefix="segmenta_products")
    storage.copy_rows(
        cursor,
        statement=storage.copy_statement(table=staged, columns=[name for name, _ in PRODUCT_STAGE_COLUMNS]),
        columns=[codes, [descriptions.get(c, "")[:255] for c in codes], [prices.get(c) for c in codes]],
    )
    cursor.execute(
        sql.SQL(
            "UPDATE {products} p SET description = CASE WHEN s.description <> '' THEN s.description "
            "ELSE p.description END, last_price = COALESCE(s.last_price, p.last_price) "
            "FROM {staged} s WHERE p.code = s.code"
        ).format(products=sql.Identifier(Product._meta.db_table), staged=sql.Identifier(staged))
    )
    storage.staging_table_drop(cursor, table=staged)
    return len(codes)


def orders_upsert(cursor: Any, *, summary: pd.DataFrame) -> int:
    """Upsert one order per row of `summary` (index: order id; its `id` the pk its lines carry; customer by external
    id); an existing order keeps its pk. Returns how many."""
    summary_name = storage.staging_table_create(cursor, columns=ORDER_SUMMARY_COLUMNS, prefix="segmenta_order_summary")
    names = [name for name, _ in ORDER_SUMMARY_COLUMNS]
    arrays = [
        pa.array(summary["id"].to_numpy(dtype=np.int64)),
        pa.array(summary.index.to_numpy(dtype=object), type=pa.string()),
        pa.array(summary["customer_id"].fillna("").to_numpy(dtype=object), type=pa.string()),
        pa.array(summary["ordered_us"].to_numpy(dtype=np.int64)),
        pa.array(summary["country"].fillna("").to_numpy(dtype=object), type=pa.string()),
        pa.array(summary["is_cancellation"].to_numpy(dtype=bool)),
        pa.array(summary["amount"].to_numpy(dtype=np.float64)),
        pa.array(summary["line_count"].to_numpy(dtype=np.int64)),
    ]
    storage.copy_write(
        cursor,
        statement=storage.copy_statement(table=summary_name, columns=names, format="csv"),
        data=storage.csv_bytes(arrays, names),
    )
    table = Order._meta.db_table
    names = ["id", *(name for name, _kind in ORDER_STAGING)]
    updates = sql.SQL(", ").join(
        sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(name), sql.Identifier(name)) for name in names[2:]
    )
    cursor.execute(
        sql.SQL(
            "INSERT INTO {orders} ({columns}) "
            "SELECT s.id, s.order_id, c.id, "
            "timestamptz '1970-01-01 00:00:00+00' + s.ordered_us * interval '1 microsecond', "
            "s.country, s.is_cancellation, s.amount, s.line_count FROM {summary} s "
            "LEFT JOIN {customers} c ON c.external_id = s.customer_id AND s.customer_id <> '' "
            "ON CONFLICT (order_id) DO UPDATE SET {updates}"
        ).format(
            orders=sql.Identifier(table),
            columns=storage.columns_sql(names),
            summary=sql.Identifier(summary_name),
            customers=sql.Identifier(Customer._meta.db_table),
            updates=updates,
        )
    )
    storage.staging_table_drop(cursor, table=summary_name)
    return len(summary)


def customers_create(cursor: Any, *, ids: list[str]) -> list[int]:
    """Create the customers of `ids` (those the lines name) the table lacks (their fields' defaults); their pks.

    The columns and values come from the model, so a field added later with a default is filled too."""
    if not ids:
        return []
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
