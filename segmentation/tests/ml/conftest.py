"""Helpers for the engine's tests: plain pytest, no database."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest


def read_mall(path: Path) -> pd.DataFrame:
    """mall_customers.csv mapped to canonical columns, CustomerID as the index."""
    raw = pd.read_csv(path)
    df = pd.DataFrame(
        {
            "external_id": raw["CustomerID"].astype(str).to_numpy(),
            "gender": raw["Genre"].str.lower().to_numpy(),
            "age": raw["Age"].to_numpy(),
            "annual_income": raw["Annual Income (k$)"].to_numpy(),
            "spending_score": raw["Spending Score (1-100)"].to_numpy(),
        },
        index=pd.Index(raw["CustomerID"].astype(int).to_numpy(), name="id"),
    )
    return df


@pytest.fixture
def mall(mall_csv) -> pd.DataFrame:
    return read_mall(mall_csv)
