"""The canonical customer fields: the names every part of Segmenta uses once a file is imported, with units.

Users' columns are mapped to these names on import (`Genre` -> gender, `Annual Income (k$)` ->
annual_income); later pieces (loading, the engine, charts, pages) use only these names. Imported
attributes keep their own keys next to them.
"""

from __future__ import annotations

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
