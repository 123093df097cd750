"""RFM scoring and groups (pure): the rule table, quintile and configured cut points, ties, the result."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segmentation.ml.rfm import (
    RFM_FLAG_LABELS,
    RFM_GROUPS,
    RFM_STRATEGIES,
    rfm_cuts,
    rfm_cuts_errors,
    rfm_group_grid,
    rfm_groups,
    rfm_scores,
    rfm_segment,
)
from segmentation.ml.types import SegmentationConfig

CONFIG = SegmentationConfig(features=("recency", "frequency", "monetary"))


def test_the_rule_table_covers_every_r_f_pair_and_names_the_eleven_groups():
    grid = rfm_group_grid()
    assert (grid[1:, 1:] >= 0).all()
    names = {RFM_GROUPS[i].name for i in np.unique(grid[1:, 1:])}
    assert names == {
        "Champions",
        "Loyal",
        "Potential loyalists",
        "New",
        "Promising",
        "Need attention",
        "About to sleep",
        "At risk",
        "Can't lose them",
        "Hibernating",
        "Lost",
    }
    assert set(RFM_STRATEGIES) == {g.slug for g in RFM_GROUPS}
    assert RFM_FLAG_LABELS["rfm_champions"][0] == "RFM: Champions"


@pytest.mark.parametrize(
    ("r", "f", "group"),
    [(5, 5, "Champions"), (5, 1, "New"), (4, 1, "Promising"), (3, 3, "Need attention"), (1, 5, "Can't lose them")]
    + [(1, 1, "Lost"), (2, 2, "Hibernating"), (2, 4, "At risk"), (4, 4, "Loyal"), (4, 2, "Potential loyalists")],
)
def test_groups_by_r_and_f(r, f, group):
    index = rfm_groups(pd.DataFrame({"r": [r], "f": [f], "m": [3]}))[0]
    assert RFM_GROUPS[index].name == group


def test_quintile_scores_recency_reversed_and_ties_never_split():
    values = pd.DataFrame(
        {
            "recency": [0, 10, 20, 30, 40, 50, 60, 70, 80, 90],
            "frequency": [1, 1, 1, 1, 1, 2, 2, 3, 5, 9],
            "monetary": [10, 20, 30, 40, 50, 60, 70, 80, 90, 100],
        }
    )
    cuts = rfm_cuts(values)
    scores = rfm_scores(values, cuts)
    assert scores["r"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]  # fewer days, better
    assert scores["m"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # half bought once: the 20 % and 40 % quantiles are both 1, so score 2 is empty and all ones score 1
    assert cuts["frequency"][:2] == [1.0, 1.0]
    assert scores["f"].tolist()[:5] == [1] * 5
    assert 2 not in scores["f"].tolist()


def test_a_value_equal_to_a_configured_cut_point_takes_the_lower_bin():
    values = pd.DataFrame({"recency": [7, 8], "frequency": [2, 3], "monetary": [100, 101]})
    cuts = rfm_cuts(values, {"recency": [7, 30, 90, 180], "frequency": [2, 4, 6, 8], "monetary": [100, 200, 300, 400]})
    scores = rfm_scores(values, cuts)
    assert scores["r"].tolist() == [5, 4]
    assert scores["f"].tolist() == [1, 2]
    assert scores["m"].tolist() == [1, 2]


@pytest.mark.parametrize(
    ("cuts", "message"),
    [
        ({"age": [1, 2, 3, 4]}, "'age'"),
        ({"frequency": [1, 2, 3]}, "four numbers"),
        ({"frequency": [4, 3, 2, 1]}, "ascending"),
        ([1, 2], "expected"),
    ],
)
def test_bad_cut_points_are_named(cuts, message):
    assert message in rfm_cuts_errors(cuts)["rfm_cuts"]


def test_good_or_no_cut_points_pass():
    assert rfm_cuts_errors({}) == {}
    assert rfm_cuts_errors({"monetary": [10, 100, 1000, 10000.5]}) == {}


def _customers(n: int = 400, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "recency": rng.integers(0, 365, n).astype(float),
            "frequency": rng.geometric(0.4, n).astype(float),
            "monetary": rng.gamma(2.0, 300.0, n),
        },
        index=pd.RangeIndex(1, n + 1, name="id"),
    )
    frame.iloc[:7] = np.nan  # no purchase: not scored
    return frame


def test_one_segment_per_non_empty_group_with_labels_aligned_and_evidence():
    df = _customers()
    result = rfm_segment(df, CONFIG)
    assert result.ok and result.chosen_k == len(result.segments)
    assert result.rows_used == 393 and result.rows_dropped == 7 and sum(result.excluded.values()) == 7
    assert len(result.labels) == len(result.index) == 393
    assert sum(s.size for s in result.segments) == 393
    names = [s.name for s in result.segments]
    order = [g.name for g in RFM_GROUPS]
    assert names == sorted(names, key=order.index)  # in the rule table's order
    for s in result.segments:
        assert s.flags == [next(g.flag for g in RFM_GROUPS if g.name == s.name)]
        assert s.strategy.startswith("Offer: ") and "Channel: " in s.strategy
        members = df.loc[result.index[result.labels == s.label]]
        assert s.centroid["recency"] == pytest.approx(members["recency"].mean())
    assert result.details["groups"] == {s.name: s.size for s in result.segments}
    assert set(result.details["cuts"]) == {"recency", "frequency", "monetary"}
    assert result.details["cuts_source"]["recency"] == "quintiles"


def test_too_few_customers_or_no_behaviour_columns_is_a_reason_not_a_crash():
    tiny = _customers(10)
    assert not rfm_segment(tiny, CONFIG).ok
    result = rfm_segment(pd.DataFrame({"age": [1.0, 2.0]}), CONFIG)
    assert not result.ok and "recency" in result.reason
