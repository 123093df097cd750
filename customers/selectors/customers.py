"""Reads of the customers list and of one customer: the list's validated query, its filtered and
sorted queryset, a cheap count, and a customer's typed attributes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connection
from django.db.models import F, QuerySet

from customers.models import AttributeKind, Customer, CustomerAttribute, Gender

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

    @property
    def is_filtered(self) -> bool:
        return bool(self.q or self.gender or self.age_min is not None or self.age_max is not None)

    def as_params(self, **overrides: Any) -> dict[str, str]:
        """The query as GET parameters (defaults left out), for links that keep the other filters."""
        values: dict[str, Any] = {
            "q": self.q,
            "match": self.match if self.match != "contains" else "",
            "gender": self.gender,
            "age_min": self.age_min,
            "age_max": self.age_max,
            "sort": self.sort if self.sort != DEFAULT_SORT else "",
        }
        values.update(overrides)
        return {k: str(v) for k, v in values.items() if v not in (None, "")}


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
    return CustomerQuery(
        q=q, match=match, gender=gender, age_min=age_min, age_max=age_max, sort=sort, notes=tuple(notes)
    )


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
    descending = query.sort.startswith("-")
    column = SORT_FIELDS[query.sort.lstrip("-")]
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
