"""manage.py import_orders: --json, --columns, --dry-run, refusals; the real datasets when present."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from customers.models import Customer
from customers.orders.models import Order, OrderLine
from customers.tests.orders.factories import ONLINE_RETAIL, order_file

pytestmark = pytest.mark.django_db
JSON_KEYS = [
    "lines",
    "imported",
    "with_customer",
    "without_customer",
    "cancellations",
    "non_product",
    "customers_created",
]


def call(*args) -> str:
    out = StringIO()
    call_command("import_orders", *args, stdout=out)
    return out.getvalue()


def test_json_prints_the_summary_counts(tmp_path):
    counts = json.loads(call(str(order_file(tmp_path, ONLINE_RETAIL)), "--json"))
    assert list(counts) == JSON_KEYS
    assert counts == {
        "lines": 6,
        "imported": 6,
        "with_customer": 5,
        "without_customer": 1,
        "cancellations": 1,
        "non_product": 2,
        "customers_created": 3,
    }


def test_text_output_and_dry_run(tmp_path):
    out = call(str(order_file(tmp_path, ONLINE_RETAIL)), "--dry-run")
    assert "6 lines, 6 would be imported" in out and "Dry run: nothing was changed." in out
    assert not Order.objects.exists()


def test_columns_and_day_first(tmp_path):
    text = "A1;7;2/3/2011;2;5.00\r\n"
    call(str(order_file(tmp_path, text)), "--columns", "order_id,customer_id,date,quantity,amount", "--day-first")
    assert Order.objects.get(order_id="A1").ordered_at.month == 3


def test_map_option(tmp_path):
    text = "Beleg,Kunde,Datum,Betrag\r\nX1,9,2011-01-02,10.5\r\n"
    maps = ["Beleg=order_id", "Kunde=customer_id", "Datum=ordered_at", "Betrag=amount"]
    call(str(order_file(tmp_path, text)), *[arg for m in maps for arg in ("--map", m)])
    assert Order.objects.filter(order_id="X1").exists()


def test_refused_file_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match=r"orders.csv: no customer column"):
        call(str(order_file(tmp_path, "InvoiceNo,InvoiceDate,Quantity,UnitPrice\r\n1,2011-01-01,1,1\r\n")))
    with pytest.raises(CommandError, match="no such file"):
        call(str(tmp_path / "missing.csv"))


@pytest.mark.datasets
def test_cdnow_sample_as_the_issue_imports_it(datasets):
    path = datasets / "cdnow" / "CDNOW_sample.txt"
    counts = json.loads(call(str(path), "--columns", "customer_id,-,date,quantity,amount", "--json"))
    assert counts["lines"] == counts["imported"] == counts["with_customer"] == 6919
    assert counts["customers_created"] == Customer.objects.count() == 2357
    assert OrderLine.objects.count() == 6919
    first = Order.objects.order_by("ordered_at", "order_id").first()
    assert first.ordered_at.date().isoformat() == "1997-01-01"


@pytest.mark.datasets
def test_cdnow_reimport_changes_nothing(datasets):
    path = str(datasets / "cdnow" / "CDNOW_sample.txt")
    call(path, "--columns", "customer_id,-,date,quantity,amount")
    orders = Order.objects.count()
    counts = json.loads(call(path, "--columns", "customer_id,-,date,quantity,amount", "--json"))
    assert counts["customers_created"] == 0
    assert (Order.objects.count(), OrderLine.objects.count()) == (orders, 6919)
