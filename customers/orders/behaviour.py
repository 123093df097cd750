"""Each customer's purchase behaviour, computed in the database as of a day, stored as derived attributes.

    result = behaviour_compute(as_of=date(2011, 12, 9))

One aggregation, in one pass over the product lines joined to their orders grouped by customer (the shape
of a hand-written R/F/M GROUP BY; SQL text, the same on every backend), is stored by a `CREATE TEMPORARY
TABLE ... AS SELECT` as one JSON object of values per customer (`jsonb_build_object` on PostgreSQL,
`json_object` on SQLite). Then ONE set-based UPDATE writes them into the customers' attributes only where
they changed (`IS DISTINCT FROM`: recomputing unchanged data rewrites no row and no index entry), and a
second one removes the derived keys of customers without a purchase up to the day. No Python loop over
customers. What each column means is in `behaviour_fields` (a table); other attributes are never touched.

The values stay in `Customer.attributes` rather than a narrow table of their own: every reader (segmentation
loading, the editor's columns, filters, the customer page, exports, audiences) reads customer columns from
there through the customer selectors, so a separate table would have to be joined by each of them.

The columns are `CustomerAttribute` rows marked `derived` (with when and as of which day they were
computed): imports of customer files never write them (a file's same-named column is stored as
`<key>_imported`, with a note: `derived_columns_renamed`), and a column imported before behaviour was
first computed is renamed the same way, values included, by that computation (audited). Recomputed after each
order import (`order_import` calls `behaviour_after_import`), by `manage.py behaviour` and by the admin.
The as-of day defaults to the last purchase day in the database (recency 0 for who bought that day).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, replace
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from core.exceptions import DataError
from core.services import activity_record
from customers.models import Customer, CustomerAttribute
from customers.orders.behaviour_fields import BEHAVIOUR_FIELDS, BEHAVIOUR_KEYS
from customers.orders.behaviour_selectors import behaviour_last_purchase_day
from customers.orders.models import Order, OrderLine
from customers.signals import customers_changed

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BehaviourResult:
    as_of: dt.date | None
    customers: int  # customers with behaviour (at least one purchase up to as_of)
    cleared: int  # customers whose derived values were removed (no purchase up to as_of)
    duration_ms: int
    changed: int = 0  # customers with behaviour whose values changed, so were written
    reason: str = ""  # why nothing was computed (no orders)
    notes: tuple[str, ...] = ()  # imported columns renamed to make way for the behaviour columns

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "customers": self.customers,
            "changed": self.changed,
            "cleared": self.cleared,
            "duration_ms": self.duration_ms,
            "columns": list(BEHAVIOUR_KEYS),
            "reason": self.reason,
            "notes": list(self.notes),
        }


def _day_end(day: dt.date) -> dt.datetime:
    """The first instant after `day` in the site's time zone."""
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time()))


#: The aggregation, one row per customer with a purchase, in ONE pass over the product lines joined to
#: their orders, grouped by customer (the shape of a plain R/F/M GROUP BY): three DISTINCT counts (purchase
#: orders, purchase days, products) and sums. The orders' day and flags are computed once per order in
#: the subquery ({fence} keeps PostgreSQL from computing the day once per line). A purchase is an order
#: not cancelled with a product line bought (not a return).
_AGGREGATE = """
SELECT o.cust,
  COUNT(DISTINCT o.id) FILTER (WHERE NOT l.is_return AND NOT o.cancelled) AS frequency,
  COUNT(DISTINCT o.day) FILTER (WHERE NOT l.is_return AND NOT o.cancelled) AS purchase_days,
  SUM(l.amount) AS monetary,
  SUM(CASE WHEN l.is_return THEN 0 ELSE l.amount END) AS bought,
  SUM(CASE WHEN l.is_return THEN l.amount ELSE 0 END) AS returned,
  MIN(o.day) FILTER (WHERE NOT l.is_return AND NOT o.cancelled) AS first_day,
  MAX(o.day) FILTER (WHERE NOT l.is_return AND NOT o.cancelled) AS last_day,
  COUNT(DISTINCT l.product_id) FILTER (WHERE NOT l.is_return AND NOT o.cancelled) AS products
FROM {lines} l JOIN (
  SELECT id, customer_id AS cust, is_cancellation AS cancelled, {day} AS day
  FROM {orders} WHERE customer_id IS NOT NULL AND ordered_at < %s {fence}
) o ON o.id = l.order_id
WHERE NOT l.is_non_product
GROUP BY o.cust
HAVING MAX(o.day) FILTER (WHERE NOT l.is_return AND NOT o.cancelled) IS NOT NULL
"""


