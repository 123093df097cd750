"""The canonical customer fields: the names every part of Segmenta uses once a file is imported, with units.

Users' columns are mapped to these names on import (`Genre` -> gender, `Annual Income (k$)` ->
annual_income); later pieces (loading, the engine, charts, pages) use only these names. Imported
attributes keep their own keys next to them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

EXTERNAL_ID = "external_id"
CANONICAL_FEATURES: tuple[str, ...] = ("gender", "age", "annual_income", "spending_score")  # in display order
NUMERIC_FEATURES: tuple[str, ...] = ("age", "annual_income", "spending_score")
CANONICAL_FIELDS: tuple[str, ...] = (EXTERNAL_ID, *CANONICAL_FEATURES)

# Feature -> (label, unit) in real units. Unknown features (imported attributes) have no unit.
FEATURE_META: dict[str, tuple[str, str]] = {
    "age": ("Age", "years"),
    "annual_income": ("Annual income", "k$"),
    "spending_score": ("Spending score", "1–100"),
    "gender": ("Gender", "1 = female"),
}

# What a column says about a customer; every column (canonical field or imported attribute) has one.
# monetary = money spent (or a spending score), frequency = how often they buy or visit, recency = how long
# since they last bought (higher = longer ago), capacity = the means to spend (income), demographic = who
# they are (age, gender), other = anything else. Flags and default strategies read roles, never names.
ROLES: tuple[str, ...] = ("monetary", "frequency", "recency", "capacity", "demographic", "other")
FEATURE_ROLES: dict[str, str] = {
    "age": "demographic",
    "gender": "demographic",
    "annual_income": "capacity",
    "spending_score": "monetary",
}


def feature_role(feature: str, roles: Mapping[str, str] | None = None) -> str:
    """The role of `feature`: from `roles`, else the canonical default, else "other"."""
    return (roles or {}).get(feature) or FEATURE_ROLES.get(feature, "other")


def feature_unit(feature: str, units: Mapping[str, str] | None = None) -> str:
    """The unit of `feature`: from `units` (None or absent: the canonical unit), else ""."""
    given = (units or {}).get(feature)
    if given is not None:
        return given
    return FEATURE_META.get(feature, ("", ""))[1]


def roles_for(features: Iterable[str], known: Mapping[str, str] | None = None) -> dict[str, str]:
    """Feature -> role for `features` (`known` first, then the canonical defaults, then "other")."""
    return {f: feature_role(f, known) for f in features}


def units_for(features: Iterable[str], known: Mapping[str, str] | None = None) -> dict[str, str]:
    """Feature -> unit for `features` (`known` first, then the canonical units, then "")."""
    return {f: feature_unit(f, known) for f in features}
