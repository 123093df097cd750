"""Reads of the column registry: each column's role and unit, for the canonical fields and every attribute.

Canonical fields take their defaults from `segmentation.ml.fields` (units from FEATURE_META, roles from
FEATURE_ROLES), which an Admin may override per field (`CanonicalFieldRole`); an imported attribute's
role and unit are on its `CustomerAttribute` row (guessed at import, editable in the admin).
`segmentation.services.config.segmentation_config` freezes `column_roles()` and `column_units()` into
each run's params.
"""

from __future__ import annotations

from dataclasses import dataclass

from customers.models import CanonicalFieldRole, CustomerAttribute
from segmentation.ml.fields import CANONICAL_FEATURES, FEATURE_META, FEATURE_ROLES

#: Default roles of the canonical fields (an Admin may override them with `CanonicalFieldRole`).
CANONICAL_ROLES: dict[str, str] = dict(FEATURE_ROLES)
DEFAULT_ROLE = "other"


@dataclass(frozen=True)
class Column:
    """One column a customer has: a canonical field or an imported attribute."""

    key: str
    label: str
    kind: str  # "number", "text", "date", or "category" (gender)
    unit: str
    role: str
    attribute: bool

    @property
    def title(self) -> str:
        return f"{self.label} ({self.unit})" if self.unit else self.label


def column_list() -> list[Column]:
    """The canonical fields (in display order), then every attribute by key, each with its role and unit."""
    overrides = dict(CanonicalFieldRole.objects.values_list("field", "role"))
    out = [
        Column(
            key=key,
            label=FEATURE_META[key][0],
            kind="category" if key == "gender" else "number",
            unit="" if key == "gender" else FEATURE_META[key][1],
            role=overrides.get(key) or CANONICAL_ROLES.get(key, DEFAULT_ROLE),
            attribute=False,
        )
        for key in CANONICAL_FEATURES
    ]
    for attr in CustomerAttribute.objects.order_by("key"):
        if attr.key in CANONICAL_FEATURES:
            continue
        out.append(
            Column(
                key=attr.key,
                label=attr.label or attr.key,
                kind=attr.kind,
                unit=attr.unit,
                role=attr.role or DEFAULT_ROLE,
                attribute=True,
            )
        )
    return out


def column_roles() -> dict[str, str]:
    """Feature -> role (monetary, frequency, recency, capacity, demographic, other) of every column."""
    return {c.key: c.role for c in column_list()}


def column_units() -> dict[str, str]:
    """Feature -> unit of every column ("" when it has none; gender's "1 = female" coding is not a unit)."""
    units = {c.key: c.unit for c in column_list()}
    units["gender"] = FEATURE_META["gender"][1]
    return units
