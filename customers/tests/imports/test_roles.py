"""Guessing roles and units of imported columns: one table per rule."""

from __future__ import annotations

import pandas as pd
import pytest

from customers.imports.roles import ValueSummary, role_guess, unit_guess, values_summarize
from customers.models import FeatureRole
from segmentation.ml.fields import ROLES

AMOUNTS = ValueSummary(numeric=True, count=440, distinct=430, minimum=3, median=3600, mean=5800)
CODES = ValueSummary(numeric=True, count=440, distinct=3, minimum=1, median=3, mean=2.5)
CONSTANT = ValueSummary(numeric=True, count=2240, distinct=1, minimum=11, median=11, mean=11)
TEXT = ValueSummary(numeric=False, count=2240, distinct=5)
EVEN = ValueSummary(numeric=True, count=440, distinct=440, minimum=1, median=220, mean=220)


@pytest.mark.parametrize(
    "header,summary,role",
    [
        # monetary
        ("MntWines", None, "monetary"),
        ("MntGoldProds", None, "monetary"),
        ("Total spend", None, "monetary"),
        ("amount_spent", None, "monetary"),
        ("Revenue 2024", None, "monetary"),
        ("Spending Score (1-100)", None, "monetary"),
        ("Fresh", AMOUNTS, "monetary"),
        ("Milk", AMOUNTS, "monetary"),
        ("Grocery", AMOUNTS, "monetary"),
        ("Frozen", AMOUNTS, "monetary"),
        ("Detergents_Paper", AMOUNTS, "monetary"),
        ("Delicassen", AMOUNTS, "monetary"),
        ("Basket value", AMOUNTS, "monetary"),  # any skewed non-negative amounts
        # frequency
        ("NumWebPurchases", None, "frequency"),
        ("NumStorePurchases", None, "frequency"),
        ("NumDealsPurchases", None, "frequency"),
        ("NumWebVisitsMonth", None, "frequency"),
        ("visits", None, "frequency"),
        ("Purchase frequency", None, "frequency"),
        ("orders", None, "frequency"),
        # recency
        ("Recency", None, "recency"),
        ("days_since_last_order", None, "recency"),
        ("Last purchase", None, "recency"),
        # capacity
        ("Income", None, "capacity"),
        ("Annual Income (k$)", None, "capacity"),
        ("salary", None, "capacity"),
        # demographic
        ("Age", None, "demographic"),
        ("Year_Birth", None, "demographic"),
        ("Kidhome", None, "demographic"),
        ("Teenhome", None, "demographic"),
        ("Education", TEXT, "demographic"),
        ("Marital_Status", TEXT, "demographic"),
        ("Region", CODES, "demographic"),
        ("Channel", CODES, "demographic"),
        ("Genre", None, "demographic"),
        # other
        ("ID", EVEN, "other"),
        ("CustomerID", None, "other"),
        ("Dt_Customer", None, "other"),
        ("AcceptedCmp1", CODES, "other"),
        ("Complain", CODES, "other"),
        ("Z_Revenue", CONSTANT, "other"),  # a constant says nothing, whatever its name
        ("Z_CostContact", CONSTANT, "other"),
        ("Fresh", TEXT, "other"),  # not numbers: not amounts
        ("Fresh", ValueSummary(numeric=True, count=3, distinct=3, minimum=-5, median=2, mean=3), "other"),
        ("Score", EVEN, "other"),  # evenly spread numbers are not amounts
    ],
)
def test_role_guess(header, summary, role):
    assert role_guess(header, summary) == role


@pytest.mark.parametrize(
    "header,unit",
    [
        ("Annual Income (k$)", "k$"),
        ("Income (k€)", "k€"),
        ("Spend ($)", "$"),
        ("revenue_usd", ""),  # snake_case words are not split: no guess
        ("Revenue USD", "$"),
        ("Spend EUR", "€"),
        ("Umsatz €", "€"),
        ("Spend (£)", "£"),
        ("Total GBP", "£"),
        ("Income", ""),
        ("MntWines", ""),
        ("Fresh", ""),
        ("Age", ""),
        ("Europe region", ""),
    ],
)
def test_unit_guess(header, unit):
    assert unit_guess(header) == unit


def test_values_summarize():
    summary = values_summarize(pd.Series(["3", "", "10", "1000", "10"]))
    assert summary == ValueSummary(numeric=True, count=4, distinct=3, minimum=3, median=10, mean=255.75)
    assert values_summarize(pd.Series(["a", "2", ""])) == ValueSummary(numeric=False, count=2, distinct=2)
    assert values_summarize(pd.Series(["", ""])) == ValueSummary()


def test_roles_are_the_model_choices_and_the_engine_roles():
    assert tuple(FeatureRole.values) == ROLES  # the registry offers exactly the roles the engine knows
