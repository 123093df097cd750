"""The customers' write version: shared through the cache for a second outside a transaction, read every time inside
one (where it counts the transaction's own writes), and changed by every write."""

from __future__ import annotations

import time

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from customers.selectors.versions import WRITE_VERSION_SECONDS, customers_write_version
from customers.tests.factories import CustomerFactory

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the version reads PostgreSQL's statistics"
)


def _queries(fn) -> tuple[object, int]:
    with CaptureQueriesContext(connection) as queries:
        value = fn()
    return value, len(queries)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_kept_a_second_outside_a_transaction_then_read_again_after_a_write():
    CustomerFactory()
    first, n = _queries(customers_write_version)
    assert n == 1
    again, n = _queries(customers_write_version)
    assert (again, n) == (first, 0)  # from the cache
    CustomerFactory()
    # A second for the cached answer to expire, and about one more for the statistics to count the commit.
    deadline = time.monotonic() + WRITE_VERSION_SECONDS + 3
    while customers_write_version() == first and time.monotonic() < deadline:
        time.sleep(0.2)
    assert customers_write_version() != first


@postgres_only
@pytest.mark.django_db
def test_read_every_time_inside_a_transaction_counting_its_own_writes():
    assert connection.in_atomic_block
    before, n = _queries(customers_write_version)
    assert n == 1
    CustomerFactory()
    after, n = _queries(customers_write_version)
    assert n == 1 and after != before


@pytest.mark.django_db
def test_none_without_postgresql():
    if connection.vendor == "postgresql":
        with transaction.atomic():
            assert customers_write_version() is not None
    else:
        assert customers_write_version() is None
