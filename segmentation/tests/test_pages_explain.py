"""Readable rules from a shallow decision tree (pure)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from segmentation.ml.charts import feature_name, feature_unit
from segmentation.ml.explain import segment_rules


def _describe(f):
    return feature_name(f).lower(), feature_unit(f)


def test_rule_for_a_corner_segment():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"annual_income": rng.uniform(15, 137, 2000), "spending_score": rng.uniform(1, 100, 2000)})
    y = ((X.annual_income > 70) & (X.spending_score > 60)).to_numpy()
    rules = segment_rules(X, y, describe=_describe)
    best = rules[0]
    # The rule reads the segment's lower edges in this sample, shown as whole numbers.
    income, score = X.annual_income[y].min(), X.spending_score[y].min()
    assert best.text == f"annual income > {income:.0f} k$ and spending score > {score:.0f} 1–100"
    assert best.precision > 0.95 and best.coverage > 0.95


def test_no_rule_when_nothing_or_everything():
    X = pd.DataFrame({"age": [20.0, 30.0, 40.0]})
    assert segment_rules(X, np.array([False, False, False])) == []
    assert segment_rules(X, np.array([True, True, True])) == []


def test_missing_values_are_ignored():
    X = pd.DataFrame({"age": [20.0, np.nan, 60.0, 65.0] * 20})
    y = (X.age.fillna(0) > 50).to_numpy()
    rules = segment_rules(X, y)
    assert rules and rules[0].precision == 1.0
