"""Reads of the customers list and of one customer: the list's validated query, its filtered and
sorted queryset, a cheap count, and a customer's typed attributes.

Filters: search by id, gender, age, any numeric column's range (`min.<key>=`, `max.<key>=`, canonical fields
and numeric attributes), any text attribute's value (`eq.<key>=`), and every extra filter registered in
`customers.filters` (the segment filter comes from segmentation that way). `cols=` names attribute columns
to show. Ids sort in natural order: by length, then by value, so numeric ids read 0, 1, 1000, 10001 (one
index on (length(external_id), external_id) serves both directions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connection
from django.db.models import F, FloatField, QuerySet
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Length

from customers import filters as list_filters
from customers.models import AttributeKind, Customer, CustomerAttribute, Gender
from customers.selectors.columns import Column, column_list

#: ?sort= keys and the model field each one sorts by.
SORT_FIELDS: dict[str, str] = {
    "id": "external_id",
    "gender": "gender",
    "age": "age",
    "income": "annual_income",
    "score": "spending_score",
    "updated": "updated_at",
}
DEFAULT_SORT = "id"
MATCH_MODES = ("contains", "prefix")
AGE_LIMITS = (0, 120)


@dataclass(frozen=True)
class CustomerQuery:
    """A validated customers-list query. `notes` says which request values were ignored and why."""

    q: str = ""
    match: str = "contains"
    gender: str = ""
    age_min: int | None = None
    age_max: int | None = None
    sort: str = DEFAULT_SORT
    notes: tuple[str, ...] = ()
    #: (column key, lowest, highest) per numeric column filtered by range; None = open on that side.
    ranges: tuple[tuple[str, float | None, float | None], ...] = ()
    #: (column key, value) per text column filtered by value.
    equals: tuple[tuple[str, str], ...] = ()
    #: (filter name, value) per registered extra filter in use (see customers.filters).
    extra: tuple[tuple[str, str], ...] = ()
    #: Attribute columns to show in the list (display only, not a filter).
    cols: tuple[str, ...] = ()

    @property
    def is_filtered(self) -> bool:
        return bool(
            self.q
            or self.gender
            or self.age_min is not None
            or self.age_max is not None
            or self.ranges
            or self.equals
            or self.extra
        )

    def value_of(self, name: str) -> str:
        """The value of extra filter `name` ("" when unused)."""
        return dict(self.extra).get(name, "")

    def range_of(self, key: str) -> tuple[str, str]:
        """The range on column `key` as typed ("30", "12.5"; "" for an open side)."""
        return next(((_plain(lo), _plain(hi)) for k, lo, hi in self.ranges if k == key), ("", ""))

    def equal_of(self, key: str) -> str:
        return dict(self.equals).get(key, "")

    def as_params(self, **overrides: Any) -> dict[str, str]:
        """The query as GET parameters (defaults left out), for links that keep the other filters."""
        values: dict[str, Any] = {
            "q": self.q,
            "match": self.match if self.match != "contains" else "",
            "gender": self.gender,
            "age_min": self.age_min,
            "age_max": self.age_max,
            "sort": self.sort if self.sort != DEFAULT_SORT else "",
            "cols": ",".join(self.cols),
        }
        values.update(dict(self.extra))
        for key, lo, hi in self.ranges:
            values[f"min.{key}"] = _plain(lo)
            values[f"max.{key}"] = _plain(hi)
        for key, value in self.equals:
            values[f"eq.{key}"] = value
        values.update(overrides)
        return {k: str(v) for k, v in values.items() if v not in (None, "")}


def _plain(value: float | None) -> str:
    """A bound as typed: 30 rather than 30.0; "" for none."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _parse_age(raw: str, name: str, notes: list[str]) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        notes.append(f"{name}: {raw!r} is not a whole number; ignored")
        return None
    lo, hi = AGE_LIMITS
    if not lo <= value <= hi:
        notes.append(f"{name}: {value} is outside {lo}–{hi}; ignored")
        return None
    return value


