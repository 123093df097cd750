"""The data overview's purchase charts: orders per month, revenue by country, top products, aggregated in SQL,
shown only when orders exist; who may see them (personas); the figures' data, not pixels."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from customers import charts
from customers.selectors.overview import purchase_overview
from customers.tests.orders.factories import ONLINE_RETAIL, order_file

pytestmark = pytest.mark.django_db

MORE = (
    "536400,85123A,WHITE HANGING HEART T-LIGHT HOLDER,10,1/5/2011 10:00,2.55,17850,United Kingdom\r\n"
    "536401,22139,RETROSPOT TEA SET CERAMIC 11 PC,1,1/6/2011 10:00,4.95,12345,Germany\r\n"
)


@pytest.fixture
def orders(tmp_path):
    call_command("import_orders", str(order_file(tmp_path, ONLINE_RETAIL + MORE)), stdout=io.StringIO())


def test_purchase_figures_are_aggregated_in_sql(orders):
    got = purchase_overview(use_cache=False)
    # Dec 2010: 536365, 536380, 536381 (C536379 is a cancellation: not counted, its amount netted)
    assert got.months == [
        ("2010-12", 3, pytest.approx(15.3 + 20.34 + 18.0 - 27.5 - 34.8 + 9.9)),
        ("2011-01", 2, pytest.approx(30.45)),
    ]
    assert got.orders == 5
    assert [c for c, _ in got.countries][0] == "United Kingdom" and got.countries_total == 3
    products = dict(got.products)
    assert products["85123A WHITE HANGING HEART T-LIGHT HOLDER"] == pytest.approx(15.3 + 25.5)
    assert not any(label.startswith("POST") for label in products)  # postage is not a product


def test_no_orders_no_purchase_section(db, viewer_client):
    from customers.models import Customer

    Customer.objects.create(external_id="a1", age=30)
    assert purchase_overview() is None
    html = viewer_client.get("/customers/overview/").content.decode()
    assert 'id="purchase-charts"' not in html


def test_overview_shows_the_purchase_charts_to_every_role(orders, viewer_client, marketer_client, anon_client):
    for client in (viewer_client, marketer_client):
        resp = client.get("/customers/overview/")
        html = resp.content.decode()
        assert 'id="purchase-charts"' in html
        for div in (charts.ORDERS_MONTH_DIV_ID, charts.REVENUE_COUNTRY_DIV_ID, charts.TOP_PRODUCTS_DIV_ID):
            assert div in html
    assert anon_client.get("/customers/overview/").status_code == 302


def test_figures_carry_the_data():
    fig = charts.orders_month_figure(months=["2011-01", "2011-02"], orders=[3, 4], revenue=[10.0, 20.5])
    assert list(fig.data[0].y) == [3, 4] and list(fig.data[1].y) == [10.0, 20.5] and fig.data[1].yaxis == "y2"
    bars = charts.ranked_bar_figure(title="t", labels=["UK", "FR"], values=[9.0, 2.0], value_title="Net revenue")
    assert list(bars.data[0].y) == ["FR", "UK"] and list(bars.data[0].x) == [2.0, 9.0]  # largest on top
    long = charts.ranked_bar_figure(title="t", labels=["X" * 40], values=[1.0], value_title="v")
    assert long.data[0].y[0] == "X" * 31 + "…" and long.data[0].customdata[0] == "X" * 40
