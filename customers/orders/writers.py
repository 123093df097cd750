"""Writing validated order lines: what both databases share and SQLite's path.

* PostgreSQL COPYs the lines straight into their table as the file is read: `copy_writer.LineCopyWriter`.
* SQLite (`lines_write`): the simpler path, the whole file's lines in one DataFrame, ORM bulk writes.

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

from customers.models import Customer
from customers.orders.models import Order, OrderLine, Product

ORM_BATCH = 1000
ORDER_COLUMNS = ["order_id", "customer", "ordered_at", "country", "is_cancellation", "amount", "line_count"]
ORDER_STAGING = [
    ("order_id", "text"),
    ("customer_id", "bigint"),
    ("ordered_at", "timestamptz"),
    ("country", "text"),
    ("is_cancellation", "boolean"),
    ("amount", "float8"),
    ("line_count", "integer"),
]
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
    """Upsert one order per order id (customer and country of its first line, earliest time, net amount)
    and delete the old lines of the orders that existed (they are replaced).

    Returns {order id: pk} and how many orders existed."""
    grouped = lines.groupby("order_id", sort=False)
    summary = grouped.agg(
        customer_id=("customer_id", "first"),
        ordered_at=("ordered_at", "min"),
        country=("country", "first"),
        is_cancellation=("is_cancellation", "any"),
        amount=("amount", "sum"),
        line_count=("amount", "size"),
    )
    customers = summary["customer_id"].map(customer_pks)
    columns = [
        summary.index.tolist(),
        [None if np.isnan(c) else int(c) for c in customers.astype("float64").tolist()],
        summary["ordered_at"].dt.tz_convert("UTC").astype(object).tolist(),
        summary["country"].tolist(),
        summary["is_cancellation"].astype(bool).tolist(),
        summary["amount"].astype("float64").tolist(),
        summary["line_count"].astype(int).tolist(),
    ]
    order_ids = columns[0]
    existing = _pk_map(Order, "order_id", order_ids)
    orders = [
        Order(
            order_id=order_id,
            customer_id=customer,
            ordered_at=ordered_at,
            country=country,
            is_cancellation=cancelled,
            amount=amount,
            line_count=count,
        )
        for order_id, customer, ordered_at, country, cancelled, amount, count in zip(*columns, strict=True)
    ]
    Order.objects.bulk_create(
        orders,
        batch_size=ORM_BATCH,
        update_conflicts=True,
        unique_fields=["order_id"],
        update_fields=ORDER_COLUMNS[1:],
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
