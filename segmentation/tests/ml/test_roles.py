"""Roles in the engine: validated with the configuration, and the source of flags and strategy wording."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segmentation.ml import SegmentationConfig, segment
from segmentation.ml.config import config_errors
from segmentation.ml.fields import FEATURE_ROLES, ROLES, roles_for, units_for
from segmentation.ml.flags import role_scores
from segmentation.ml.strategies import STRATEGY_RULES, role_words, strategy_rationale
from tests.synth import WHOLESALE_SPEND, wholesale_like

SPEND = tuple(WHOLESALE_SPEND)
VALID = {"features": ["annual_income"], "scaler": "minmax", "k": None, "k_min": 2, "k_max": 10, "missing": "drop"}
VALID |= {"random_state": 42}


def test_canonical_roles_and_units():
    assert ROLES == ("monetary", "frequency", "recency", "capacity", "demographic", "other")
    assert FEATURE_ROLES["annual_income"] == "capacity" and FEATURE_ROLES["spending_score"] == "monetary"
    assert roles_for(["age", "income", "MntWines"], known={"income": "capacity"}) == {
        "age": "demographic", "income": "capacity", "MntWines": "other",
    }  # fmt: skip
    assert units_for(["annual_income", "income"], known={"income": "$"}) == {"annual_income": "k$", "income": "$"}


def test_an_unknown_role_is_an_error_naming_the_allowed_roles_and_the_value():
    errors = config_errors(VALID | {"roles": {"annual_income": "capacity", "x": "wealth"}}, available=["annual_income"])
    assert errors == {"roles": f"allowed are {', '.join(ROLES)}; got 'wealth' for 'x'"}
    assert config_errors(VALID | {"roles": "capacity"}, available=["annual_income"])["roles"].startswith(
        "expected a mapping of feature to role; got 'capacity'"
    )
    assert "units" in config_errors(VALID | {"units": {"annual_income": 3}}, available=["annual_income"])
    assert (
        config_errors(VALID | {"roles": {"annual_income": "capacity"}, "units": {}}, available=["annual_income"]) == {}
    )


def test_roles_and_units_travel_with_the_config():
    config = SegmentationConfig(features=("income",), roles={"income": "capacity"}, units={"income": "$"})
    again = SegmentationConfig.from_dict(config.to_dict())
    assert again.roles == {"income": "capacity"} and again.units == {"income": "$"}
    assert SegmentationConfig.from_dict({"features": ["age"]}).roles == {}


def test_role_scores_sum_a_shared_unit_and_add_z_scores_otherwise():
    values = np.array([[1.0, 100.0], [2.0, 300.0], [3.0, 200.0]])
    same = role_scores(values, ["a", "b"], roles={"a": "monetary", "b": "monetary"}, units={"a": "$", "b": "$"})
    assert same["monetary"].tolist() == [101.0, 302.0, 203.0]
    mixed = role_scores(values, ["a", "b"], roles={"a": "monetary", "b": "monetary"}, units={"a": "1–100", "b": "$"})
    z = (values - values.mean(axis=0)) / values.std(axis=0)
    assert mixed["monetary"] == pytest.approx(z.sum(axis=1))


@pytest.mark.parametrize("units", [{}, dict.fromkeys(SPEND, "m.u.")])
def test_wholesale_like_highest_spend_segment_is_high_value(units):
    df = wholesale_like()
    roles = dict.fromkeys(SPEND, "monetary")
    result = segment(df, SegmentationConfig(features=SPEND, scaler="standard", k=4, roles=roles, units=units))

    assert result.ok, result.reason
    totals = [sum(s.centroid[c] for c in SPEND) for s in result.segments]
    top = int(np.argmax(totals))
    assert [i for i, s in enumerate(result.segments) if "high_value" in s.flags] == [top]
    assert result.segments[top].strategy_key == "retain_and_reward"
    assert result.segments[top].role_levels["monetary"] == "high"
    assert sum(s.strategy_key == "default" for s in result.segments) < len(result.segments) - 1
    for s in result.segments:  # no income in this table: no strategy speaks of it
        assert "income" not in s.strategy.lower()


def planted_personality(seed: int = 5) -> pd.DataFrame:
    """Four planted groups, one per flag, in Personality-like columns: income in dollars (capacity), Mnt* spend
    (monetary), Num*Purchases (frequency), Recency (recency). Not a shape imitation (that is tests/synth.py):
    each group is made to earn one flag."""
    rng = np.random.default_rng(seed)
    groups = [  # size, income $, wines, meat, fish, web, store, recency
        (150, 78_000, 630, 450, 90, 6, 9, 25),  # rich and spending: high value
        (120, 80_000, 40, 30, 8, 2, 3, 30),  # rich, spending little: upsell
        (200, 32_000, 25, 20, 5, 2, 3, 28),  # poor, spending little: budget
        (100, 52_000, 300, 160, 40, 5, 6, 90),  # lapsed: bought well, not for months
    ]
    rows = []
    for size, income, wines, meat, fish, web, store, recency in groups:
        for _ in range(size):
            rows.append(
                (
                    rng.normal(income, 5000),
                    max(0, rng.normal(wines, wines * 0.15)),
                    max(0, rng.normal(meat, meat * 0.15)),
                    max(0, rng.normal(fish, fish * 0.15)),
                    max(0, round(rng.normal(web, 1))),
                    max(0, round(rng.normal(store, 1))),
                    max(0, round(rng.normal(recency, 6))),
                )
            )
    columns = ["income", "MntWines", "MntMeatProducts", "MntFishProducts"]
    columns += ["NumWebPurchases", "NumStorePurchases", "Recency"]
    df = pd.DataFrame(rows, columns=columns)
    df.index = pd.RangeIndex(1, len(df) + 1, name="id")
    return df


PERSONALITY_ROLES = {
    "income": "capacity",
    "MntWines": "monetary",
    "MntMeatProducts": "monetary",
    "MntFishProducts": "monetary",
    "NumWebPurchases": "frequency",
    "NumStorePurchases": "frequency",
    "Recency": "recency",
}


def test_personality_like_flags_high_value_upsell_budget_and_at_risk_from_roles():
    df = planted_personality()
    units = {"income": "$", "MntWines": "$", "MntMeatProducts": "$", "MntFishProducts": "$"}
    config = SegmentationConfig(
        features=tuple(df.columns), scaler="standard", k=4, roles=PERSONALITY_ROLES, units=units
    )
    result = segment(df, config)

    assert result.ok, result.reason
    by_income = sorted(result.segments, key=lambda s: s.centroid["income"])
    spent = {s.label: sum(s.centroid[c] for c in ("MntWines", "MntMeatProducts", "MntFishProducts")) for s in by_income}
    top = max(result.segments, key=lambda s: spent[s.label])
    assert top.flags[0] == "high_value" and top.strategy_key == "retain_and_reward"
    assert top.centroid["income"] > 70_000 and sum("high_value" in s.flags for s in result.segments) == 1
    rich_low = next(s for s in result.segments if s.centroid["income"] > 70_000 and s is not top)
    assert "upsell" in rich_low.flags and rich_low.strategy_key == "upsell_premium"
    poor = by_income[0]
    assert "budget" in poor.flags
    lapsed = max(result.segments, key=lambda s: s.centroid["Recency"])
    assert "at_risk" in lapsed.flags and lapsed.strategy_key == "reactivate"
    # the wording is the table's: its income column and its spend columns
    words = role_words(tuple(df.columns), PERSONALITY_ROLES)
    assert words == {"monetary": "total spend", "capacity": "income"}
    upsell = next(r for r in STRATEGY_RULES if r["key"] == "upsell_premium")
    assert strategy_rationale(upsell, words).startswith("High income but low total spend:")


def test_mall_words_are_the_shipped_ones():
    words = role_words(("annual_income", "spending_score"))
    assert words == {"monetary": "spending", "capacity": "income"}
    upsell = next(r for r in STRATEGY_RULES if r["key"] == "upsell_premium")
    assert (
        strategy_rationale(upsell, words) == "High income but low spending: they can buy more and shop elsewhere today."
    )
