"""Golden tests of the recommendation maths on tiny fixed data (no database)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from segmentation.ml.errors import EngineInputError
from segmentation.ml.recommend import RecommendConfig, build_interactions, clean_order_lines, recommend, segment_lift
from segmentation.ml.recommend.metrics import summarise
from segmentation.ml.recommend.models import ALS, Blend, ItemKNN, Popularity, SegmentPopularity, top_n


def lines(rows):
    return pd.DataFrame(rows, columns=["customer", "product", "date"])


TINY = lines(
    [
        ("a", "P1", "2024-01-01"),
        ("a", "P1", "2024-01-01"),  # same day: counts once
        ("a", "P1", "2024-02-01"),
        ("a", "P2", "2024-01-01"),
        ("b", "P1", "2024-01-05"),
        ("b", "P2", "2024-01-05"),
        ("b", "P3", "2024-03-01"),
        ("c", "P3", "2024-03-02"),
        ("c", "P4", "2024-03-02"),
        ("d", "P1", "2024-03-03"),
    ]
)


def test_interactions_count_distinct_days_and_keep_the_latest():
    inter = build_interactions(TINY)
    assert list(inter.customers) == ["a", "b", "c", "d"]
    assert list(inter.products) == ["P1", "P2", "P3", "P4"]
    assert inter.matrix[0, 0] == 2 and inter.matrix[0, 1] == 1
    assert inter.last_day[0, 0] == (np.datetime64("2024-02-01") - np.datetime64("1970-01-01")).astype(int)
    assert inter.nnz == 8


def test_metrics_by_hand():
    recommended = np.array([[0, 1, 2, -1, -1, -1, -1, -1, -1, -1], [3, 2, 1, 0, -1, -1, -1, -1, -1, -1]])
    relevant = sparse.csr_matrix(np.array([[0, 1, 0, 0], [1, 0, 0, 1]]))
    out = summarise(recommended, relevant, n_products=5)
    ndcg_a = (1 / np.log2(3)) / 1.0
    ndcg_b = (1 + 1 / np.log2(5)) / (1 + 1 / np.log2(3))
    assert out["ndcg_at_10"] == pytest.approx((ndcg_a + ndcg_b) / 2, abs=1e-4)
    assert out["hit_rate_at_10"] == 1.0
    assert out["precision_at_10"] == pytest.approx((0.1 + 0.2) / 2)
    assert out["recall_at_10"] == pytest.approx(1.0)
    assert out["map_at_10"] == pytest.approx(((1 / 2) + (1 + 2 / 4) / 2) / 2, abs=1e-4)
    assert out["coverage"] == pytest.approx(4 / 5)


def test_popularity_counts_recent_distinct_buyers_and_excludes_bought():
    inter = build_interactions(TINY)
    everyone = Popularity(None).fit(inter)
    assert list(everyone.buyers_) == [3, 2, 2, 1]
    recent = Popularity(10).fit(inter)  # 2024-02-23 .. 2024-03-03: b (P3), c (P3, P4), d (P1)
    items, _ = top_n(recent, inter, np.array([3]), 3)
    assert list(items[0]) == [2, 3, 1]  # d bought P1: left out; P3 two recent buyers, then P4, then P2
    kept, _ = top_n(recent, inter, np.array([3]), 2, exclude_bought=False)
    assert kept[0, 0] == 2


def test_segment_popularity_falls_back_to_global_for_small_or_missing_segments():
    inter = build_interactions(TINY)
    model = SegmentPopularity(["x", "x", "y", None], recent_days=None, min_members=2).fit(inter)
    assert set(model.segment_scores_) == {"x"}
    scores = model.score(np.array([0, 2, 3]))
    assert np.argmax(scores[0]) == 0  # within x (a, b) P1 and P2 both 2 buyers: P1 by all-time tie-break
    assert np.allclose(scores[1], model.global_.scores_) and np.allclose(scores[2], model.global_.scores_)


def test_item_knn_scores_products_bought_with_the_customers_products():
    inter = build_interactions(TINY)
    model = ItemKNN(neighbours=10, shrink=0).fit(inter)
    # P1 and P2 are bought together by a and b: their cosine is 2 / sqrt(3 * 2).
    assert model.similarity_[0, 1] == pytest.approx(2 / np.sqrt(6), rel=1e-5)
    items, _ = top_n(model, inter, np.array([3]), 1)  # d bought P1 only
    assert items[0, 0] == 1


def test_als_and_blend_are_deterministic_under_random_state():
    inter = build_interactions(TINY)
    one = ALS(factors=4, iterations=5, random_state=3, num_threads=1).fit(inter)
    two = ALS(factors=4, iterations=5, random_state=3, num_threads=1).fit(inter)
    assert np.array_equal(one.item_factors_, two.item_factors_)
    blend = Blend(one, Popularity(None).fit(inter), weight=1.0).fit(inter)
    items, _ = top_n(blend, inter, np.array([2]), 2)  # weight 1: pure popularity, c bought P3, P4
    assert list(items[0]) == [0, 1]


def test_clean_order_lines_keeps_purchases_only():
    raw = pd.DataFrame(
        {
            "customer": ["a", None, "a", "a", "a", "a"],
            "product": ["P1", "P1", "P1", "POST", "P2", "P3"],
            "date": ["2024-01-01"] * 6,
            "order": ["1", "2", "C3", "4", "5", "6"],
            "quantity": [1, 1, 1, 1, -2, 1],
            "price": [1.0, 1.0, 1.0, 1.0, 1.0, 0.0],
        }
    )
    kept = clean_order_lines(raw, non_product_codes=["post"])
    assert list(kept["order"]) == ["1"]


def shop(seed: int = 0) -> pd.DataFrame:
    """A small planted shop: two groups with their own baskets, 120 days of history."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(60):
        group = c % 2
        basket = [f"G{group}-{i}" for i in range(8)]
        for day in rng.choice(120, size=6, replace=False):
            for product in rng.choice(basket, size=3, replace=False):
                rows.append((f"c{c:02d}", product, pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(day))))
            if rng.random() < 0.3:
                rows.append((f"c{c:02d}", "HIT", pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(day))))
    return lines(rows)


