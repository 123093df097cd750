"""Lifetime value from the orders in the database: what counts as a purchase, the fit row, stored values,
the command's messages, the task, the activity entry and the customer page (who may see it)."""

from __future__ import annotations

import datetime as dt
import io
import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from core.activity import activity_sentence
from core.models import Activity
from customers.models import Customer
from customers.orders import value_service
from customers.orders.value_models import CustomerValue, ValueFit
from customers.orders.value_selectors import customer_purchases, order_transactions
from customers.orders.value_service import NO_ORDERS, customer_value_fit
from customers.tasks import fit_customer_values
from customers.tests.orders.factories import ONLINE_RETAIL, order_file

pytestmark = pytest.mark.django_db

MORE = (
    "536382,22139,RETROSPOT TEA SET CERAMIC 11 PC,-1,12/2/2010 10:00,4.95,15311,France\r\n"
    "536382,71053,WHITE METAL LANTERN,2,12/2/2010 10:00,3.39,15311,France\r\n"
    "536383,22139,RETROSPOT TEA SET CERAMIC 11 PC,-2,12/3/2010 10:00,4.95,15311,France\r\n"
)


def _import(tmp_path, text: str, name: str = "orders.csv") -> None:
    call_command("import_orders", str(order_file(tmp_path, text, name)), stdout=io.StringIO())


def _shop(tmp_path, *, customers: int = 120, seed: int = 3, dropout: bool = True) -> None:
    """Orders of `customers` customers over 2024 (some stop buying when `dropout`), one line each."""
    rng = np.random.default_rng(seed)
    rows = ["order_id,customer_id,date,sku,quantity,price"]
    start = dt.date(2024, 1, 1)
    for c in range(customers):
        first = int(rng.integers(0, 60))
        life = int(rng.integers(10, 360)) if dropout and rng.random() < 0.6 else 365
        gap = float(rng.uniform(7, 60))
        day, n = float(first), 0
        while day <= min(first + life, 364):
            date = start + dt.timedelta(days=int(day))
            rows.append(f"O{c}-{n},K{c},{date.isoformat()},SKU{n % 5},1,{rng.uniform(5, 50):.2f}")
            day += rng.exponential(gap) + 1
            n += 1
    _import(tmp_path, "\r\n".join(rows) + "\r\n")


def test_purchases_leave_out_cancellations_non_product_lines_and_orders_of_returns_only(tmp_path):
    _import(tmp_path, ONLINE_RETAIL + MORE)

    frame = order_transactions()

    rows = {(r.external_id, str(r.date.date())): r.amount for r in frame.itertuples()}
    # 17850: two product lines (postage left out); 14527's C-invoice and the line without a customer are
    # no purchase; 15311's second order is net of its return, its third (a return only) is no purchase.
    assert rows == pytest.approx(
        {("17850", "2010-12-01"): 6 * 2.55 + 6 * 3.39, ("15311", "2010-12-01"): 9.90, ("15311", "2010-12-02"): 1.83}
    )
    assert list(frame.columns) == ["external_id", "customer", "date", "amount"]
    assert str(frame["date"].dtype).startswith("datetime64")
    assert order_transactions(until=dt.date(2010, 12, 1))["date"].max() == np.datetime64("2010-12-01")


def test_fit_stores_one_value_per_customer_and_audits(tmp_path, admin_user):
    _shop(tmp_path)

    fit = customer_value_fit(horizon_weeks=26, actor=admin_user)

    assert fit.status in ("ok", "boundary"), fit.reason
    assert fit.calibration_end == order_transactions()["date"].max().date()
    assert fit.customers == CustomerValue.objects.count() == Customer.objects.count() == 120
    assert set(fit.params) >= {"bgnbd", "gamma_gamma", "pareto_nbd", "status"}
    assert fit.holdout is None and fit.holdout_end is None
    assert set(fit.timings) == {"read_ms", "fit_ms", "score_ms", "store_ms"}
    values = CustomerValue.objects.all()
    assert all(0 <= v.p_alive <= 1 and v.expected_purchases >= 0 and v.fit_id == fit.pk for v in values)
    entry = Activity.objects.get(verb="orders.values_fitted")
    assert activity_sentence(entry) == f"{admin_user.username} fitted lifetime values for 120 customers ({fit.status})"

    again = customer_value_fit(calibration_end=dt.date(2024, 9, 30), holdout_end=dt.date(2024, 12, 31))
    assert CustomerValue.objects.count() == 120  # replaced, not added
    assert set(CustomerValue.objects.values_list("fit_id", flat=True)) == {again.pk}
    assert again.holdout["actual"] > 0 and {"predicted", "naive", "mae"} <= set(again.holdout)


