"""customers.orders.service.order_import: mapping, dates, marks, upsert, refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from openpyxl import Workbook

from core.exceptions import DataError
from customers.models import Customer
from customers.orders.models import Order, OrderImport, OrderImportStatus, OrderLine, Product
from customers.orders.service import order_import
from customers.tests.factories import CustomerFactory
from customers.tests.orders.factories import CDNOW, ONLINE_RETAIL, ONLINE_RETAIL_HEADER, order_file

pytestmark = pytest.mark.django_db


def test_online_retail_lines_are_imported_and_marked(tmp_path):
    job = order_import(file=order_file(tmp_path, ONLINE_RETAIL, gz=True, name="retail.csv.gz"))
    assert job.status == OrderImportStatus.SUCCEEDED
    assert {k: job.counts[k] for k in ("lines", "imported", "with_customer", "without_customer")} == {
        "lines": 6,
        "imported": 6,
        "with_customer": 5,
        "without_customer": 1,
    }
    assert job.counts["cancellations"] == 1
    assert job.counts["returns"] == 2  # the C-invoice and the negative quantity without a customer
    assert job.counts["non_product"] == 2  # POST and D
    assert job.counts["customers_created"] == 3
    order = Order.objects.get(order_id="536365")
    assert order.customer.external_id == "17850"
    assert order.ordered_at == datetime(2010, 12, 1, 8, 26, tzinfo=UTC)
    assert order.line_count == 3
    assert order.amount == pytest.approx(6 * 2.55 + 6 * 3.39 + 18)
    assert list(order.lines.values_list("line_number", "product__code", "is_non_product")) == [
        (1, "85123A", False),
        (2, "71053", False),
        (3, "POST", True),
    ]
    assert Order.objects.get(order_id="C536379").is_cancellation
    assert Order.objects.get(order_id="536380").customer is None
    assert OrderLine.objects.get(order__order_id="536380").is_return
    assert Product.objects.get(code="85123A").last_price == 2.55


def test_day_first_reads_the_day_before_the_month(tmp_path):
    text = "order_id,customer_id,date,sku,quantity,price\r\nA1,7,1/12/2010 8:26,X,1,2\r\n"
    order_import(file=order_file(tmp_path, text), day_first=True)
    assert Order.objects.get().ordered_at == datetime(2010, 12, 1, 8, 26, tzinfo=UTC)


def test_cdnow_without_header_by_columns_makes_one_order_per_customer_and_day(tmp_path):
    path = order_file(tmp_path, CDNOW, name="CDNOW_sample.txt")
    job = order_import(file=path, columns="customer_id,-,date,quantity,amount")
    assert job.counts["lines"] == 4 and job.counts["customers_created"] == 2
    assert sorted(Order.objects.values_list("order_id", "line_count")) == [
        ("00004@1997-01-01", 1),
        ("00004@1997-01-18", 2),
        ("00018@1997-01-01", 1),
    ]
    line = OrderLine.objects.get(order__order_id="00004@1997-01-01")
    assert (line.quantity, line.amount, line.unit_price, line.product) == (2, 29.33, pytest.approx(14.665), None)


def test_known_customers_are_linked_not_created(tmp_path):
    CustomerFactory(external_id="17850")
    job = order_import(file=order_file(tmp_path, ONLINE_RETAIL))
    assert job.counts["customers_created"] == 2
    assert Customer.objects.get(external_id="17850").orders.count() == 1


def test_reimport_replaces_an_orders_lines(tmp_path):
    order_import(file=order_file(tmp_path, ONLINE_RETAIL))
    again = ONLINE_RETAIL_HEADER + "536365,71053,WHITE METAL LANTERN,1,12/1/2010 8:26,3.39,17850,United Kingdom\r\n"
    job = order_import(file=order_file(tmp_path, again, name="again.csv"))
    assert job.counts["orders_replaced"] == 1
    assert list(OrderLine.objects.filter(order__order_id="536365").values_list("quantity", flat=True)) == [1]
    assert OrderLine.objects.count() == 4  # the other orders are untouched
    assert Order.objects.get(order_id="536365").line_count == 1


def test_excel_file(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["Order ID", "Customer", "Order Date", "SKU", "Qty", "Price"])
    sheet.append(["B1", "42", datetime(2011, 3, 4, 10, 0), "P1", 3, 1.5])
    path = tmp_path / "orders.xlsx"
    book.save(path)
    job = order_import(file=path)
    assert job.counts["imported"] == 1
    assert OrderLine.objects.get().amount == 4.5


def test_mapping_override(tmp_path):
    text = "Beleg,Kunde,Datum,Betrag\r\nX1,9,2011-01-02,10.5\r\n"
    order_import(
        file=order_file(tmp_path, text),
        mapping={"Beleg": "order_id", "Kunde": "customer_id", "Datum": "ordered_at", "Betrag": "amount"},
    )
    assert Order.objects.get(order_id="X1").amount == 10.5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice\r\n1,A,1,12/1/2010 8:26,1\r\n", "no customer column"),
        (
            ONLINE_RETAIL_HEADER + "1,A,x,six,12/1/2010 8:26,1,5,UK\r\n",
            r"row 2, column Quantity: 'six' is not a number",
        ),
        (
            ONLINE_RETAIL_HEADER + "1,A,x,6,31/31/2010,1,5,UK\r\n",
            r"row 2, column InvoiceDate: '31/31/2010' is not a date",
        ),
        ("", "the file is empty"),
        (b"\x00\x01\x02\x03binary\x00" * 50, "not a CSV, TSV or Excel file"),
    ],
)
def test_bad_files_are_refused_changing_nothing(tmp_path, text, message):
    order_import(file=order_file(tmp_path, ONLINE_RETAIL, name="first.csv"))
    before = (Order.objects.count(), OrderLine.objects.count(), Customer.objects.count(), Product.objects.count())
    with pytest.raises(DataError, match=message) as caught:
        order_import(file=order_file(tmp_path, text, name="bad.csv"))
    assert caught.value.import_job.status == OrderImportStatus.FAILED
    after = (Order.objects.count(), OrderLine.objects.count(), Customer.objects.count(), Product.objects.count())
    assert after == before


def test_text_quantity_among_good_lines_names_row_and_value(tmp_path):
    text = ONLINE_RETAIL + "536999,A,x,twelve,12/1/2010 8:26,1,5,UK\r\n"
    with pytest.raises(DataError, match=r"row 8, column Quantity: 'twelve' is not a number"):
        order_import(file=order_file(tmp_path, text))
    assert not OrderLine.objects.exists()


def test_skip_invalid_imports_the_valid_lines(tmp_path):
    text = ONLINE_RETAIL + "536999,A,x,twelve,12/1/2010 8:26,1,5,UK\r\n"
    job = order_import(file=order_file(tmp_path, text), skip_invalid=True)
    assert job.counts["imported"] == 6 and job.counts["rejected"] == 1
    assert "twelve" in job.rejected_csv
    assert OrderLine.objects.count() == 6


def test_dry_run_counts_and_changes_nothing(tmp_path):
    job = order_import(file=order_file(tmp_path, ONLINE_RETAIL), dry_run=True)
    assert job.status == OrderImportStatus.DRY_RUN
    assert job.counts["imported"] == 6 and job.counts["customers_created"] == 3
    assert not Order.objects.exists() and not Customer.objects.exists()
    assert OrderImport.objects.count() == 1


def test_columns_must_match_the_file(tmp_path):
    with pytest.raises(DataError, match="--columns names 3 columns but the file's rows have 5"):
        order_import(file=order_file(tmp_path, CDNOW), columns="customer_id,date,amount")
    with pytest.raises(DataError, match="'colour' is not a field"):
        order_import(file=order_file(tmp_path, CDNOW), columns="customer_id,colour,date,quantity,amount")
