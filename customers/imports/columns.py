"""Which column of a customer file feeds which field: header normalising, aliases, the user's
overrides (`mapping_parse`) and the attribute columns. Pure, no database.

Headers map to the canonical fields case and punctuation insensitively (`HEADER_ALIASES`).
Every other column becomes a typed attribute under its header in snake_case.

A file without an id column can be imported with its rows numbered (`row_id_prefix`): each
customer's id is the file name's stem and the row's number in the file, e.g. `wholesale-2` for
the first data row of `Wholesale.csv` (the header is row 1). Re-importing a file of the same name
updates the same customers by position; files of different names never collide.

Annual income is stored in thousands (k$). A column that would map to it but whose values are
clearly not thousands (`income_kept`: median above INCOME_THOUSANDS_MAX_MEDIAN) is kept as an
attribute under its own name in its own unit ($ unless the header names another currency).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from core.exceptions import DataError
from customers.imports.roles import unit_guess
from segmentation.ml.fields import CANONICAL_FIELDS, NUMERIC_FEATURES

#: The customer fields every file maps to (the id, then the profile; `Customer` stores them as columns) and the
#: numeric ones among them: defined once, beside their units, in the engine's field list.
NUMERIC_FIELDS = NUMERIC_FEATURES
EXTERNAL_ID_MAX_LENGTH = 64
ATTRIBUTE_KEY_MAX_LENGTH = 64
#: A numbered row's id is "<prefix>-<row>": the prefix is at most this long, so ids stay short.
ROW_ID_PREFIX_MAX_LENGTH = 40
#: Annual income is in thousands: a column whose median is above this is not in thousands.
INCOME_THOUSANDS_MAX_MEDIAN = 1000


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
    unit: str | None = None  # None: guessed when the attribute is first registered
    role: str | None = None


@dataclass(frozen=True)
class ColumnPlan:
    """Which column of the file feeds which canonical field, and the attribute columns.

    `id_prefix` is set when the rows are numbered (no id column): ids are "<id_prefix><row>".
    """

    headers: tuple[str, ...]
    fields: dict[str, int]  # canonical field -> column index
    attributes: tuple[AttributeColumn, ...]
    id_prefix: str = ""

    def header_of(self, field_name: str) -> str:
        if field_name == "external_id" and self.id_prefix:
            return "row number"
        return self.headers[self.fields[field_name]]

    def as_mapping(self) -> dict[str, str]:
        """{header: target} for the record of the import (target is a field or 'attribute:key')."""
        out = {self.headers[i]: f for f, i in self.fields.items()}
        out.update({a.header: f"attribute:{a.key}" for a in self.attributes})
        return out


def row_id_prefix(file_name: str) -> str:
    """The id prefix of a file's numbered rows: its name's stem in lower case ('Wholesale customers.csv'
    -> 'wholesale-customers-'), so two files never share ids and a file keeps its own on re-import."""
    stem = str(file_name).rsplit("/", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem.strip(".") else stem
    slug = re.sub(r"[^0-9a-z]+", "-", stem.lower()).strip("-")[:ROW_ID_PREFIX_MAX_LENGTH].strip("-")
    return f"{slug or 'row'}-"


def columns_plan(headers: list[str], overrides: dict[str, str] | None = None, *, id_prefix: str = "") -> ColumnPlan:
    """Map headers to canonical fields (aliases, then overrides); the rest become attributes.

    With `id_prefix` (the rows are numbered, see `row_id_prefix`) the file must have no id column.
    """
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
    mapping_apply(fields, headers=headers, overrides=overrides, allowed=CANONICAL_FIELDS)
    if id_prefix and "external_id" in fields:
        raise DataError(
            f"numbering the rows: the file has an id column ({headers[fields['external_id']]!r}); "
            "import it without --number-rows (untick 'Number the rows'), so customers keep their ids"
        )
    if "external_id" not in fields and not id_prefix:
        raise DataError(
            "no id column: none of the columns ("
            + ", ".join(repr(h) for h in headers)
            + ") is a customer id (CustomerID, Customer ID, customer_id or ID). "
            "If the file has no id, number its rows: --number-rows on the command line, "
            "'Number the rows' on the upload page (each id is then the file name and the row number, "
            "e.g. wholesale-2 for row 2 of wholesale.csv). "
            "If a column holds a unique id under another name, say which: "
            "--map \"HEADER=external_id\", or the 'Id column' field."
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
    return ColumnPlan(headers=tuple(headers), fields=fields, attributes=tuple(attributes), id_prefix=id_prefix)


def income_kept(plan: ColumnPlan) -> tuple[ColumnPlan, str]:
    """`plan` with its annual income column kept as an attribute in its own unit, and a note saying so.

    For a column that would map to annual_income (k$) but whose values are not thousands. Its key is
    the header in snake_case ('Income' -> 'income'; 'annual_income_usd' rather than a canonical name).
    """
    index = plan.fields["annual_income"]
    header = plan.headers[index]
    named = unit_guess(header)
    unit = named if named and not named.startswith("k") else "$"
    key = header_snake_case(header) or f"column_{index + 1}"
    if key in CANONICAL_FIELDS:
        key = f"{key}_{_UNIT_WORDS.get(unit, 'units')}"
    clash = next((a for a in plan.attributes if a.key == key), None)
    if clash is not None:
        raise DataError(
            f"column {header!r} is not in thousands and would be kept as attribute {key!r}, "
            f"but column {clash.header!r} is stored under that name; rename one"
        )
    kept = AttributeColumn(index=index, header=header, key=key, unit=unit, role="capacity")
    fields = {f: i for f, i in plan.fields.items() if f != "annual_income"}
    attributes = tuple(sorted((*plan.attributes, kept), key=lambda a: a.index))
    note = (
        f"Column {header!r} was not imported as annual income (k$): its values are not in thousands "
        f"(median above {INCOME_THOUSANDS_MAX_MEDIAN:,}). It is kept as attribute {key!r} in {unit}, role capacity."
    )
    return ColumnPlan(headers=plan.headers, fields=fields, attributes=attributes, id_prefix=plan.id_prefix), note


_UNIT_WORDS = {"$": "usd", "€": "eur", "£": "gbp"}


def mapping_apply(
    fields: dict[str, int], *, headers: list[str], overrides: dict[str, str] | None, allowed: Sequence[str]
) -> None:
    """Apply `--map SOURCE=FIELD` choices to `fields` (field -> column index) in place: the named column becomes
    that field, and whatever the column or the field was mapped to before is dropped."""
    for source, target in (overrides or {}).items():
        if target not in allowed:
            raise DataError(f"mapping {source!r}: the field must be one of {', '.join(allowed)}; got {target!r}")
        index = _header_find(headers, source)
        if index is None:
            raise DataError(
                f"mapping {source!r}={target}: the file has no column {source!r}; its columns are "
                + ", ".join(repr(h) for h in headers)
            )
        for name, at in list(fields.items()):
            if at == index or name == target:
                del fields[name]
        fields[target] = index


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
