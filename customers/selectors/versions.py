"""A version of the customers table that changes with every write: caches of what is computed from the customers
(the data overview, the run coverage counts, the editor's columns) key on it."""

from __future__ import annotations

from django.core.cache import cache
from django.db import connection
from psycopg import sql

from customers.models import Customer

#: How long the version is kept in the shared cache outside a transaction. Reading the statistics views costs
#: PostgreSQL a millisecond of CPU on every dashboard, overview and editor request; they lag a commit by up to a
#: second anyway (below), so keeping the answer for a second changes what a page shows by at most that.
WRITE_VERSION_SECONDS = 1


def customers_write_version() -> tuple | None:
    """On PostgreSQL, numbers that change with every insert, update or delete on the customers table; None elsewhere.

    The table's statistics count every row written (committed, plus this transaction's own), and the ids
    bound it: reading them costs a millisecond instead of a scan. Statistics reach other sessions within
    about a second of a commit. Outside a transaction the answer is shared through the cache for
    WRITE_VERSION_SECONDS; inside one it is read every time (it counts the transaction's own writes, which no
    other process may see).
    """
    if connection.vendor != "postgresql":
        return None
    if connection.in_atomic_block:
        return _read()
    key = f"customers:write-version:{connection.settings_dict.get('NAME')}"
    hit = cache.get(key)
    if hit is not None:
        return tuple(hit)
    row = _read()
    if row is not None:
        cache.set(key, row, WRITE_VERSION_SECONDS)
    return row


def _read() -> tuple | None:
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                "SELECT s.n_tup_ins + x.n_tup_ins, s.n_tup_upd + x.n_tup_upd, s.n_tup_del + x.n_tup_del, "
                "(SELECT min(id) FROM {table}), (SELECT max(id) FROM {table}) "
                "FROM pg_stat_user_tables s JOIN pg_stat_xact_user_tables x USING (relid) "
                "WHERE s.relid = to_regclass(%s)"
            ).format(table=sql.Identifier(Customer._meta.db_table)),
            [Customer._meta.db_table],
        )
        return cursor.fetchone()