def behaviour_aggregate_sql(*, as_of: dt.date) -> tuple[str, tuple[Any, ...]]:
    """The aggregation: one row per customer with a purchase up to `as_of` (cust, frequency, purchase_days,
    monetary, bought, returned, first_day, last_day, products). SQL and params of the backend in use."""
    quote = connection.ops.quote_name
    end = _day_end(as_of)
    tz = timezone.get_current_timezone_name()
    if connection.vendor == "postgresql":
        day, day_params, fence = "(ordered_at AT TIME ZONE %s)::date", [tz], "OFFSET 0"
    else:  # Django's own SQLite function for TruncDate: the day in the site's time zone, 'YYYY-MM-DD'
        day, day_params, fence = (
            "django_datetime_cast_date(ordered_at, %s, %s)",
            list(connection.ops._convert_tznames_to_sql(tz)),
            "",
        )
        end = connection.ops.adapt_datetimefield_value(end)
    sql = _AGGREGATE.format(
        day=day, fence=fence, lines=quote(OrderLine._meta.db_table), orders=quote(Order._meta.db_table)
    )
    return sql, (*day_params, end)


#: The new values, one row per customer with a purchase: (customer_id, values as a JSON object).
_VALUES = "behaviour_values"

# A CREATE TABLE AS may run its SELECT with parallel workers (an UPDATE ... FROM (SELECT) never does).
_PG_VALUES = """
CREATE TEMPORARY TABLE {values} ON COMMIT DROP AS
SELECT b.cust AS customer_id, jsonb_strip_nulls(jsonb_build_object(
    'recency', (%s::date - b.last_day),
    'frequency', b.frequency,
    'purchase_days', b.purchase_days,
    'monetary', round(GREATEST(b.monetary, 0)::numeric, 2),
    'average_order_value', round((GREATEST(b.monetary, 0) / b.frequency)::numeric, 2),
    'tenure', (%s::date - b.first_day),
    'days_between_orders', CASE WHEN b.purchase_days > 1
        THEN round((b.last_day - b.first_day)::numeric / (b.purchase_days - 1), 2) END,
    'return_rate', CASE WHEN b.bought > 0 THEN round((-b.returned / b.bought)::numeric, 4) END,
    'distinct_products', b.products,
    'first_order', to_char(b.first_day, 'YYYY-MM-DD'),
    'last_order', to_char(b.last_day, 'YYYY-MM-DD'))) AS obj
FROM ({aggregate}) AS b
"""

_SQLITE_VALUES = """
CREATE TEMPORARY TABLE {values} AS
SELECT a.cust AS customer_id, json_object(
    'recency', CAST(julianday(%s) - julianday(a.last_day) AS INTEGER),
    'frequency', a.frequency,
    'purchase_days', a.purchase_days,
    'monetary', round(max(a.monetary, 0), 2),
    'average_order_value', round(max(a.monetary, 0) / a.frequency, 2),
    'tenure', CAST(julianday(%s) - julianday(a.first_day) AS INTEGER),
    'days_between_orders', CASE WHEN a.purchase_days > 1
        THEN round((julianday(a.last_day) - julianday(a.first_day)) / (a.purchase_days - 1), 2) END,
    'return_rate', CASE WHEN a.bought > 0 THEN round(-a.returned / a.bought, 4) END,
    'distinct_products', a.products,
    'first_order', date(a.first_day),
    'last_order', date(a.last_day)) AS obj
FROM ({aggregate}) AS a
"""

# Only customers whose values changed are rewritten: a recomputation on the same data writes no row (and
# leaves their updated_at), a new day rewrites who bought or whose recency moved.
_PG_WRITE = """
UPDATE {table} AS c SET updated_at = %s, attributes = (c.attributes - %s::text[]) || v.obj
FROM {values} AS v
WHERE c.id = v.customer_id AND c.attributes IS DISTINCT FROM ((c.attributes - %s::text[]) || v.obj)
"""

_SQLITE_WRITE = """
UPDATE {table} SET updated_at = %s, attributes = json_patch(json_remove(attributes, {paths}), v.obj)
FROM {values} AS v
WHERE {table}.id = v.customer_id AND attributes IS NOT json_patch(json_remove(attributes, {paths}), v.obj)
"""

