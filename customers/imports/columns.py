"""Which column of a customer file feeds which field: header normalising, aliases, the user's
overrides (`mapping_parse`) and the attribute columns. Pure, no database.

Headers map to the canonical fields case and punctuation insensitively (`HEADER_ALIASES`).
Every other column becomes a typed attribute under its header in snake_case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.exceptions import DataError
from segmentation.ml.fields import CANONICAL_FIELDS, NUMERIC_FEATURES

#: The customer fields every file maps to (the id, then the profile; `Customer` stores them as columns) and the
#: numeric ones among them: defined once, beside their units, in the engine's field list.
NUMERIC_FIELDS = NUMERIC_FEATURES
EXTERNAL_ID_MAX_LENGTH = 64
ATTRIBUTE_KEY_MAX_LENGTH = 64


# Normalised header (lower case, letters and digits only) -> canonical field.
HEADER_ALIASES: dict[str, str] = {
    "customerid": "external_id",
    "id": "external_id",
    "externalid": "external_id",
    "customerno": "external_id",
    "customernumber": "external_id",
    "gender": "gender",
    "genre": "gender",
    "sex": "gender",
    "age": "age",
    "annualincomek": "annual_income",
    "annualincome": "annual_income",
    "income": "annual_income",
    "incomek": "annual_income",
    "spendingscore1100": "spending_score",
    "spendingscore": "spending_score",
    "score": "spending_score",
}


def header_normalize(header: str) -> str:
    """Case and punctuation insensitive form of a header: 'Annual Income (k$)' -> 'annualincomek'."""
    return re.sub(r"[^0-9a-z]", "", str(header).lower())


def header_snake_case(header: str) -> str:
    """The attribute key of a header: 'Detergents_Paper' -> 'detergents_paper', 'VisitCount' -> 'visit_count'."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(header).strip())
    text = re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()
    return text[:ATTRIBUTE_KEY_MAX_LENGTH].rstrip("_")


def mapping_parse(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Parse `SOURCE=FIELD` overrides (the command's --map) into {source header: field}."""
    mapping: dict[str, str] = {}
    for item in items:
        source, sep, target = item.rpartition("=")
        if not sep or not source.strip() or not target.strip():
            raise DataError(f'--map: expected SOURCE=FIELD, e.g. "Client Ref=external_id"; got {item!r}')
        mapping[source.strip()] = target.strip()
    return mapping


@dataclass(frozen=True)
class AttributeColumn:
    index: int
    header: str
    key: str


@dataclass(frozen=True)
class ColumnPlan:
    """Which column of the file feeds which canonical field, and the attribute columns."""

    headers: tuple[str, ...]
    fields: dict[str, int]  # canonical field -> column index
    attributes: tuple[AttributeColumn, ...]

    def header_of(self, field_name: str) -> str:
        return self.headers[self.fields[field_name]]

    def as_mapping(self) -> dict[str, str]:
        """{header: target} for the record of the import (target is a field or 'attribute:key')."""
        out = {self.headers[i]: f for f, i in self.fields.items()}
        out.update({a.header: f"attribute:{a.key}" for a in self.attributes})
        return out


def columns_plan(headers: list[str], overrides: dict[str, str] | None = None) -> ColumnPlan:
    """Map headers to canonical fields (aliases, then overrides); the rest become attributes."""
    headers = [str(h).strip() if h is not None else "" for h in headers]
    headers = [h or f"column_{i + 1}" for i, h in enumerate(headers)]
    fields: dict[str, int] = {}
    for index, header in enumerate(headers):
        target = HEADER_ALIASES.get(header_normalize(header))
        if target is None:
            continue
        if target in fields:
            other = headers[fields[target]]
            raise DataError(
                f"columns {other!r} and {header!r} both look like {target}; choose one with "
                f'--map "{header}={target}" (or the {target} field of the upload form)'
            )
        fields[target] = index
    for source, target in (overrides or {}).items():
        if target not in CANONICAL_FIELDS:
            raise DataError(
                f"mapping {source!r}: the field must be one of {', '.join(CANONICAL_FIELDS)}; got {target!r}"
            )
        index = _header_find(headers, source)
        if index is None:
            raise DataError(
                f"mapping {source!r}={target}: the file has no column {source!r}; its columns are "
                + ", ".join(repr(h) for h in headers)
            )
        for f_name, f_index in list(fields.items()):
            if f_index == index or f_name == target:
                del fields[f_name]
        fields[target] = index
    if "external_id" not in fields:
        example = next((h for i, h in enumerate(headers) if i not in fields.values()), "Client Ref")
        raise DataError(
            "no id column: none of the columns ("
            + ", ".join(repr(h) for h in headers)
            + ") is a customer id (CustomerID, Customer ID, customer_id or ID). "
            f'Say which column holds the id: on the command line --map "{example}=external_id", '
            "on the upload page the 'Id column' field."
        )
    attributes: list[AttributeColumn] = []
    seen_keys: dict[str, str] = {}
    used = set(fields.values())
    for index, header in enumerate(headers):
        if index in used:
            continue
        key = header_snake_case(header) or f"column_{index + 1}"
        if key[0].isdigit():
            key = f"c_{key}"[:ATTRIBUTE_KEY_MAX_LENGTH]
        if key in seen_keys:
            raise DataError(
                f"columns {seen_keys[key]!r} and {header!r} would both be stored as attribute {key!r}; rename one"
            )
        seen_keys[key] = header
        attributes.append(AttributeColumn(index=index, header=header, key=key))
    return ColumnPlan(headers=tuple(headers), fields=fields, attributes=tuple(attributes))


def _header_find(headers: list[str], source: str) -> int | None:
    for index, header in enumerate(headers):
        if header == source:
            return index
    wanted = source.strip().lower()
    for index, header in enumerate(headers):
        if header.lower() == wanted:
            return index
    wanted = header_normalize(source)
    for index, header in enumerate(headers):
        if wanted and header_normalize(header) == wanted:
            return index
    return None
