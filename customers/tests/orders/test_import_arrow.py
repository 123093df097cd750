"""The pyarrow fast path of plain CSV/TSV order files gives what the pandas path gives: the same lines,
orders and counts, the same messages (row, column, value), and the pandas path for a file it cannot read."""

from __future__ import annotations

import pytest

from core.exceptions import DataError
from customers.models import Customer
from customers.orders import arrow_reading
from customers.orders.models import Order, OrderLine, Product
from customers.orders.service import order_import
from customers.tests.orders.factories import ONLINE_RETAIL, ONLINE_RETAIL_HEADER, order_file

pytestmark = pytest.mark.django_db

#: Quoted values (a comma, a doubled quote, a line break), blanks around cells, an order across chunks.
QUOTED = ONLINE_RETAIL_HEADER + (
    '536365,85123A,"HEART, WHITE",6,12/1/2010 8:26,2.55,17850,United Kingdom\r\n'
    '536366, 71053 ,"LANTERN ""METAL""",6,12/1/2010 8:28, 3.39 ,17850,France\r\n'
    '536365,22961,"TWO\nLINES",2,12/1/2010 8:26,1.45,,United Kingdom\r\n'
    "\r\n"
    "C536367,POST,POSTAGE,-1,12/2/2010 9:41,18.00,14527,United Kingdom\r\n"
    "536368,D,Discount,1,12/3/2010 10:00,0.5,14527,EIRE\r\n"
)


def _imported(tmp_path, text: str, **options) -> tuple[dict, list, list, list]:  # noqa: ANN003
    job = order_import(file=order_file(tmp_path, text), **options)
    orders = list(
        Order.objects.order_by("order_id").values_list(
            "order_id", "customer__external_id", "ordered_at", "country", "is_cancellation", "amount", "line_count"
        )
    )
    lines = list(
        OrderLine.objects.order_by("order__order_id", "line_number").values_list(
            "order__order_id",
            "line_number",
            "product__code",
            "description",
            "quantity",
            "unit_price",
            "amount",
            "is_return",
            "is_non_product",
        )
    )
    products = list(Product.objects.order_by("code").values_list("code", "description", "last_price"))
    return job.counts, orders, lines, products


def _both_paths(tmp_path, monkeypatch, text: str, **options):  # noqa: ANN003, ANN202
    """What the fast path imports, then (after deleting it) what the pandas path imports."""
    fast = _imported(tmp_path, text, **options)
    OrderLine.objects.all().delete()
    Order.objects.all().delete()
    Product.objects.all().delete()
    Customer.objects.all().delete()
    monkeypatch.setattr(arrow_reading, "arrow_eligible", lambda *args, **kwargs: False)
    return fast, _imported(tmp_path, text, **options)


@pytest.mark.parametrize("text", [ONLINE_RETAIL, QUOTED])
@pytest.mark.parametrize("chunk_rows", [2, 100_000])
def test_the_fast_path_imports_what_the_pandas_path_imports(tmp_path, monkeypatch, text, chunk_rows):
    calls: list[int] = []
    chunks = arrow_reading.arrow_chunks
    monkeypatch.setattr(arrow_reading, "arrow_chunks", lambda *a, **k: calls.append(1) or chunks(*a, **k))
    fast, slow = _both_paths(tmp_path, monkeypatch, text, chunk_rows=chunk_rows)
    assert calls == [1]  # the first import took the fast path
    assert fast == slow
    assert fast[0]["lines"] == text.count("\r\n") - 1 - text.count("\r\n\r\n")


@pytest.mark.parametrize("text", [ONLINE_RETAIL.replace(",", "\t"), "\ufeff" + ONLINE_RETAIL])
def test_a_tsv_file_and_a_file_with_a_byte_order_mark_too(tmp_path, monkeypatch, text):
    fast, slow = _both_paths(tmp_path, monkeypatch, text)
    assert fast == slow and fast[0]["lines"] == 6


def _message(tmp_path, text: str, **options) -> str:  # noqa: ANN003
    with pytest.raises(DataError) as caught:
        order_import(file=order_file(tmp_path, text), **options)
    return str(caught.value)


@pytest.mark.parametrize(
    "bad_line",
    [
        "536390,22139,TEA SET,abc,12/1/2010 9:41,4.95,15311,France\r\n",  # not a number
        "536390,22139,TEA SET,2,13/45/2010 9:41,4.95,15311,France\r\n",  # not a date
        "536390,22139,TEA SET,2,12/1/2010 9:41,,15311,France\r\n",  # an empty price
        f"{'9' * 70},22139,TEA SET,2,12/1/2010 9:41,4.95,15311,France\r\n",  # a long order id
        "536390,22139,TEA SET,2,12/1/2010 9:41,4.95,15311,France,extra\r\n",  # a value too many
    ],
)
def test_a_refused_file_says_what_the_pandas_path_says(tmp_path, monkeypatch, bad_line):
    text = QUOTED + bad_line + "536391,22139,TEA SET,2,12/1/2010 9:41,4.95,15311,France\r\n"
    fast = _message(tmp_path, text)
    assert Order.objects.count() == 0
    monkeypatch.setattr(arrow_reading, "arrow_eligible", lambda *args, **kwargs: False)
    assert fast == _message(tmp_path, text)


def test_a_row_with_a_value_missing_is_read_as_the_pandas_path_reads_it(tmp_path, monkeypatch):
    text = QUOTED + "536390,22139,TEA SET,2,12/1/2010 9:41,4.95,15311\r\n"  # pyarrow refuses it: read again
    fast, slow = _both_paths(tmp_path, monkeypatch, text)
    assert fast == slow and fast[0]["lines"] == 6


def test_skipped_lines_are_the_pandas_paths(tmp_path, monkeypatch):
    text = QUOTED + "536390,22139,TEA SET,abc,12/1/2010 9:41,4.95,15311,France\r\n"
    fast, slow = _both_paths(tmp_path, monkeypatch, text, skip_invalid=True, chunk_rows=4)
    assert fast == slow and fast[0]["rejected"] == 1


def test_lines_without_an_order_id_are_the_pandas_paths(tmp_path, monkeypatch):
    text = ONLINE_RETAIL.replace("536381,", ",")
    fast, slow = _both_paths(tmp_path, monkeypatch, text)
    assert fast == slow and any("@2010-12-01" in order[0] for order in fast[1])
