"""Writing validated order lines, set-based: customers, products and orders in bulk upserts, then the
lines by COPY on PostgreSQL (`core.storage`) or `bulk_create` elsewhere (SQLite).

Re-importing an order id replaces its lines: the order row is updated and its old lines deleted before
the new ones are written. Customers unknown to the table are created with their external id only
(profile columns can be imported before or after).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.db import connection

from core import storage
from customers.models import Customer
from customers.orders.models import Order, OrderLine, Product

ORM_BATCH = 1000
COPY_CHUNK = 100_000
#: A load of at least this many lines into a table holding fewer rebuilds the line indexes after it.
BULK_REINDEX_LINES = 200_000
LINE_COLUMNS = (
    "order_id",
    "line_number",
    "product_id",
    "description",
    "quantity",
    "unit_price",
    "amount",
    "is_return",
    "is_non_product",
)


@dataclass(frozen=True)
class Written:
    customers_created: list[int]
    orders: int
    orders_replaced: int
    products: int


def _lookup_batch() -> int:
    return 20_000 if connection.vendor == "postgresql" else 900


def _pk_map(model: type, field: str, values: Iterable[str]) -> dict[str, int]:
    """{value: pk} for the rows of `model` whose `field` is one of `values` (looked up in batches)."""
    values = list(values)
    found: dict[str, int] = {}
    step = _lookup_batch()
    for start in range(0, len(values), step):
        batch = values[start : start + step]
        found.update(model.objects.filter(**{f"{field}__in": batch}).values_list(field, "pk"))
    return found


def customers_ensure(ids: list[str]) -> tuple[dict[str, int], list[int]]:
    """{external id: pk} for `ids`, creating the unknown ones; and the pks created."""
    known = _pk_map(Customer, "external_id", ids)
    missing = [i for i in ids if i not in known]
    if not missing:
        return known, []
    Customer.objects.bulk_create(
        (Customer(external_id=i) for i in missing), batch_size=ORM_BATCH, ignore_conflicts=True
    )
    created = _pk_map(Customer, "external_id", missing)
    known.update(created)
    return known, list(created.values())


def products_upsert(lines: pd.DataFrame) -> dict[str, int]:
    """Upsert a product per code: its latest non-empty description and latest sale price."""
    coded = lines[lines["product_code"] != ""]
    if coded.empty:
        return {}
    ordered = coded.sort_values("ordered_at", kind="stable")
    descriptions = ordered[ordered["description"] != ""].groupby("product_code")["description"].last()
    sold = ordered[(ordered["quantity"] > 0) & ordered["unit_price"].notna()]
    prices = sold.groupby("product_code")["unit_price"].last()
    codes = pd.unique(coded["product_code"])
    products = [
        Product(
            code=code,
            description=descriptions.get(code, "")[:255],
            last_price=float(prices[code]) if code in prices.index else None,
        )
        for code in codes
    ]
    Product.objects.bulk_create(
        products,
        batch_size=ORM_BATCH,
        update_conflicts=True,
        unique_fields=["code"],
        update_fields=["description", "last_price"],
    )
    return _pk_map(Product, "code", codes)


def orders_upsert(lines: pd.DataFrame, customer_pks: dict[str, int]) -> tuple[dict[str, int], int]:
    """Upsert one order per order id (customer and country of its first line, earliest time, net amount).

    Returns {order id: pk} and how many of them existed (their lines are replaced)."""
    grouped = lines.groupby("order_id", sort=False)
    summary = grouped.agg(
        customer_id=("customer_id", "first"),
        ordered_at=("ordered_at", "min"),
        country=("country", "first"),
        is_cancellation=("is_cancellation", "any"),
        amount=("amount", "sum"),
        line_count=("amount", "size"),
    )
    order_ids = summary.index.tolist()
    existing = _pk_map(Order, "order_id", order_ids)
    orders = [
        Order(
            order_id=order_id,
            customer_id=customer_pks.get(customer) if customer else None,
            ordered_at=ordered_at.to_pydatetime(),
            country=country,
            is_cancellation=bool(cancelled),
            amount=float(amount),
            line_count=int(count),
        )
        for order_id, customer, ordered_at, country, cancelled, amount, count in summary.itertuples(name=None)
    ]
    Order.objects.bulk_create(
        orders,
        batch_size=ORM_BATCH,
        update_conflicts=True,
        unique_fields=["order_id"],
        update_fields=["customer", "ordered_at", "country", "is_cancellation", "amount", "line_count"],
    )
    if existing:
        pks = list(existing.values())
        step = _lookup_batch()
        for start in range(0, len(pks), step):
            OrderLine.objects.filter(order_id__in=pks[start : start + step]).delete()
    return _pk_map(Order, "order_id", order_ids), len(existing)


def lines_write(lines: pd.DataFrame) -> Written:
    """Write every validated line (LINE_COLUMNS of `validation`) and what they refer to."""
    customer_ids = pd.unique(lines.loc[lines["customer_id"] != "", "customer_id"]).tolist()
    customer_pks, created = customers_ensure(customer_ids)
    product_pks = products_upsert(lines)
    order_pks, replaced = orders_upsert(lines, customer_pks)
    columns = _line_columns(lines, order_pks, product_pks)
    if connection.vendor == "postgresql":
        _lines_copy(columns, len(lines))
    else:
        _lines_bulk_create(columns)
    return Written(
        customers_created=created, orders=len(order_pks), orders_replaced=replaced, products=len(product_pks)
    )


def _line_columns(lines: pd.DataFrame, order_pks: dict[str, int], product_pks: dict[str, int]) -> list[list]:
    order = lines["order_id"].map(order_pks).astype("int64")
    product = lines["product_code"].map(product_pks)
    unit_price = lines["unit_price"].astype(object).where(lines["unit_price"].notna(), None)
    return [
        order.tolist(),
        (lines.groupby("order_id", sort=False).cumcount() + 1).tolist(),
        [None if np.isnan(p) else int(p) for p in product.astype("float64").tolist()],
        lines["description"].tolist(),
        lines["quantity"].astype("float64").tolist(),
        unit_price.tolist(),
        lines["amount"].astype("float64").tolist(),
        lines["is_return"].astype(bool).tolist(),
        lines["is_non_product"].astype(bool).tolist(),
    ]


def _lines_copy(columns: list[list], count: int) -> None:
    table = OrderLine._meta.db_table
    statement = storage.copy_statement(table=table, columns=LINE_COLUMNS)
    with connection.cursor() as cursor:
        creates = []
        if count >= BULK_REINDEX_LINES and storage.table_has_fewer_rows(cursor, table=table, than=count):
            creates = storage.indexes_drop(cursor, table=table)
        background = storage.BackgroundCopy(cursor)
        try:
            for start in range(0, count, COPY_CHUNK):
                background.submit(statement, [c[start : start + COPY_CHUNK] for c in columns])
            background.wait()
        finally:
            background.close()
        if creates:
            # the foreign keys are checked at commit (deferred); check them now, so the table can be altered
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            storage.indexes_rebuild(cursor, creates)


def _lines_bulk_create(columns: list[list]) -> None:
    rows = zip(*columns, strict=True)
    batch: list[OrderLine] = []
    for order, number, product, description, quantity, unit_price, amount, is_return, non_product in rows:
        batch.append(
            OrderLine(
                order_id=order,
                line_number=number,
                product_id=product,
                description=description,
                quantity=quantity,
                unit_price=unit_price,
                amount=amount,
                is_return=is_return,
                is_non_product=non_product,
            )
        )
        if len(batch) >= ORM_BATCH:
            OrderLine.objects.bulk_create(batch)
            batch = []
    if batch:
        OrderLine.objects.bulk_create(batch)
