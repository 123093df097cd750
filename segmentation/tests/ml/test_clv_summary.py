"""The CLV summary from transactions: day collapse, weeks, repeat-spend mean, holdout counts, bad input."""

from __future__ import annotations

import pandas as pd
import pytest

from segmentation.ml.clv import clv_summary
from segmentation.ml.errors import EngineInputError


def _tx(rows):
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"])


def test_same_day_purchases_collapse_and_times_are_weeks():
    tx = _tx(
        [
            ("a", "2024-01-01", 10.0),
            ("a", "2024-01-01", 5.0),  # same day: one purchase of 15
            ("a", "2024-01-15", 20.0),
            ("a", "2024-01-29", 40.0),
            ("b", "2024-01-08", 7.0),
            ("a", "2024-02-05", 99.0),  # holdout
            ("a", "2024-02-05", 1.0),  # holdout, same day
            ("c", "2024-02-06", 3.0),  # first purchase after calibration: not in the summary
        ]
    )
    s = clv_summary(tx, calibration_end="2024-01-29", observation_end="2024-02-26")
    assert list(s.index) == ["a", "b"]
    a, b = s.loc["a"], s.loc["b"]
    assert (a["x"], a["t_x"], a["T"]) == (2, 4.0, 4.0)
    assert a["monetary_value"] == 30.0  # mean of the repeat purchases only (20, 40), not the first (15)
    assert (b["x"], b["t_x"], b["T"], b["monetary_value"]) == (0, 0.0, 3.0, 0.0)
    assert s["holdout"].tolist() == [1, 0]
    assert s.attrs["holdout_length"] == 4.0


def test_without_observation_end_there_is_no_holdout_and_later_rows_are_ignored():
    tx = _tx([("a", "2024-01-01", 1.0), ("a", "2024-03-01", 1.0)])
    s = clv_summary(tx, calibration_end="2024-01-31")
    assert "holdout" not in s.columns and s.loc["a", "x"] == 0


def test_cdnow_style_dates_and_other_column_names():
    tx = pd.DataFrame({"cust": [1, 1], "day": ["19970101", "19970108"], "spend": [1.0, 2.0]})
    s = clv_summary(tx, calibration_end="1997-01-08", customer_col="cust", date_col="day", amount_col="spend")
    assert s.loc[1, "x"] == 1 and s.loc[1, "T"] == 1.0 and s.index.name == "cust"


@pytest.mark.parametrize(
    ("rows", "kwargs", "match"),
    [
        ([("a", "not a day", 1.0)], {}, r"row 0: column date: not a date: 'not a day'"),
        ([("a", "2024-01-01", 1.0), ("a", "2024-01-02", "ten")], {}, r"row 1: column amount: not a number: 'ten'"),
        ([("a", "2024-01-01", 1.0)], {"calibration_end": "soon"}, r"calibration_end: not a date"),
        (
            [("a", "2024-01-01", 1.0)],
            {"observation_end": "2023-01-01"},
            r"observation_end: 2023-01-01 is before calibration_end",
        ),
    ],
)
def test_bad_input_is_named(rows, kwargs, match):
    with pytest.raises(EngineInputError, match=match):
        clv_summary(_tx(rows), **{"calibration_end": "2024-01-31", **kwargs})


def test_missing_column_is_named():
    with pytest.raises(EngineInputError, match=r"missing column\(s\) amount"):
        clv_summary(pd.DataFrame({"customer_id": [1], "date": ["2024-01-01"]}), calibration_end="2024-01-31")