# Whoever still has derived keys but no row of new values has no purchase up to the day: their keys go.
_PG_CLEAR = """
UPDATE {table} AS c SET updated_at = %s, attributes = c.attributes - %s::text[]
WHERE c.attributes ?| %s::text[] AND NOT EXISTS (SELECT 1 FROM {values} v WHERE v.customer_id = c.id)
"""

_SQLITE_CLEAR = """
UPDATE {table} SET updated_at = %s, attributes = json_remove(attributes, {paths})
WHERE ({has_keys}) AND NOT EXISTS (SELECT 1 FROM {values} v WHERE v.customer_id = {table}.id)
"""


def _values_drop(cursor: Any) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS {_VALUES}")


def _values_create(cursor: Any, *, as_of: dt.date) -> int:
    """The new values into a temporary table; returns how many customers have them."""
    aggregate, agg_params = behaviour_aggregate_sql(as_of=as_of)
    _values_drop(cursor)  # from an earlier computation in the same (outer) transaction
    if connection.vendor == "postgresql":
        cursor.execute(_PG_VALUES.format(values=_VALUES, aggregate=aggregate), [as_of, as_of, *agg_params])
    else:
        day = as_of.isoformat()
        cursor.execute(_SQLITE_VALUES.format(values=_VALUES, aggregate=aggregate), [day, day, *agg_params])
    cursor.execute("SELECT count(*) FROM behaviour_values")  # _VALUES
    return cursor.fetchone()[0]


def _values_write(cursor: Any, *, now: dt.datetime) -> tuple[int, int]:
    """Write the changed values into the customers and clear who has none; returns (changed, cleared)."""
    table = connection.ops.quote_name(Customer._meta.db_table)
    stamp, keys = _stamp(now), list(BEHAVIOUR_KEYS)
    paths = ", ".join(f"'$.{key}'" for key in BEHAVIOUR_KEYS)
    if connection.vendor == "postgresql":
        cursor.execute(f"ANALYZE {_VALUES}")  # temporary tables are never analysed by autovacuum
        cursor.execute(_PG_WRITE.format(table=table, values=_VALUES), [stamp, keys, keys])
        changed = max(cursor.rowcount, 0)
        cursor.execute(_PG_CLEAR.format(table=table, values=_VALUES), [stamp, keys, keys])
    else:
        cursor.execute(_SQLITE_WRITE.format(table=table, values=_VALUES, paths=paths), [stamp])
        changed = max(cursor.rowcount, 0)
        has_keys = " OR ".join(f"json_type(attributes, '$.{key}') IS NOT NULL" for key in BEHAVIOUR_KEYS)
        cursor.execute(_SQLITE_CLEAR.format(table=table, values=_VALUES, paths=paths, has_keys=has_keys), [stamp])
    return changed, max(cursor.rowcount, 0)


def _stamp(now: dt.datetime) -> Any:
    """`now` as the backend stores a DateTimeField (SQLite: Django's text format)."""
    return connection.ops.adapt_datetimefield_value(now)


def behaviour_columns_register(*, as_of: dt.date | None, now: dt.datetime, actor: Any = None) -> list[str]:
    """Create (or mark computed) the derived columns; returns notes of what was renamed.

    An earlier customer file's column with a behaviour column's name (e.g. `recency` of a profile file) is
    renamed `<key>_imported`, values included, set-based, and the renaming audited: the name belongs to the
    value computed from the orders from now on. Refused when `<key>_imported` is taken too.
    """
    existing = {a.key: a for a in CustomerAttribute.objects.filter(key__in=BEHAVIOUR_KEYS)}
    notes = []
    for attribute in [a for a in existing.values() if not a.derived]:
        notes.append(_imported_column_rename(attribute, actor=actor))
        del existing[attribute.key]
    for field in BEHAVIOUR_FIELDS:
        if field.key not in existing:
            CustomerAttribute.objects.create(
                key=field.key,
                label=field.label,
                kind=field.kind,
                unit=field.unit,
                role=field.role,
                derived=True,
            )
    # Role and unit stay as an Admin may have set them; what was computed, and when, is updated.
    CustomerAttribute.objects.filter(key__in=BEHAVIOUR_KEYS).update(computed_at=now, computed_as_of=as_of)
    return notes


_PG_RENAME = (
    "UPDATE {table} SET attributes = (attributes - %s) || jsonb_build_object(%s, attributes -> %s) "
    "WHERE attributes ? %s"
)
_SQLITE_RENAME = (
    "UPDATE {table} SET attributes = json_set(json_remove(attributes, %s), %s, json_extract(attributes, %s)) "
    "WHERE json_type(attributes, %s) IS NOT NULL"
)