def test_no_orders_is_a_failed_fit_with_a_clear_message(tmp_path):
    fit = customer_value_fit()
    assert (fit.status, fit.reason, fit.customers) == ("failed", NO_ORDERS, 0)
    with pytest.raises(CommandError, match="No orders with a customer to fit on"):
        call_command("clv")


def test_failed_fit_keeps_the_stored_values(tmp_path, capsys):
    _shop(tmp_path, customers=60)
    customer_value_fit()
    with pytest.raises(CommandError, match="No purchases with a customer up to 2023-06-30"):
        call_command("clv", "--calibration-end", "2023-06-30", "--json")  # before every first purchase
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "failed" and out["stored"] == 0
    assert CustomerValue.objects.count() == 60
    assert ValueFit.objects.filter(status="failed").count() == 1


def test_command_refuses_bad_options(tmp_path):
    with pytest.raises(CommandError, match="--calibration-end: '30/09/1997' is not a date"):
        call_command("clv", "--calibration-end", "30/09/1997")
    with pytest.raises(CommandError, match="holdout_end: 1997-01-01 is before calibration_end 1997-09-30"):
        call_command("clv", "--calibration-end", "1997-09-30", "--holdout-end", "1997-01-01")
    with pytest.raises(CommandError, match="horizon_weeks: must be at least 1"):
        call_command("clv", "--horizon-weeks", "0")


def test_no_dropout_is_a_boundary_fit_stored_with_its_reason(tmp_path, capsys, viewer_client):
    _shop(tmp_path, customers=80, dropout=False)
    call_command("clv", "--json", "--no-pareto")
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "boundary" and out["reason"].startswith("no dropout")
    assert out["bgnbd"]["fallback"] == "nbd"  # predictions from the no-dropout model
    assert out["stored"] == 80
    assert "pareto_nbd" not in out
    assert CustomerValue.objects.filter(p_alive=1.0).count() == 80  # no dropout: everyone still active
    page = viewer_client.get(reverse("customers:detail", args=["K0"])).content.decode()
    assert "On a boundary (no-dropout fallback)" in page


def test_task_calls_the_service(tmp_path):
    _shop(tmp_path, customers=50)
    assert fit_customer_values.apply(kwargs={"horizon_weeks": 13}).get() in ("ok", "boundary")
    fit = ValueFit.objects.get()
    assert fit.horizon_weeks == 13 and "pareto_nbd" not in fit.params  # the slow comparison is skipped


def test_customer_page_shows_orders_and_value_to_a_viewer(tmp_path, viewer_client, client):
    _shop(tmp_path, customers=60)
    customer_value_fit()
    customer = Customer.objects.get(external_id="K1")
    purchases = customer_purchases(customer=customer)
    url = reverse("customers:detail", args=["K1"])

    page = viewer_client.get(url).content.decode()

    assert f"<dt>Orders</dt><dd>{purchases.orders}</dd>" in page
    assert "P(active)" in page and f"{purchases.value.expected_purchases:.2f}" in page
    assert f"{purchases.value.expected_value:.2f}" in page
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_customer_page_without_a_value_says_how_to_get_one(viewer_client):
    Customer.objects.create(external_id="<b>x</b>")
    page = viewer_client.get(reverse("customers:detail", args=["<b>x</b>"])).content.decode()
    assert "No lifetime value yet" in page and "<dt>Orders</dt><dd>0</dd>" in page
    assert "<b>x</b>" not in page


def test_a_value_the_spend_model_cannot_give_is_stored_as_missing(tmp_path, monkeypatch):
    real = value_service.clv_scores

    def some_missing(*args, **kwargs):
        scores = real(*args, **kwargs)
        scores.iloc[::2, scores.columns.get_loc("clv")] = np.nan
        return scores

    monkeypatch.setattr(value_service, "clv_scores", some_missing)
    _shop(tmp_path, customers=40)
    customer_value_fit()
    assert CustomerValue.objects.filter(expected_value__isnull=True).count() == 20
    assert CustomerValue.objects.filter(expected_value__gt=0).count() == 20
