"""The streamed import: chunks numbered as one file, a late refusal or a failed write changing nothing,
the large-load path (indexes and foreign keys rebuilt), the time limit and the reaper of stuck imports."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.db import connection
from django.utils import timezone

from core.exceptions import DataError
from customers.models import Customer
from customers.orders import copy_writer, references, service, writers
from customers.orders.models import Order, OrderImport, OrderImportStatus, OrderLine, Product
from customers.orders.service import order_import, order_imports_reap_stuck
from customers.tests.orders.factories import ONLINE_RETAIL, ONLINE_RETAIL_HEADER, order_file

pytestmark = pytest.mark.django_db

#: One order's lines far apart, across chunks of two lines; the product sold twice.
SPREAD = ONLINE_RETAIL_HEADER + (
    "A1,P1,FIRST NAME,2,12/1/2010 8:26,1.00,7,United Kingdom\r\n"
    "B1,P2,OTHER,1,12/1/2010 8:30,5.00,8,France\r\n"
    "B1,P3,OTHER,1,12/1/2010 8:30,5.00,8,France\r\n"
    "A1,P2,OTHER,3,12/1/2010 8:26,2.00,7,Germany\r\n"
    "C1,P1,LATER NAME,1,12/2/2010 9:00,1.25,9,United Kingdom\r\n"
    "A1,P1,,1,12/1/2010 8:26,3.00,,United Kingdom\r\n"
    "C2,P1,,-1,12/3/2010 9:00,9.99,9,United Kingdom\r\n"
)


def _state() -> tuple[int, int, int, int]:
    return (Order.objects.count(), OrderLine.objects.count(), Customer.objects.count(), Product.objects.count())


def test_an_orders_lines_across_chunks_are_numbered_in_file_order(tmp_path):
    job = order_import(file=order_file(tmp_path, SPREAD), chunk_rows=2)
    assert job.counts["lines"] == 7 and job.counts["orders"] == 4 and job.counts["customers_created"] == 3
    lines = OrderLine.objects.filter(order__order_id="A1").order_by("line_number")
    assert list(lines.values_list("line_number", "quantity", "unit_price")) == [(1, 2, 1.0), (2, 3, 2.0), (3, 1, 3.0)]
    order = Order.objects.get(order_id="A1")
    # customer and country of the order's first line, amount the sum of its lines
    assert (order.customer.external_id, order.country, order.line_count) == ("7", "United Kingdom", 3)
    assert order.amount == pytest.approx(2 + 6 + 3)
    # a product's latest non-empty description and latest sale price (returns are not sales)
    assert (Product.objects.get(code="P1").description, Product.objects.get(code="P1").last_price) == (
        "LATER NAME",
        1.25,
    )


def test_a_bad_line_in_a_later_chunk_changes_nothing(tmp_path):
    order_import(file=order_file(tmp_path, ONLINE_RETAIL, name="first.csv"))
    before = _state()
    bad = SPREAD + "D1,P1,x,1,12/1/2010 8:26,abc,10,UK\r\n"
    with pytest.raises(DataError, match=r"row 9, column UnitPrice: 'abc' is not a number"):
        order_import(file=order_file(tmp_path, bad, name="bad.csv"), chunk_rows=2)
    assert _state() == before


def test_a_failed_write_changes_nothing(tmp_path, monkeypatch):
    order_import(file=order_file(tmp_path, ONLINE_RETAIL, name="first.csv"))
    before = _state()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(references, "orders_upsert", broken)
    monkeypatch.setattr(writers, "_lines_bulk_create", broken)
    with pytest.raises(RuntimeError) as caught:
        order_import(file=order_file(tmp_path, SPREAD, name="second.csv"), chunk_rows=2)
    job = caught.value.import_job
    assert job.status == OrderImportStatus.FAILED and "disk full" in job.error
    assert _state() == before


def test_time_limit_fails_the_import_changing_nothing(tmp_path, monkeypatch):
    def slow(*args, **kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(references, "orders_upsert", slow)
    monkeypatch.setattr(writers, "_lines_bulk_create", slow)
    with pytest.raises(SoftTimeLimitExceeded) as caught:
        order_import(file=order_file(tmp_path, ONLINE_RETAIL))
    assert caught.value.import_job.error.startswith("timed out after")
    assert _state() == (0, 0, 0, 0)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the large-load path is PostgreSQL's")
def test_a_large_load_rebuilds_the_indexes_and_foreign_keys_it_dropped(tmp_path, monkeypatch):
    def constraints() -> list[tuple[str, str]]:
        with connection.cursor() as cursor:
            found: list = []
            for table in (OrderLine._meta.db_table, Order._meta.db_table):
                cursor.execute(
                    "SELECT conname, contype FROM pg_constraint WHERE conrelid = %s::regclass ORDER BY 1", [table]
                )
                found += cursor.fetchall()
                cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [table])
                found += cursor.fetchall()
            return sorted(found)

    before = constraints()
    monkeypatch.setattr(copy_writer, "BULK_BYTES", 1)  # every file is large: a line a byte
    monkeypatch.setattr(copy_writer, "BYTES_PER_LINE", 1)
    order_import(file=order_file(tmp_path, SPREAD), chunk_rows=3)
    assert constraints() == before
    assert OrderLine.objects.count() == 7
    # every order replaced: their old lines are deleted at the end of a large load (no index meanwhile)
    job = order_import(file=order_file(tmp_path, SPREAD, name="again.csv"), chunk_rows=3)
    assert job.counts["orders_replaced"] == 4 and constraints() == before
    assert OrderLine.objects.count() == 7 and Order.objects.count() == 4
    assert list(
        OrderLine.objects.filter(order__order_id="A1").order_by("line_number").values_list("line_number", "quantity")
    ) == [(1, 2), (2, 3), (3, 1)]


def test_reaper_fails_only_stuck_imports(tmp_path):
    old = timezone.now() - timedelta(hours=3)
    stored = tmp_path / "upload.csv"
    stored.write_text("x")
    running = OrderImport.objects.create(file_name="a.csv", status=OrderImportStatus.RUNNING, started_at=old)
    queued = OrderImport.objects.create(file_name="b.csv", stored_path=str(stored))
    OrderImport.objects.filter(pk=queued.pk).update(created_at=old)
    fresh = OrderImport.objects.create(file_name="c.csv", status=OrderImportStatus.RUNNING, started_at=timezone.now())
    done = OrderImport.objects.create(file_name="d.csv", status=OrderImportStatus.SUCCEEDED, started_at=old)
    assert order_imports_reap_stuck(older_than=3600) == 2
    running.refresh_from_db()
    queued.refresh_from_db()
    assert running.status == OrderImportStatus.FAILED and "worker stopped" in running.error
    assert queued.status == OrderImportStatus.FAILED and "no worker took it" in queued.error
    assert running.finished_at is not None and not stored.exists() and queued.stored_path == ""
    assert OrderImport.objects.get(pk=fresh.pk).status == OrderImportStatus.RUNNING
    assert OrderImport.objects.get(pk=done.pk).status == OrderImportStatus.SUCCEEDED
    assert order_imports_reap_stuck(older_than=3600) == 0


def test_after_import_runs_once_after_a_committed_import_only(tmp_path, monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(service, "_after_import", lambda *, job, written, behaviour: calls.append(job.pk))
    job = order_import(file=order_file(tmp_path, ONLINE_RETAIL))
    order_import(file=order_file(tmp_path, ONLINE_RETAIL), dry_run=True)
    with pytest.raises(DataError):
        order_import(file=order_file(tmp_path, "", name="empty.csv"))
    assert calls == [job.pk]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the import's one transaction is PostgreSQL's path")
@pytest.mark.django_db(transaction=True)
def test_the_progress_is_seen_while_the_import_is_still_open(tmp_path, monkeypatch):
    """The lines are COPYed in the import's one transaction; its progress is committed on a connection of its own."""
    import threading

    monkeypatch.setattr(service, "PROGRESS_EVERY", 0)
    seen: list[tuple[int, int]] = []
    original = copy_writer.LineCopyWriter.add

    def add(self, lines):
        original(self, lines)
        if self.lines >= 4 and not seen:  # look from elsewhere, as the page does, while this import is open

            def look() -> None:
                for _ in range(50):
                    job = OrderImport.objects.order_by("-pk").first()
                    if job is not None and job.rows_read:
                        seen.append((job.rows_read, OrderLine.objects.count()))
                        break
                    threading.Event().wait(0.05)
                connection.close()

            thread = threading.Thread(target=look)
            thread.start()
            thread.join()

    monkeypatch.setattr(copy_writer.LineCopyWriter, "add", add)
    job = order_import(file=order_file(tmp_path, SPREAD), chunk_rows=2)
    assert seen and seen[0][0] >= 2  # rows read, committed for the page
    assert seen[0][1] == 0  # while none of the lines is visible yet: they commit together
    assert job.status == OrderImportStatus.SUCCEEDED and OrderLine.objects.count() == 7