def _imported_column_rename(attribute: CustomerAttribute, *, actor: Any) -> str:
    old, new = attribute.key, f"{attribute.key}_imported"
    if CustomerAttribute.objects.filter(key=new).exists():
        raise DataError(
            f"customer column {old!r} was imported from a customer file and has the name of a behaviour column, "
            f"and {new!r} is taken too; delete or rename one of them (admin: Customer attributes)"
        )
    table = connection.ops.quote_name(Customer._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_PG_RENAME.format(table=table), [old, new, old, old])
        else:
            cursor.execute(_SQLITE_RENAME.format(table=table), [f"$.{old}", f"$.{new}", f"$.{old}", f"$.{old}"])
        customers = max(cursor.rowcount, 0)
    CustomerAttribute.objects.filter(pk=attribute.pk).update(key=new)
    note = (
        f"Imported column {old!r} ({customers:,} customers) was renamed {new!r}: {old!r} is now the behaviour "
        "computed from the orders."
    )
    activity_record(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        verb="customers.column_renamed",
        obj=None,
        detail={"from": old, "to": new, "customers": customers, "why": note},
    )
    return note


def behaviour_compute(*, as_of: dt.date | None = None, actor: Any = None) -> BehaviourResult:
    """Compute every customer's behaviour as of `as_of` (default: the last purchase day) and store it.

    One transaction: the derived columns registered, the values computed into a temporary table, the
    changed ones written by one UPDATE, those of customers without a purchase up to the day removed. Audited.
    No orders at all is a result with a reason, nothing changed.
    """
    started = time.monotonic()
    as_of = as_of or behaviour_last_purchase_day()
    if as_of is None:
        return BehaviourResult(
            as_of=None,
            customers=0,
            cleared=0,
            duration_ms=0,
            reason="No orders with a customer: import order lines first (manage.py import_orders).",
        )
    now = timezone.now()
    with transaction.atomic():
        notes = behaviour_columns_register(as_of=as_of, now=now, actor=actor)
        with connection.cursor() as cursor:
            customers = _values_create(cursor, as_of=as_of)
            changed, cleared = _values_write(cursor, now=now)
            _values_drop(cursor)
        result = BehaviourResult(
            as_of=as_of,
            customers=customers,
            changed=changed,
            cleared=cleared,
            duration_ms=int((time.monotonic() - started) * 1000),
            notes=tuple(notes),
        )
        activity_record(
            actor=actor if getattr(actor, "is_authenticated", False) else None,
            verb="customers.behaviour_computed",
            obj=None,
            detail=result.as_dict(),
        )
        # Customers with a first purchase now have R/F/M: the active runs place them (their assignment path).
        transaction.on_commit(lambda: customers_changed.send(sender=Customer, customer_ids=[]))
    return result


def behaviour_after_import(*, actor: Any = None) -> None:
    """The order import's follow-up (called once its lines are committed): recompute behaviour; a failure is
    logged, never raised (the import stands; `manage.py behaviour` or the admin can compute it again)."""
    try:
        behaviour_compute(actor=actor)
    except Exception:
        logger.exception("behaviour could not be computed after the order import")


# --------------------------------------------------------------------------- customer imports


def derived_keys() -> frozenset[str]:
    """Keys of the derived columns computed so far: a customer file may never write them. (Before any
    behaviour is computed a profile file keeps its own `recency`; the first computation renames it.)"""
    return frozenset(CustomerAttribute.objects.filter(derived=True).values_list("key", flat=True))


def derived_columns_renamed(plan: Any) -> tuple[Any, list[str]]:
    """A customer-import plan whose attribute columns named like a derived column are renamed
    `<key>_imported` (refused if that name is taken too), with a note for each."""
    reserved = derived_keys()
    taken = {a.key for a in plan.attributes}
    notes: list[str] = []
    attributes = []
    for attr in plan.attributes:
        if attr.key in reserved:
            new_key = f"{attr.key}_imported"
            if new_key in taken or new_key in reserved:
                raise DataError(
                    f"column {attr.header!r}: {attr.key!r} is a behaviour column computed from the orders and "
                    f"{new_key!r} is taken too; rename the column"
                )
            notes.append(
                f"Column {attr.header!r} was stored as {new_key!r}: {attr.key!r} is a behaviour column computed "
                "from the orders, which imports never overwrite."
            )
            attr = replace(attr, key=new_key)
            taken.add(new_key)
        attributes.append(attr)
    return replace(plan, attributes=tuple(attributes)), notes