def customer_query_parse(*, params: Any) -> CustomerQuery:
    """Validate list parameters (a QueryDict or a dict). Bad values are dropped with a note, never raised."""
    notes: list[str] = []
    q = (params.get("q") or "").strip()[:64]

    match = (params.get("match") or "contains").strip()
    if match not in MATCH_MODES:
        notes.append(f"match: expected one of {', '.join(MATCH_MODES)}; got {match!r}; searching by contains")
        match = "contains"

    gender = (params.get("gender") or "").strip().lower()
    if gender and gender not in Gender.values:
        notes.append(f"gender: expected one of {', '.join(Gender.values)}; got {gender!r}; ignored")
        gender = ""

    age_min = _parse_age(params.get("age_min") or "", "age_min", notes)
    age_max = _parse_age(params.get("age_max") or "", "age_max", notes)
    if age_min is not None and age_max is not None and age_min > age_max:
        notes.append(f"age range: minimum {age_min} is above maximum {age_max}; swapped them")
        age_min, age_max = age_max, age_min

    sort = (params.get("sort") or DEFAULT_SORT).strip()
    if sort.lstrip("-") not in SORT_FIELDS:
        notes.append(f"sort: expected one of {', '.join(SORT_FIELDS)} (prefix - for descending); got {sort!r}")
        sort = DEFAULT_SORT

    columns = {c.key: c for c in column_list()}
    ranges, equals = _parse_column_filters(params, columns, notes)
    extra = []
    for list_filter in list_filters.list_filters():
        value = (params.get(list_filter.name) or "").strip()
        if not value:
            continue
        allowed = list_filter.values()
        if value not in allowed:
            notes.append(f"{list_filter.name}: {value[:40]!r} is not one of the {list_filter.label.lower()} choices")
            continue
        extra.append((list_filter.name, value))

    cols: list[str] = []
    for raw in _getlist(params, "cols"):
        for key in (k.strip() for k in raw.split(",")):
            if not key or key in cols:
                continue
            column = columns.get(key)
            if column is None or not column.attribute:
                notes.append(f"cols: {key[:40]!r} is not an imported column; not shown")
                continue
            cols.append(key)
    return CustomerQuery(
        q=q,
        match=match,
        gender=gender,
        age_min=age_min,
        age_max=age_max,
        sort=sort,
        notes=tuple(notes),
        ranges=tuple(ranges),
        equals=tuple(equals),
        extra=tuple(extra),
        cols=tuple(cols),
    )


def _getlist(params: Any, name: str) -> list[str]:
    if hasattr(params, "getlist"):
        return [str(v) for v in params.getlist(name)]
    value = params.get(name)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def _parse_column_filters(
    params: Any, columns: dict[str, Column], notes: list[str]
) -> tuple[list[tuple[str, float | None, float | None]], list[tuple[str, str]]]:
    """`min.<key>` / `max.<key>` on numeric columns and `eq.<key>` on text columns, in column order."""
    bounds: dict[str, list[float | None]] = {}
    equals: dict[str, str] = {}
    for name in list(params.keys()):
        prefix, _, key = name.partition(".")
        if prefix not in ("min", "max", "eq") or not key:
            continue
        raw = (params.get(name) or "").strip()
        if not raw:
            continue
        column = columns.get(key)
        if column is None:
            notes.append(f"{name[:48]}: there is no column {key[:40]!r}; ignored")
            continue
        if prefix == "eq":
            if column.kind != AttributeKind.TEXT:
                notes.append(f"{name}: {column.label} is not a text column; use a range (min./max.); ignored")
                continue
            equals[key] = raw[:200]
            continue
        if column.kind != AttributeKind.NUMBER:
            notes.append(f"{name}: {column.label} is not a numeric column; ignored")
            continue
        try:
            value = float(raw)
        except ValueError:
            notes.append(f"{name}: {raw[:40]!r} is not a number; ignored")
            continue
        if value != value or value in (float("inf"), float("-inf")):
            notes.append(f"{name}: {raw[:40]!r} is not a finite number; ignored")
            continue
        bounds.setdefault(key, [None, None])[0 if prefix == "min" else 1] = value
    ranges = []
    order = list(columns)
    for key in sorted(bounds, key=order.index):
        lo, hi = bounds[key]
        if lo is not None and hi is not None and lo > hi:
            notes.append(
                f"{columns[key].label} range: minimum {_plain(lo)} is above maximum {_plain(hi)}; swapped them"
            )
            lo, hi = hi, lo
        ranges.append((key, lo, hi))
    return ranges, [(k, equals[k]) for k in sorted(equals, key=order.index)]