def test_recommend_run_evaluates_serves_and_explains():
    frame = shop()
    segments = {f"c{c:02d}": f"group {c % 2}" for c in range(60)}
    config = RecommendConfig(holdout_days=30, factors=8, iterations=5, min_segment_members=5, random_state=1)
    result = recommend(frame, segments=segments, customers=[*segments, "newcomer"], config=config)
    assert result.ok, result.reason
    assert set(result.metrics) == {"popularity", "segment_popularity", "item_knn", "als", "blend"}
    pop = result.metrics["popularity"]
    assert set(pop["per_segment"]) == {"group 0", "group 1"}
    assert "one_prior_order" in pop
    # validation ends where the holdout starts: parameters are never chosen on the holdout
    assert result.validation["window"][1] == result.holdout["from"]
    if result.served != "popularity":
        assert result.metrics[result.served]["ndcg_at_10"] > pop["ndcg_at_10"]
    recs = result.recommendations
    assert recs.groupby("customer")["rank"].max().max() <= 10
    newcomer = recs[recs["customer"] == "newcomer"]
    assert len(newcomer) == 10 and set(newcomer["reason"]) == {"popular"} and newcomer["cold_start"].all()
    # no already-bought product is recommended
    bought = set(zip(frame["customer"], frame["product"], strict=True))
    assert not any((c, p) in bought for c, p in zip(recs["customer"], recs["product"], strict=True))
    again = recommend(frame, segments=segments, customers=[*segments, "newcomer"], config=config)
    pd.testing.assert_frame_equal(recs, again.recommendations)
    assert again.metrics == result.metrics


def test_a_model_that_does_not_beat_popularity_is_not_served():
    frame = shop()
    config = RecommendConfig(models=("popularity",), holdout_days=30)
    result = recommend(frame, config=config)
    assert result.served == "popularity" and "Only popularity" in result.served_reason


def test_too_little_data_is_a_result_with_a_reason():
    assert not recommend(lines([])).ok
    short = recommend(TINY, config=RecommendConfig(holdout_days=400))
    assert not short.ok and "leaves no" in short.reason
    with pytest.raises(EngineInputError):
        RecommendConfig(models=("als",))


def test_segment_lift_names_the_products_that_define_a_segment():
    frame = shop()
    inter = build_interactions(frame)
    labels = np.array([f"group {int(c[1:]) % 2}" for c in inter.customers], dtype=object)
    lift = segment_lift(inter, labels, top=3, min_buyers=3)
    assert set(lift["segment"]) == {"group 0", "group 1"}
    top0 = lift[lift["segment"] == "group 0"]
    assert top0["product"].str.startswith("G0").all() and (top0["lift"] > 1.9).all()
