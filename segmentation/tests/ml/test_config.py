"""The one validator of a segmentation configuration: errors keyed by field, naming allowed and received values."""

from __future__ import annotations

import pytest

from segmentation.ml.config import K_MAX, K_MIN, config_errors, config_validate
from segmentation.ml.errors import ConfigInvalid, EngineError

AVAILABLE = ["gender", "age", "annual_income", "spending_score"]


def values(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "features": ["annual_income", "spending_score"],
        "scaler": "minmax",
        "k": None,
        "k_min": 2,
        "k_max": 10,
        "age_groups": False,
        "age_bins": [18, 25, 35],
        "missing": "drop",
        "random_state": 42,
    }
    base.update(changes)
    return base


def test_a_valid_configuration_has_no_errors():
    assert config_errors(values(), available=AVAILABLE) == {}
    assert config_errors(values(k=K_MIN), available=AVAILABLE) == {}
    assert config_errors(values(k=K_MAX, k_max=K_MAX), available=AVAILABLE) == {}


def test_errors_are_keyed_by_field_and_name_allowed_and_received_values():
    errors = config_errors(
        values(features=["age", "shoe_size"], scaler="log", k=1, k_min=5, k_max=3, missing="guess", age_bins=[30, 20]),
        available=AVAILABLE,
    )
    assert errors == {
        "features": "'shoe_size' is not a customer field; allowed are gender, age, annual_income, spending_score; "
        "got age, shoe_size",
        "scaler": "allowed are minmax, standard, robust, shared, none; got 'log'",
        "missing": "allowed are drop, median, most_frequent; got 'guess'",
        "k": "allowed is auto or a number from 2 to 100; got 1",
        "k_max": "allowed is k_min (5) to 100; got 3",
        "age_bins": "expected increasing whole numbers; got [30, 20]",
    }


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"features": []}, "features", r"^at least one feature is needed; got none$"),
        ({"features": ["age", "age"]}, "features", r"^each feature once; allowed are .*; got age, age$"),
        ({"k": 101}, "k", r"^allowed is auto or a number from 2 to 100; got 101$"),
        ({"k": "3"}, "k", r"^expected a whole number; got '3'$"),
        ({"k_min": 1}, "k_min", r"^allowed is 2 to 100; got 1$"),
        ({"k_max": 160}, "k_max", r"^allowed is k_min \(2\) to 100; got 160$"),
        ({"random_state": True}, "random_state", r"^expected a whole number; got True$"),
    ],
)
def test_each_rule_reports_its_field(changes, field, message):
    with pytest.raises(ConfigInvalid, match=message.replace("^", f"^{field}: ", 1)) as info:
        config_validate(values(**changes), available=AVAILABLE)
    assert list(info.value.errors) == [field]
    assert isinstance(info.value, EngineError)
