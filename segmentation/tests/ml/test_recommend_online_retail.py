"""Issue 13's protocol on Online Retail (engine only, no database).

Cleaned as the purchase-history issue does (no customer, cancellations, non-positive quantity or
price and non-product codes removed), split by date at 2011-11-09; evaluated customers are in
training and buy in the test period at least one product they never bought before; 10
recommendations excluding bought products. Goal: the served model at NDCG@10 >= 0.105 and
HitRate@10 >= 0.48. Skipped with a reason when the shared datasets folder is absent.
"""

from __future__ import annotations

import pandas as pd
import pytest

from segmentation.ml.recommend import RecommendConfig, clean_order_lines, recommend

NON_PRODUCT = "POST DOT M C2 D S B CRUK PADS AMAZONFEE ADJUST ADJUST2".split() + ["BANK CHARGES"]


@pytest.fixture(scope="module")
def purchases() -> pd.DataFrame:
    from tests.fixtures import datasets_dir

    path = datasets_dir() / "online_retail" / "online_retail.csv.gz"
    if not path.is_file():
        pytest.skip(f"Online Retail not found at {path} (set SEGMENTA_DATASETS)")
    raw = pd.read_csv(path, dtype={"CustomerID": "string", "InvoiceNo": str, "StockCode": str})
    frame = raw.rename(
        columns={
            "CustomerID": "customer",
            "StockCode": "product",
            "InvoiceDate": "date",
            "Quantity": "quantity",
            "UnitPrice": "price",
            "InvoiceNo": "order",
        }
    )
    return clean_order_lines(frame, non_product_codes=NON_PRODUCT)


@pytest.fixture(scope="module")
def result(purchases):
    return recommend(purchases, config=RecommendConfig(holdout_from="2011-11-09"))


def test_online_retail_split_and_cleaning(purchases, result):
    assert result.ok, result.reason
    assert (len(purchases), purchases["customer"].nunique(), purchases["product"].nunique()) == (396_337, 4_334, 3_659)
    assert result.holdout == {"from": "2011-11-09", "to": "2011-12-09", "customers": result.holdout["customers"]}
    assert 1_200 <= result.holdout["customers"] <= 1_400
    assert result.validation["window"] == ["2011-10-09", "2011-11-09"]


def test_online_retail_served_model_reaches_the_goal(result):
    metrics = result.metrics
    report = {m: (v["ndcg_at_10"], v["hit_rate_at_10"], v["coverage"]) for m, v in metrics.items()}
    print("measured (NDCG@10, HitRate@10, coverage):", report, "served:", result.served, result.params)
    served = metrics[result.served]
    assert result.served != "popularity"
    assert served["ndcg_at_10"] >= 0.105, report
    assert served["hit_rate_at_10"] >= 0.48, report
    # each model beside the popularity baseline, as the issue reports them (this machine, this split)
    assert metrics["item_knn"]["ndcg_at_10"] > 0.075
    assert metrics["als"]["ndcg_at_10"] > 0.09
    assert metrics["blend"]["ndcg_at_10"] > metrics["popularity"]["ndcg_at_10"]
    assert set(served["one_prior_order"]) >= {"ndcg_at_10", "hit_rate_at_10", "customers"}
    lists = result.recommendations
    assert lists["customer"].nunique() == result.customers == 4_334
    assert (lists.groupby("customer").size() <= 10).all()
