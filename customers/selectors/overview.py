"""Reads of the data overview: row count, missing values, age groups, per-column summaries, the gender
split and a fixed-seed sample from which the histograms, correlations and the scatter matrix are drawn.
Every aggregate runs in the database; nothing here loads the whole customer table into Python: at most
`sample_size` customers (10,000 by default), drawn by id."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, FloatField, Max, Min, Q, QuerySet, Sum
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from customers.models import AttributeKind, Customer, CustomerAttribute, Gender
from customers.selectors import summaries
from customers.selectors.versions import customers_write_version
from segmentation.ml.fields import FEATURE_META, NUMERIC_FEATURES


@dataclass(frozen=True)
class Feature:
    """A numeric column of the overview: a canonical field or a numeric attribute."""

    key: str
    label: str
    unit: str = ""
    attribute: bool = False

    @property
    def title(self) -> str:
        return f"{self.label} ({self.unit})" if self.unit else self.label


CANONICAL_FEATURES: tuple[Feature, ...] = tuple(Feature(key, *FEATURE_META[key]) for key in NUMERIC_FEATURES)


@dataclass
class Histogram:
    feature: Feature
    edges: list[float]  # len(counts) + 1 edges, equal widths
    counts: list[int]

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass
class Overview:
    rows: int
    features: list[Feature]
    missing: list[tuple[str, int]]  # (column label, missing count), canonical columns first
    histograms: list[Histogram]
    genders: dict[str, int]  # gender value -> count, every Gender value present
    sample: dict[str, list] = field(default_factory=dict)  # feature key / "gender" -> values
    sample_size: int = 0
    fingerprint: str = ""  # changes whenever the data does; cache key for derived views
    texts: list[Feature] = field(default_factory=list)  # text attributes
    numeric: list[summaries.NumericSummary] = field(default_factory=list)
    text_summaries: list[summaries.TextSummary] = field(default_factory=list)
    age_groups: list[tuple[str, int]] = field(default_factory=list)  # (label, customers), exact
    correlation: summaries.Correlation | None = None  # from the sample

    @property
    def sampled(self) -> bool:
        return 0 < self.sample_size < self.rows


def overview_features() -> list[Feature]:
    """Canonical numeric features, then every numeric attribute of the schema."""
    attrs = [
        Feature(a.key, a.label or a.key, unit=a.unit, attribute=True)
        for a in CustomerAttribute.objects.filter(kind=AttributeKind.NUMBER).order_by("key")
    ]
    return [*CANONICAL_FEATURES, *attrs]


def overview_text_features() -> list[Feature]:
    """Every text attribute of the schema (Education, Marital_Status, ...)."""
    return [
        Feature(a.key, a.label or a.key, attribute=True)
        for a in CustomerAttribute.objects.filter(kind=AttributeKind.TEXT).order_by("key")
    ]


def _annotated(features: list[Feature]) -> tuple[QuerySet[Customer], dict[str, str]]:
    """Customers annotated with one float column per feature; returns it and {feature key: column name}."""
    qs = Customer.objects.order_by()
    names: dict[str, str] = {}
    annotations = {}
    for i, feat in enumerate(features):
        if feat.attribute:
            name = f"_attr{i}"
            annotations[name] = Cast(KT(f"attributes__{feat.key}"), FloatField())
            names[feat.key] = name
        else:
            names[feat.key] = feat.key
    if annotations:
        qs = qs.annotate(**annotations)
    return qs, names


def nice_bins(lo: float, hi: float, *, target: int = 20, integer: bool = False) -> tuple[float, float, int]:
    """(start, width, count) of equal bins covering [lo, hi], with a round width (1, 2, 2.5 or 5 × 10^k)."""
    if hi <= lo:
        width = 1.0
        return (math.floor(lo), width, 1)
    raw = (hi - lo) / target
    magnitude = 10 ** math.floor(math.log10(raw))
    width = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if integer:
        width = max(1.0, float(math.ceil(width)))
    start = math.floor(lo / width) * width
    count = int(math.floor((hi - start) / width)) + 1
    return (start, width, count)


def sample_histogram(*, feature: Feature, lo: float, hi: float, values: list) -> Histogram:
    """One histogram of the sampled `values` over round bins covering the exact range [lo, hi]."""
    start, width, count = nice_bins(lo, hi, integer=feature.key == "age")
    data = np.array([v for v in values if v is not None], dtype=float)
    data = data[np.isfinite(data)]
    idx = np.clip(np.floor((data - start) / width).astype(int), 0, count - 1) if data.size else data
    counts = np.bincount(idx.astype(int), minlength=count)[:count].tolist() if data.size else [0] * count
    edges = [start + i * width for i in range(count + 1)]
    return Histogram(feature=feature, edges=edges, counts=[int(c) for c in counts])


def _by_ids(qs: QuerySet, ids: list[int]) -> QuerySet:
    """`qs` limited to `ids`; on PostgreSQL one array parameter instead of thousands of IN literals."""
    if connection.vendor == "postgresql":
        return qs.filter(pk__in=RawSQL("SELECT unnest(%s::bigint[])", [ids]))
    return qs.filter(pk__in=ids)


def overview_sample(
    *,
    qs: QuerySet | None = None,
    columns: tuple[str, ...] = (),
    size: int = 5000,
    seed: int = 7,
    bounds: tuple[int, int, int] | None = None,
) -> list[dict]:
    """Rows ({"pk", *columns}) of a fixed-seed random sample of at most `size` customers, ordered by pk.

    Drawn by primary key so no query reads the whole table: random ids between the smallest and largest
    id (more when ids have gaps), then an exact subsample of those that exist. `bounds` is (smallest id,
    largest id, row count) when the caller knows them already.
    """
    qs = Customer.objects.order_by() if qs is None else qs
    if bounds is None:
        agg = Customer.objects.order_by().aggregate(lo=Min("pk"), hi=Max("pk"), n=Count("pk"))
        bounds = (agg["lo"], agg["hi"], agg["n"] or 0)
    lo, hi, n = bounds
    if n == 0:
        return []
    if n <= size:
        return list(qs.order_by("pk").values("pk", *columns))
    span = hi - lo + 1
    rng = np.random.default_rng(seed)
    rows: list[dict] = []
    want = min(span, int(size * span / n * 1.25) + 100)
    for _ in range(6):  # ids may have gaps: draw more if too few exist
        candidates = np.sort(rng.choice(span, size=want, replace=False) + lo).tolist()
        rows = []
        for i in range(0, len(candidates), 20000):
            rows.extend(_by_ids(qs, candidates[i : i + 20000]).values("pk", *columns))
        if len(rows) >= size or want >= span:
            break
        want = min(span, want * 2)
    rows.sort(key=lambda r: r["pk"])
    if len(rows) > size:
        keep = np.sort(np.random.default_rng(seed).choice(len(rows), size=size, replace=False))
        rows = [rows[i] for i in keep]
    return rows


def overview_sample_ids(*, size: int = 5000, seed: int = 7) -> list[int]:
    """Ids of the fixed-seed sample of at most `size` customers (see overview_sample)."""
    return [r["pk"] for r in overview_sample(size=size, seed=seed)]


#: Histograms and the scatter sample are kept this long for unchanged data (see customer_overview).
OVERVIEW_CACHE_SECONDS = 3600


#: Customers drawn for the charts, correlations and percentiles on a large table.
SAMPLE_SIZE = 10_000


def customer_overview(*, sample_size: int | None = None, seed: int = 7, use_cache: bool = True) -> Overview:
    """Row count, missing values, age groups, per-column summaries, gender split, histograms, correlations
    and the scatter sample.

    One aggregate scan gives the row count, missing counts, gender split, age groups, and per feature its
    min, max and sum; those numbers (with the smallest and largest id) fingerprint the data. Text columns'
    common values (one GROUP BY each) and the sample are cached under that fingerprint, so a second visit to
    unchanged data costs that one scan. Histograms, percentiles, skew and correlations come from the sample
    (all customers when there are at most `sample_size`, by default SAMPLE_SIZE).
    """
    sample_size = sample_size or SAMPLE_SIZE
    features = overview_features()
    texts = overview_text_features()
    version_key = _version_key([*features, *texts], sample_size, seed) if use_cache else None
    if version_key:
        hit = cache.get(version_key)
        if hit is not None:
            return hit
    qs, names = _annotated(features)
    stats = _overview_stats(qs, names, features, texts)
    rows = stats["rows"] or 0

    genders = {g: stats[f"gender_{g}"] or 0 for g in Gender.values}
    missing = [("Gender", genders[Gender.UNKNOWN])]
    missing += [(feat.title, stats[f"missing_{feat.key}"] or 0) for feat in features]
    missing += [(feat.title, stats[f"missing_{feat.key}"] or 0) for feat in texts]
    overview = Overview(rows=rows, features=features, missing=missing, histograms=[], genders=genders, texts=texts)
    if not rows:
        return overview
    overview.age_groups = summaries.age_groups_from(stats) if rows > stats["missing_age"] else []

    fingerprint = _fingerprint(stats, [*features, *texts], sample_size, seed)
    cached = cache.get(fingerprint) if use_cache else None
    if cached is None:
        columns = tuple(names[f.key] for f in features)
        sample_rows = overview_sample(
            qs=qs,
            columns=("gender", *columns),
            size=sample_size,
            seed=seed,
            bounds=(stats["pk_lo"], stats["pk_hi"], rows),
        )
        sample = {"gender": [r["gender"] for r in sample_rows]}
        for feat in features:
            sample[feat.key] = [r[names[feat.key]] for r in sample_rows]
        text_summaries = [
            summaries.text_summary(qs=Customer.objects.order_by(), key=t.key, title=t.title, rows=rows) for t in texts
        ]
        cached = (sample, len(sample_rows), text_summaries)
        if use_cache:
            cache.set(fingerprint, cached, OVERVIEW_CACHE_SECONDS)
    overview.sample, overview.sample_size, overview.text_summaries = cached
    overview.fingerprint = fingerprint
    for feat in features:
        lo, hi = stats[f"min_{feat.key}"], stats[f"max_{feat.key}"]
        if lo is not None and hi is not None:
            overview.histograms.append(
                sample_histogram(feature=feat, lo=float(lo), hi=float(hi), values=overview.sample[feat.key])
            )
        overview.numeric.append(
            summaries.numeric_summary(
                key=feat.key, title=feat.title, stats=stats, rows=rows, sample=overview.sample[feat.key]
            )
        )
    with_values = [(f.key, f.title) for f in features if stats[f"min_{f.key}"] is not None]
    overview.correlation = summaries.correlation(columns=with_values, sample=overview.sample)
    if version_key:
        cache.set(version_key, overview, OVERVIEW_CACHE_SECONDS)
    return overview


def _version_key(features: list[Feature], sample_size: int, seed: int) -> str | None:
    """A cache key that changes with the customers (`customers_write_version`); None on other databases (they use
    the aggregate fingerprint only)."""
    row = customers_write_version()
    if row is None:
        return None
    parts = (
        row,
        [(f.key, f.unit, f.attribute) for f in features],
        sample_size,
        seed,
        connection.settings_dict.get("NAME"),
    )
    return "customers:overview:v:" + hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def _overview_stats(
    qs: QuerySet, names: dict[str, str], features: list[Feature], texts: list[Feature]
) -> dict[str, Any]:
    """One scan: row count, id bounds, customers per gender and per age group, per feature min, max, sum and
    missing, and per text column its missing count."""
    aggs: dict[str, Any] = {"rows": Count("pk"), "pk_lo": Min("pk"), "pk_hi": Max("pk")}
    for g in Gender.values:
        aggs[f"gender_{g}"] = Count("pk", filter=Q(gender=g))
    aggs.update(summaries.age_group_aggregates("age"))
    for feat in features:
        col = names[feat.key]
        aggs[f"min_{feat.key}"] = Min(col)
        aggs[f"max_{feat.key}"] = Max(col)
        aggs[f"sum_{feat.key}"] = Sum(col)
        aggs[f"missing_{feat.key}"] = Count("pk", filter=Q(**{f"{col}__isnull": True}))
    for feat in texts:
        key = f"attributes__{feat.key}"
        aggs[f"missing_{feat.key}"] = Count("pk", filter=Q(**{f"{key}__isnull": True}) | Q(**{key: None}))
    return qs.aggregate(**aggs)


def _fingerprint(stats: dict[str, Any], features: list[Feature], sample_size: int, seed: int) -> str:
    def norm(v: Any) -> Any:
        return float(f"{v:.9g}") if isinstance(v, float | Decimal) else v

    parts = [(k, norm(v)) for k, v in sorted(stats.items())]
    parts.append(("features", [(f.key, f.unit, f.attribute) for f in features]))
    parts.append(("sample", sample_size, seed, connection.settings_dict.get("NAME")))
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    return f"customers:overview:{digest}"


#: Columns a scatter matrix may show at once (more are unreadable).
MATRIX_MAX = 5
#: Columns the scatter matrix shows when none are chosen.
MATRIX_DEFAULT = 4


@dataclass(frozen=True)
class OverviewChoice:
    """What the overview's visitor chose to see: one column's distribution and the scatter matrix columns."""

    column: str
    matrix: tuple[str, ...]
    notes: tuple[str, ...] = ()


def overview_choice_parse(*, params: Any, overview: Overview) -> OverviewChoice:
    """Validate `column=` (any numeric or text column, or gender) and `matrix=` (up to MATRIX_MAX numeric
    columns). Unknown values are dropped with a note, never raised."""
    notes: list[str] = []
    numeric = [h.feature.key for h in overview.histograms]
    allowed = [*numeric, "gender", *(t.key for t in overview.texts)]
    column = (params.get("column") or "").strip()
    if column and column not in allowed:
        notes.append(f"column: {column!r} is not a column of this table; showing {allowed[0]!r}")
        column = ""
    column = column or allowed[0]

    chosen: list[str] = []
    raw = params.getlist("matrix") if hasattr(params, "getlist") else list(params.get("matrix") or [])
    for value in raw:
        value = value.strip()
        if value in chosen:
            continue
        if value not in numeric:
            notes.append(f"matrix: {value!r} is not a numeric column with values; left out")
        elif len(chosen) >= MATRIX_MAX:
            notes.append(f"matrix: at most {MATRIX_MAX} columns at once; {value!r} left out")
        else:
            chosen.append(value)
    if not chosen:
        chosen = numeric[:MATRIX_DEFAULT]
    return OverviewChoice(column=column, matrix=tuple(chosen), notes=tuple(notes))


@dataclass(frozen=True)
class PurchaseOverview:
    """Orders at a glance, aggregated in the database: per month, revenue by country, the top products."""

    orders: int  # purchases (cancellations left out)
    months: list[tuple[str, int, float]]  # ("YYYY-MM", orders, net revenue)
    countries: list[tuple[str, float]]  # the top countries by net revenue
    products: list[tuple[str, float]]  # ("CODE description", net revenue) of the top products
    countries_total: int = 0  # countries with orders, for "top N of M"


PURCHASE_TOP = 10


def purchase_overview(*, top: int = PURCHASE_TOP, use_cache: bool = True) -> PurchaseOverview | None:
    """None without orders. Three GROUP BYs (month, country, product) in the database; cached under the
    orders' count, largest id, last date and net total, so a visit after an unchanged import costs one scan."""
    from django.db.models.functions import TruncMonth

    from customers.orders.models import Order, OrderLine

    mark = Order.objects.aggregate(n=Count("id"), last=Max("id"), at=Max("ordered_at"), total=Sum("amount"))
    if not mark["n"]:
        return None
    key = "segmenta:purchase-overview:" + hashlib.sha256(repr(sorted(mark.items()) + [top]).encode()).hexdigest()
    cached = cache.get(key) if use_cache else None
    if cached is not None:
        return cached
    bought = ~Q(is_cancellation=True)
    per_month = (
        Order.objects.annotate(month=TruncMonth("ordered_at"))
        .values("month")
        .annotate(n=Count("id", filter=bought), revenue=Sum("amount"))
        .order_by("month")
    )
    by_country = (
        Order.objects.values("country")
        .annotate(revenue=Sum("amount"))
        .order_by("-revenue", "country")
        .values_list("country", "revenue")
    )
    countries = list(by_country)
    products = (
        OrderLine.objects.filter(is_non_product=False, product__isnull=False)
        .values("product__code", "product__description")
        .annotate(revenue=Sum("amount"))
        .order_by("-revenue", "product__code")[:top]
    )
    result = PurchaseOverview(
        orders=int(Order.objects.filter(bought).count()),
        months=[(r["month"].strftime("%Y-%m"), int(r["n"]), float(r["revenue"] or 0.0)) for r in per_month],
        countries=[(c or "Unknown", float(v or 0.0)) for c, v in countries[:top]],
        products=[
            (f"{r['product__code']} {r['product__description']}".strip(), float(r["revenue"] or 0.0)) for r in products
        ],
        countries_total=len(countries),
    )
    cache.set(key, result, OVERVIEW_CACHE_SECONDS)
    return result
