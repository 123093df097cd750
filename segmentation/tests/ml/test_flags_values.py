"""Flags from lifetime values (`flags_with_values`): high value = highest average expected value, at risk =
high past value and low P(active); today's flags when no segment has values."""

from __future__ import annotations

import pytest

from segmentation.ml.flags import SegmentValue, flags_with_values


def _v(n, total, p, past, churn=0.0):
    return SegmentValue(customers=n, total_value=total, mean_p_alive=p, churn_share=churn, past_value=past)


def test_without_values_the_flags_stay():
    flags = [["high_value", "at_risk"], ["budget"]]
    assert flags_with_values(flags, [None, None]) == flags
    assert flags_with_values(flags, [_v(0, 0, 0, 0), None]) == flags


def test_high_value_follows_expected_value_and_at_risk_needs_past_value_and_low_p_alive():
    flags = [["high_value", "mainstream"], ["budget", "at_risk"], ["upsell"], []]
    figures = [
        _v(10, 1000.0, 0.9, 5000.0),  # 100 each: high past value, active
        _v(10, 3000.0, 0.8, 2000.0),  # 300 each: the highest expected value
        _v(10, 200.0, 0.2, 9000.0),  # high past value, probably gone: at risk
        _v(10, 100.0, 0.1, 100.0),  # low past value: gone but not "at risk"
    ]
    got = flags_with_values(flags, figures)
    assert got == [["mainstream"], ["high_value", "budget"], ["upsell", "at_risk"], []]


def test_ties_share_high_value_and_a_segment_without_values_gets_neither():
    got = flags_with_values([[], [], ["at_risk"]], [_v(2, 10.0, 0.9, 1), _v(4, 20.0, 0.9, 1), None])
    assert got == [["high_value"], ["high_value"], []]


def test_no_dropout_means_nobody_at_risk():
    got = flags_with_values([["at_risk"], []], [_v(5, 50.0, 1.0, 900.0), _v(5, 10.0, 1.0, 10.0)])
    assert got == [["high_value"], []]


def test_figures_are_derived_and_checked():
    v = _v(4, 100.0, 0.75, 40.0, churn=0.25)
    assert v.mean_value == 25.0 and v.churn_risk == 0.25 and v.past_value_per_customer == 10.0
    with pytest.raises(ValueError, match="figures: expected 2 \\(one per segment\\); got 1"):
        flags_with_values([[], []], [None])
