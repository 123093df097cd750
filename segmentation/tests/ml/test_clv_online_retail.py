"""Online Retail's purchases show no measurable dropout: BG/NBD is reported as on a boundary (the rule in
`segmentation.ml.clv.fitting.boundary_verdict`), CDNOW's is not. Skipped with a reason when the shared
datasets folder is absent.

Purchases are built as the database does (customers.orders.value_selectors.order_transactions): lines
with a customer, no C-invoices, no non-product codes, an order is a purchase when it buys something.
"""

from __future__ import annotations

import pandas as pd
import pytest

from segmentation.ml.clv import BGNBD, clv_report, clv_summary
from segmentation.ml.clv.fitting import LR_ALPHA

NON_PRODUCT = {
    "POST",
    "DOT",
    "M",
    "C2",
    "D",
    "S",
    "B",
    "CRUK",
    "PADS",
    "BANK CHARGES",
    "AMAZONFEE",
    "ADJUST",
    "ADJUST2",
}


@pytest.fixture(scope="module")
def purchases() -> pd.DataFrame:
    from tests.fixtures import datasets_dir

    path = datasets_dir() / "online_retail" / "online_retail.csv.gz"
    if not path.is_file():
        pytest.skip(f"Online Retail not found at {path} (set SEGMENTA_DATASETS)")
    lines = pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str})
    lines = lines[lines["CustomerID"].notna() & ~lines["InvoiceNo"].str.startswith("C")]
    lines = lines[~lines["StockCode"].str.upper().isin(NON_PRODUCT)]
    lines = lines.assign(amount=lines["Quantity"] * lines["UnitPrice"], bought=lines["Quantity"] >= 0)
    orders = lines.groupby("InvoiceNo").agg(
        customer_id=("CustomerID", "first"),
        date=("InvoiceDate", "first"),
        amount=("amount", "sum"),
        bought=("bought", "any"),
    )
    orders = orders[orders["bought"]].reset_index()
    orders["date"] = pd.to_datetime(orders["date"])
    return orders


def test_online_retail_bgnbd_is_on_a_boundary_with_the_nbd_fallback(purchases):
    summary = clv_summary(purchases, calibration_end=purchases["date"].max())
    assert 4300 <= len(summary) <= 4400
    model = BGNBD().fit(summary["x"], summary["t_x"], summary["T"])
    fit = model.result_
    assert fit.status == "boundary" and fit.fallback == "nbd"
    assert fit.params["a"] < 0.01  # a -> 0: dropout after a purchase is negligible
    test = fit.extra["dropout_test"]
    assert test["statistic"] < 1.0 and test["p_value"] >= LR_ALPHA
    assert fit.reason.startswith("no dropout") and "likelihood ratio" in fit.reason
    p_alive = model.probability_alive(summary["x"], summary["t_x"], summary["T"])
    assert (p_alive == 1.0).all()  # nobody is predicted to have left: the fallback has no dropout


def test_online_retail_report_still_predicts_the_holdout(purchases):
    report = clv_report(purchases, calibration_end="2011-09-09", holdout_end="2011-12-09", pareto=False)
    data = report.as_dict()
    assert data["status"] == "boundary" and data["bgnbd"]["fallback"] == "nbd"
    assert data["holdout"]["predicted"] > 0 and data["dropout_test"]["p_value"] >= LR_ALPHA


def test_cdnow_dropout_is_clearly_supported():
    from tests.fixtures import datasets_dir

    path = datasets_dir() / "cdnow" / "cdnow_customers_summary.csv"
    if not path.is_file():
        pytest.skip(f"CDNOW summary not found at {path} (set SEGMENTA_DATASETS)")
    summary = pd.read_csv(path)
    fit = BGNBD().fit(summary["frequency"], summary["recency"], summary["T"]).result_
    assert fit.status == "ok"
    assert fit.extra["dropout_test"]["statistic"] > 50 and fit.extra["dropout_test"]["p_value"] < 1e-6
