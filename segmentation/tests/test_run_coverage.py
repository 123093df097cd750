"""run_coverage: exact counts of the customers in and outside a run, without a full count on every page."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import Customer
from customers.tests.factories import customer_groups_create
from segmentation.selectors.runs import run_coverage
from segmentation.tests.factories import SegmentationFactory, SegmentRunFactory


@pytest.fixture
def run(db):
    cache.clear()
    customer_groups_create({0: 6, 1: 6}, prefix="COV-")
    return SegmentRunFactory(segmentation=SegmentationFactory(name="Coverage"), k=2)


def _counts(run) -> tuple[int, int, int, int]:
    c = run_coverage(run=run)
    return c.customers, c.members, c.outside, c.arrived


def test_counts_follow_customers_added_and_removed(run):
    assert _counts(run) == (12, 12, 0, 0)
    customer_groups_create({0: 2}, prefix="COV-LATE-")
    assert _counts(run) == (14, 12, 2, 2)
    Customer.objects.filter(external_id__startswith="COV-LATE-").first().delete()
    assert _counts(run) == (13, 12, 1, 1)
    Customer.objects.filter(external_id__startswith="COV-LATE-").update(age=77)
    assert _counts(run) == (13, 12, 1, 1)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the counts are cached on PostgreSQL only")
def test_postgresql_counts_the_table_once_per_change(run):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            run_coverage(run=run)
        return sum("COUNT(*)" in q["sql"].upper() for q in queries.captured_queries)

    assert count_queries() == 2  # the table, and those created since the run
    assert count_queries() == 0  # unchanged table: from the cache
    customer_groups_create({1: 1}, prefix="COV-NEW-")
    assert count_queries() == 2
    assert _counts(run) == (13, 12, 1, 1)
