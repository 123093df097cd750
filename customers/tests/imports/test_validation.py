"""Checking chunks: normalised values, problems per row, duplicates across chunks, attribute kinds."""

from __future__ import annotations

import pandas as pd

from customers.imports.columns import columns_plan
from customers.imports.validation import KindTracker, chunk_validate, problems_message, rejected_csv


def frame(rows: list[list[str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=range(len(rows[0])), dtype=str)


def test_valid_rows_are_normalised_and_bad_ones_rejected_with_reasons():
    plan = columns_plan(["ID", "Gender", "Age", "Joined"])
    seen: dict[str, int] = {}
    kinds = KindTracker()
    result = chunk_validate(
        frame([[" 1 ", "F", "30", "2024-01-02"], ["2", "robot", "200", "x"], ["", "", "", ""]]), 2, plan, seen, kinds
    )
    assert result.clean[["row", "external_id", "gender", "age", "a_0"]].values.tolist() == [
        [2, "1", "female", "30", "2024-01-02"]
    ]
    assert result.rejected == [
        (
            3,
            ["2", "robot", "200", "x"],
            "row 3, column Gender: 'robot' is not a gender (use Female/F/2, Male/M/1, Other/X or Unknown/U); "
            "row 3, column Age: '200' is out of range: must be between 0 and 120",
        )
    ]
    assert kinds.kind("joined") == "date"  # only the valid rows count
    later = chunk_validate(frame([["1", "m", "", "later"]]), 5, plan, seen, kinds)
    assert later.rejected[0][2] == "row 5, column ID: '1' is a duplicate of row 2"


def test_kinds_over_chunks():
    kinds = KindTracker()
    kinds.update("n", pd.Series(["1", "2.5", ""]))
    kinds.update("t", pd.Series(["1"]))
    kinds.update("t", pd.Series(["A7"]))
    kinds.update("e", pd.Series([""]))
    assert (kinds.kind("n"), kinds.kind("t"), kinds.kind("e")) == ("number", "text", None)


def test_refusal_message_and_rejected_csv():
    plan = columns_plan(["ID", "Age"])
    rejected = [(i, [str(i), "x"], f"row {i}, column Age: 'x' is not a number") for i in range(2, 15)]
    assert problems_message(rejected[:1], 1) == "row 2, column Age: 'x' is not a number. Nothing was imported."
    message = problems_message(rejected, 13)
    assert message.startswith("13 rows have problems") and message.endswith("; and 3 more rows.")
    assert rejected_csv(plan, rejected[:1]).splitlines() == [
        "row,ID,Age,reason",
        "2,2,x,\"row 2, column Age: 'x' is not a number\"",
    ]
