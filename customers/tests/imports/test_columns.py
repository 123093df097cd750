"""Header mapping: aliases, the user's overrides, attribute keys."""

from __future__ import annotations

import pytest

from core.exceptions import DataError
from customers.imports.columns import columns_plan, header_normalize, header_snake_case, mapping_parse


def test_aliases_map_case_and_punctuation_insensitively():
    plan = columns_plan(["CustomerID", "Genre", "Age", "Annual Income (k$)", "Spending Score (1-100)", "VisitCount"])
    assert plan.fields == {"external_id": 0, "gender": 1, "age": 2, "annual_income": 3, "spending_score": 4}
    assert [(a.header, a.key) for a in plan.attributes] == [("VisitCount", "visit_count")]
    assert plan.as_mapping()["VisitCount"] == "attribute:visit_count"
    assert header_normalize("Annual Income (k$)") == "annualincomek"
    assert header_snake_case("Detergents_Paper") == "detergents_paper"


def test_override_replaces_an_alias_and_numbers_get_a_prefix():
    plan = columns_plan(["ID", "Client Ref", "2024 spend"], {"client ref": "external_id"})
    assert plan.fields == {"external_id": 1}
    assert [a.key for a in plan.attributes] == ["id", "c_2024_spend"]


@pytest.mark.parametrize(
    ("headers", "overrides", "message"),
    [
        (["Name", "Age"], None, "no id column"),
        (["ID", "Customer ID"], None, "both look like external_id"),
        (["ID", "a b", "a-b"], None, "would both be stored as attribute 'a_b'"),
        (["ID"], {"ID": "nope"}, "the field must be one of"),
        (["ID"], {"Missing": "age"}, "the file has no column 'Missing'"),
    ],
)
def test_refusals_name_the_columns(headers, overrides, message):
    with pytest.raises(DataError, match=message):
        columns_plan(headers, overrides)


def test_mapping_parse():
    assert mapping_parse(["Client Ref=external_id", " Years = age "]) == {"Client Ref": "external_id", "Years": "age"}
    with pytest.raises(DataError, match="expected SOURCE=FIELD"):
        mapping_parse(["external_id"])
