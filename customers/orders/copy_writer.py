"""PostgreSQL: order lines COPYed straight into their table while the file is read, in the import's transaction.

The lines are written once. Each validated chunk is turned into the line table's own rows, which needs
the pk of each line's order and product before they are written:

* orders: the pk of an order id already in the table (its old lines deleted when it is first seen: a
  re-import replaces them), else one reserved from the orders' sequence; the order rows themselves are
  upserted at the end from per-order aggregates kept in memory (customer and country of the first line,
  earliest time, net amount, line count; bounded by orders, not lines);
* products: created when first seen, their latest description and sale price set at the end;
* customers: the ids named are kept; the unknown ones are created at the end.

The rows go to PostgreSQL as CSV written by pyarrow (no Python object per cell) on a background thread
while the next chunk is read and checked. The line's foreign keys are checked at commit (Django's are
deferred); a large file into a line table not much larger drops the lines' indexes and foreign keys before
its first chunk and rebuilds them after the last (checked in one pass, not per line), as the PostgreSQL
manual advises. One order import writes at a time (a transaction-level advisory lock), so two imports
never reserve two pks for one new order id. Everything is one transaction: a refused file, a failure or
a dry run leaves the tables as they were.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from django.db import connection, transaction
from psycopg import sql

from core import storage
from customers.orders import references
from customers.orders.models import Order, OrderLine, Product
from customers.orders.writers import LINE_COLUMNS, Written

#: A file of at least this many bytes (lines estimated at `BYTES_PER_LINE`) drops the lines' indexes and foreign
#: keys while it loads, into a line table ...
BULK_BYTES = 16 * 1024 * 1024
BYTES_PER_LINE = 100
#: ... and holding fewer than this many times the file's lines: rebuilding the indexes and checking the foreign
#: keys once costs about a microsecond per stored line, keeping them up to date ten per line loaded (a foreign-key
#: check per line at commit, twice).
BULK_TABLE_FACTOR = 4
#: Lines per order guessed for the same decision about the orders table.
ORDER_LINES_GUESS = 10
#: An order import holds this advisory lock (transaction-level) from its first write to its commit.
ADVISORY_LOCK = 0x5E6_0AD5
#: Memory for the hash joins, aggregates and index builds of one import's set-based statements.
WORK_MEM = "256MB"


class LineCopyWriter:
    """Writes the lines of one import as they are read (call inside the import's transaction)."""

    def __init__(self, *, file_size: int) -> None:
        self.cursor = connection.cursor()
        self.file_size = file_size
        self.cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK])
        self.cursor.execute(sql.SQL("SET LOCAL work_mem = {}").format(sql.Literal(WORK_MEM)))
        self.savepoint = transaction.savepoint()
        self.statement = storage.copy_statement(table=OrderLine._meta.db_table, columns=LINE_COLUMNS, format="csv")
        self.statement_with_ids = storage.copy_statement(
            table=OrderLine._meta.db_table, columns=["id", *LINE_COLUMNS], format="csv"
        )
        self.background = storage.BackgroundCopy(self.cursor)
        self._forget()

    def _forget(self) -> None:
        self.order_pks: dict[str, int] = {}
        self.orders_existing = 0
        self.line_counts: dict[str, int] = {}
        self.product_pks: dict[str, int] = {}
        self.customer_ids: set[str] = set()
        self.order_parts: list[pd.DataFrame] = []
        self.descriptions: dict[str, tuple[int, int, Any]] = {}  # code: (time, row, value), the latest
        self.prices: dict[str, tuple[int, int, Any]] = {}
        self.rebuilds: list[sql.Composed] | None = None  # None: not decided yet
        self.lines_before = 0  # a large load: the highest line id before it
        self.next_line_id = 0  # a large load: the id of its next line
        self.next_order_id = 0  # a first load: the id of its next order (else 0)
        self.replaced_pks: list[int] = []  # a large load: the orders whose old lines go at the end
        self.lines = 0

    def add(self, lines: pd.DataFrame) -> None:
        """Queue the COPY of one chunk of validated lines (`validation.LINE_COLUMNS`).

        Everything is done while the chunk before is still being COPYed, but the queries for order and
        product pks not seen before (which wait for it); the CSV is written on a thread of its own."""
        if not len(lines):
            return
        order_codes, order_ids = pd.factorize(lines["order_id"])
        product_codes, product_ids = pd.factorize(lines["product_code"])
        line_number = self._line_numbers(order_codes, order_ids)
        ordered_us = (
            lines["ordered_at"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[us]").astype("int64")
        )
        self._products_track(lines, product_codes, product_ids, ordered_us)
        self.customer_ids.update(pd.unique(lines["customer_id"]).tolist())
        self._orders_track(lines, order_codes, order_ids, line_number, ordered_us)
        price = lines["unit_price"].to_numpy(dtype=np.float64)
        rest = [
            pa.array(line_number, type=pa.int32()),
            None,  # the product pk, below
            pa.array(lines["description"].to_numpy(dtype=object), type=pa.string()),
            pa.array(lines["quantity"].to_numpy(dtype=np.float64)),
            pa.array(price, mask=np.isnan(price)),  # no price: NULL
            pa.array(lines["amount"].to_numpy(dtype=np.float64)),
            pa.array(lines["is_return"].to_numpy(dtype=bool)),
            pa.array(lines["is_non_product"].to_numpy(dtype=bool)),
        ]
        if self.rebuilds is None:
            self.background.wait()
            self.rebuilds = self._bulk_prepare()
        order_pk = self._order_pks(order_codes, order_ids)
        product_pk = self._product_pks(product_codes, product_ids)
        rest[1] = pa.array(product_pk, type=pa.int64(), mask=product_pk < 0)
        arrays = [pa.array(order_pk, type=pa.int64()), *rest]
        statement, names = self.statement, list(LINE_COLUMNS)
        if self.rebuilds:  # a large load numbers its lines itself (the table is this import's until it commits)
            arrays.insert(0, pa.array(np.arange(self.next_line_id, self.next_line_id + len(lines), dtype=np.int64)))
            self.next_line_id += len(lines)
            statement, names = self.statement_with_ids, ["id", *LINE_COLUMNS]
        self.lines += len(lines)
        self.background.submit_built(statement, lambda: storage.csv_bytes(arrays, names))

    def wait(self) -> None:
        """Wait for the chunk in flight (before any other statement on the connection)."""
        self.background.wait()

    def reset(self) -> None:
        """Undo every line added (the file is read again from the start)."""
        self.background.wait()
        transaction.savepoint_rollback(self.savepoint)
        self.savepoint = transaction.savepoint()
        self._forget()

    def close(self) -> None:
        """Stop the background COPY (the transaction's outcome is the caller's)."""
        self.background.close()
        self.cursor.close()

    # ------------------------------------------------------------------------------------------ while reading

    def _bulk_prepare(self) -> list[sql.Composed]:
        """Before a large load into a smaller line table, drop the lines' indexes and foreign keys (and the
        orders' secondary indexes and customer key, when that table is smaller too); the rebuilds."""
        lines, orders = OrderLine._meta.db_table, Order._meta.db_table
        expected = self.file_size // BYTES_PER_LINE
        if self.file_size < BULK_BYTES or not storage.table_has_fewer_rows(
            self.cursor, table=lines, than=expected * BULK_TABLE_FACTOR
        ):
            return []
        self.cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # a table with pending checks cannot be altered
        rebuilds = [
            *storage.indexes_drop(self.cursor, table=lines),
            *storage.foreign_keys_drop(self.cursor, table=lines),
        ]
        # The table is locked (ACCESS EXCLUSIVE, by the drops) until this import commits: nobody else adds a
        # line meanwhile, so the lines take ids from the sequence's next value on (set past them at the end),
        # without a sequence call per line (a third of the COPY's time).
        self.cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [lines])
        self.next_line_id = self.cursor.fetchone()[0]
        self.cursor.execute(sql.SQL("SELECT coalesce(max(id), 0) FROM {}").format(sql.Identifier(lines)))
        self.lines_before = self.cursor.fetchone()[0]
        self.next_line_id = max(self.next_line_id, self.lines_before + 1)
        if storage.table_has_fewer_rows(self.cursor, table=orders, than=expected // ORDER_LINES_GUESS):
            # (the upsert's key, order_id, stays)
            rebuilds += [
                *storage.indexes_drop(self.cursor, table=orders, unique=False),
                *storage.foreign_keys_drop(self.cursor, table=orders),
            ]
        storage.table_lock(self.cursor, table=orders)  # other writers wait until this import commits
        if storage.table_is_empty(self.cursor, table=orders):
            # a first load: no order id can exist, the orders take ids from the sequence's next value on
            self.cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [orders])
            self.next_order_id = self.cursor.fetchone()[0]
        self.cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        return rebuilds

    def _line_numbers(self, codes: np.ndarray, uniques: np.ndarray) -> np.ndarray:
        """Each line's number within its order (`codes` index the chunk's order ids `uniques`), going on
        from the chunks before."""
        counts = self.line_counts
        before = np.fromiter((counts.get(u, 0) for u in uniques), dtype=np.int64, count=len(uniques))
        within = pd.Series(codes).groupby(codes, sort=False).cumcount().to_numpy()
        added = np.bincount(codes, minlength=len(uniques))
        counts.update(zip(uniques.tolist(), (before + added).tolist(), strict=True))
        return before[codes] + within + 1

    def _order_pks(self, codes: np.ndarray, uniques: np.ndarray) -> np.ndarray:
        """Each line's order pk: an existing order's (its old lines deleted now), else a reserved one."""
        known = self.order_pks
        new = [u for u in uniques.tolist() if u not in known]
        if new and self.next_order_id:  # a first load (`_bulk_prepare`): every order is new, numbered here
            known.update(zip(new, range(self.next_order_id, self.next_order_id + len(new)), strict=True))
            self.next_order_id += len(new)
        elif new:
            self.background.wait()  # the connection is this thread's again
            orders = sql.Identifier(Order._meta.db_table)
            self.cursor.execute(sql.SQL("SELECT order_id, id FROM {} WHERE order_id = ANY(%s)").format(orders), [new])
            existing = dict(self.cursor.fetchall())
            if existing:
                if self.rebuilds:  # no index to find them by: deleted in one pass at the end
                    self.replaced_pks.extend(existing.values())
                else:  # before the new lines, which take the same (order, line number)
                    self._old_lines_delete(list(existing.values()))
                self.orders_existing += len(existing)
                known.update(existing)
            fresh = [u for u in new if u not in existing]
            if fresh:
                self.cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                    [Order._meta.db_table, len(fresh)],
                )
                known.update(zip(fresh, (pk for (pk,) in self.cursor.fetchall()), strict=True))
        pks = np.fromiter((known[u] for u in uniques.tolist()), dtype=np.int64, count=len(uniques))
        return pks[codes]

    def _old_lines_delete(self, order_pks: list[int], *, before: int | None = None) -> None:
        """Delete the stored lines of the orders `order_pks` (only those with an id up to `before`, if given:
        the lines this import wrote come after)."""
        lines = sql.Identifier(OrderLine._meta.db_table)
        if before is None:  # found by the (order, line number) index
            self.cursor.execute(sql.SQL("DELETE FROM {} WHERE order_id = ANY(%s)").format(lines), [order_pks])
            return
        # no index on the lines meanwhile: one pass, the orders hashed
        self.cursor.execute(
            sql.SQL(
                "DELETE FROM {} l USING unnest(%s::bigint[]) AS r(order_pk) "
                "WHERE l.order_id = r.order_pk AND l.id <= %s"
            ).format(lines),
            [order_pks, before],
        )

    def _product_pks(self, codes: np.ndarray, uniques: np.ndarray) -> np.ndarray:
        """Each line's product pk (-1: no product code); a product seen for the first time is created."""
        known = self.product_pks
        new = [u for u in uniques.tolist() if u and u not in known]
        if new:
            self.background.wait()  # the connection is this thread's again
            products = sql.Identifier(Product._meta.db_table)
            self.cursor.execute(
                sql.SQL(
                    "INSERT INTO {} (code, description) SELECT unnest(%s::text[]), '' ON CONFLICT (code) DO NOTHING"
                ).format(products),
                [new],
            )
            self.cursor.execute(sql.SQL("SELECT code, id FROM {} WHERE code = ANY(%s)").format(products), [new])
            known.update(self.cursor.fetchall())
        pks = np.fromiter((known.get(u, -1) for u in uniques.tolist()), dtype=np.int64, count=len(uniques))
        return pks[codes]

    def _orders_track(
        self,
        lines: pd.DataFrame,
        codes: np.ndarray,
        uniques: np.ndarray,
        line_number: np.ndarray,
        ordered_us: np.ndarray,
    ) -> None:
        """Per order of the chunk: customer and country of its first line (if in this chunk), earliest time,
        any cancellation, amount and line count (combined over chunks by `_orders_aggregate`)."""
        first = line_number == 1
        frame = pd.DataFrame(
            {
                "code": codes,
                "customer_id": np.where(first, lines["customer_id"].to_numpy(dtype=object), None),
                "country": np.where(first, lines["country"].to_numpy(dtype=object), None),
                "ordered_us": ordered_us,
                "is_cancellation": lines["is_cancellation"].to_numpy(dtype=bool),
                "amount": lines["amount"].to_numpy(dtype=np.float64),
            }
        )
        part = references.orders_aggregate(frame, key="code", count="size")
        part.index = uniques[part.index.to_numpy()]
        part.index.name = "order_id"
        self.order_parts.append(part.reset_index())

    def _products_track(
        self, lines: pd.DataFrame, codes: np.ndarray, uniques: np.ndarray, ordered_us: np.ndarray
    ) -> None:
        """Each product's latest non-empty description and latest sale price (by time, then row)."""
        row = lines["row"].to_numpy(dtype=np.int64)
        description = lines["description"].to_numpy(dtype=object)
        price = lines["unit_price"].to_numpy(dtype=np.float64)
        coded = lines["product_code"].to_numpy(dtype=object) != ""
        described = coded & (description != "")
        sold = coded & (lines["quantity"].to_numpy(dtype=np.float64) > 0) & ~np.isnan(price)
        for latest, mask, values in ((self.descriptions, described, description), (self.prices, sold, price)):
            _latest_merge(latest, uniques, codes[mask], ordered_us[mask], row[mask], values[mask])

    # ------------------------------------------------------------------------------------------ at the end

    def write(self) -> Written:
        """Customers, products and orders of the lines written; the lines' indexes rebuilt after a large load."""
        self.background.wait()
        if not self.lines:
            return Written([], 0, 0, 0)
        created = references.customers_create(self.cursor, ids=sorted(self.customer_ids - {""}))
        products = references.products_update(
            self.cursor,
            codes=sorted(self.product_pks),
            descriptions={code: value for code, (_, _, value) in self.descriptions.items()},
            prices={code: value for code, (_, _, value) in self.prices.items()},
        )
        summary = references.orders_aggregate(
            pd.concat(self.order_parts, ignore_index=True), key="order_id", count="sum"
        )
        summary.insert(0, "id", summary.index.map(self.order_pks).astype(np.int64))
        orders = references.orders_upsert(self.cursor, summary=summary)
        if self.replaced_pks:
            self._old_lines_delete(self.replaced_pks, before=self.lines_before)
        if self.rebuilds:
            for table, next_id in (
                (OrderLine._meta.db_table, self.next_line_id),
                (Order._meta.db_table, self.next_order_id),
            ):
                if next_id:  # the sequence past the ids taken
                    self.cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, next_id - 1])
            storage.indexes_rebuild(self.cursor, self.rebuilds)
            # the planner's statistics of both tables are stale (behaviour reads them next)
            self.cursor.execute(
                sql.SQL("ANALYZE {}, {}").format(
                    sql.Identifier(OrderLine._meta.db_table), sql.Identifier(Order._meta.db_table)
                )
            )
        return Written(
            customers_created=created, orders=orders, orders_replaced=self.orders_existing, products=products
        )


def _latest_merge(
    latest: dict[str, tuple[int, int, Any]],
    uniques: np.ndarray,
    codes: np.ndarray,
    us: np.ndarray,
    rows: np.ndarray,
    values: np.ndarray,
) -> None:
    """Keep in `latest` each code's (time, row, value) latest by time, then row (`codes` index `uniques`): the
    chunk's own latest per code (one sort), merged with what earlier chunks found."""
    if not len(codes):
        return
    order = np.lexsort((rows, us, codes))  # by code, then time, then row: each code's last is its latest
    ordered = codes[order]
    last = order[np.r_[ordered[1:] != ordered[:-1], True]]
    for code, when, row, value in zip(
        uniques[codes[last]].tolist(), us[last].tolist(), rows[last].tolist(), values[last].tolist(), strict=True
    ):
        known = latest.get(code)
        if known is None or (when, row) >= known[:2]:
            latest[code] = (when, row, value)