def customer_list(*, query: CustomerQuery) -> QuerySet[Customer]:
    """Customers matching `query`, sorted by its column (missing values last), ties broken by id."""
    qs = Customer.objects.all()
    if query.q:
        qs = (
            qs.filter(external_id__startswith=query.q)
            if query.match == "prefix"
            else qs.filter(external_id__icontains=query.q)
        )
    if query.gender:
        qs = qs.filter(gender=query.gender)
    if query.age_min is not None:
        qs = qs.filter(age__gte=query.age_min)
    if query.age_max is not None:
        qs = qs.filter(age__lte=query.age_max)
    attribute_kinds = dict(CustomerAttribute.objects.values_list("key", "kind")) if query.ranges else {}
    for i, (key, lo, hi) in enumerate(query.ranges):
        if key in attribute_kinds:
            name = f"_range{i}"
            qs = qs.annotate(**{name: Cast(KT(f"attributes__{key}"), FloatField())})
        else:
            name = key  # a canonical field
        if lo is not None:
            qs = qs.filter(**{f"{name}__gte": lo})
        if hi is not None:
            qs = qs.filter(**{f"{name}__lte": hi})
    for key, value in query.equals:
        qs = qs.filter(**{f"attributes__{key}": value})  # a JSON string equal to value
    for name, value in query.extra:
        list_filter = list_filters.list_filter_get(name)
        if list_filter is not None:
            qs = list_filter.apply(qs, value)
    descending = query.sort.startswith("-")
    column = SORT_FIELDS[query.sort.lstrip("-")]
    if column == "external_id":
        # Natural order (0, 1, 1000, 10001): length, then value; the index customer_id_natural_order
        # holds exactly this, so either direction reads the first page from the index. Ids are unique.
        if descending:
            return qs.order_by(Length("external_id").desc(), F("external_id").desc())
        return qs.order_by(Length("external_id").asc(), F("external_id").asc())
    if not descending:
        order = F(column).asc(nulls_last=True)  # the index's own order
    elif Customer._meta.get_field(column).null and Customer.objects.filter(**{f"{column}__isnull": True}).exists():
        order = F(column).desc(nulls_last=True)
    else:
        # Nothing missing: plain DESC reads the index backwards instead of sorting the table.
        order = F(column).desc()
    tie = "-pk" if descending else "pk"
    return qs.order_by(order, tie)


#: Above this many rows an unfiltered list shows the planner's row estimate instead of counting.
ESTIMATE_ABOVE = 100_000


def customer_count_estimate() -> int:
    """The number of customers, cheaply: PostgreSQL's statistics for a large table, else an exact count."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)", [Customer._meta.db_table]
            )
            row = cursor.fetchone()
        if row and row[0] is not None and row[0] >= ESTIMATE_ABOVE:
            return int(row[0])
    return Customer.objects.count()


@dataclass(frozen=True)
class AttributeValue:
    key: str
    label: str
    kind: str
    value: Any
    unit: str = ""
    role: str = "other"


def customer_attributes(*, customer: Customer) -> list[AttributeValue]:
    """The customer's extra columns typed by the attribute schema; keys without a schema show as text."""
    schema = {a.key: a for a in CustomerAttribute.objects.all()}
    values = customer.attributes or {}
    out: list[AttributeValue] = []
    for key in sorted(set(schema) | set(values)):
        attr = schema.get(key)
        kind = attr.kind if attr else AttributeKind.TEXT
        value = values.get(key)
        if kind == AttributeKind.DATE and isinstance(value, str):
            value = _date_or_text(value)
        out.append(
            AttributeValue(
                key=key,
                label=attr.label if attr else key,
                kind=kind,
                value=value,
                unit=attr.unit if attr else "",
                role=attr.role if attr else "other",
            )
        )
    return out


def _date_or_text(value: str) -> date | str:
    """A stored date attribute as a date; a value that is not an ISO date stays as it was stored."""
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return value
