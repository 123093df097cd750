"""The columns an audience export may carry, the default choice, and their validation.

A column comes from one of three places:

* ``customer``: a canonical customer field or an imported attribute (`customers.models.CustomerAttribute`),
  read per row from the database;
* ``group``: the same for every member of a segment (segment name, label, run, strategy) or of a static
  audience (its name), rendered once per group;
* ``campaign``: the same for every row (campaign id, name, channel, offer).

Extension point: later capabilities (recommendations) add columns by registering a provider with
`export_column_provider_register`; a provider returns `ExportColumn`s with source ``customer`` whose
`path` is an ORM path relative to the customer (e.g. ``"recommendations__product__name"``) or an
`expression` builder. Providers are registered in an AppConfig.ready().
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from campaigns.models import Campaign
from core.exceptions import DataError
from customers.models import AttributeKind, CustomerAttribute
from customers.orders.value_models import CustomerValue
from segmentation.ml.fields import CANONICAL_FEATURES, EXTERNAL_ID, FEATURE_META


@dataclass(frozen=True)
class ExportColumn:
    name: str  # what the page, the API's `columns` parameter and the file header call it
    label: str
    source: str  # "customer", "group" or "campaign"
    kind: str = "text"  # "text", "number" or "date"
    path: str = ""  # customer source: field path relative to the customer
    attribute: str = ""  # customer source: key in Customer.attributes
    expression: Callable[[str], Any] | None = None  # customer source: builds an ORM expression from a prefix


#: The columns every export may use besides the customer's own (segment, audience and campaign columns).
GROUP_COLUMNS: tuple[ExportColumn, ...] = (
    ExportColumn("segment_name", "Segment name", "group"),
    ExportColumn("segment_label", "Segment number", "group", kind="number"),
    ExportColumn("run_id", "Run", "group", kind="number"),
    ExportColumn("audience_name", "Static audience name", "group"),
    ExportColumn("strategy", "Offer / strategy text (campaign's, else the segment's)", "group"),
)
CAMPAIGN_COLUMNS: tuple[ExportColumn, ...] = (
    ExportColumn("campaign_id", "Campaign id", "campaign", kind="number"),
    ExportColumn("campaign_name", "Campaign name", "campaign"),
    ExportColumn("channel", "Channel", "campaign"),
    ExportColumn("offer", "Offer", "campaign"),
)
#: Lifetime-value columns (the customer's stored prediction of the latest fit; empty without one), offered
#: once values have been fitted (`manage.py clv` or the lifetime-value page).
VALUE_COLUMNS: tuple[ExportColumn, ...] = (
    ExportColumn(
        "p_active", "P(active): probability still a customer", "customer", kind="number", path="value__p_alive"
    ),
    ExportColumn(
        "expected_purchases",
        "Expected purchases (over the fit's horizon)",
        "customer",
        kind="number",
        path="value__expected_purchases",
    ),
    ExportColumn(
        "expected_value",
        "Expected value (over the fit's horizon)",
        "customer",
        kind="number",
        path="value__expected_value",
    ),
)
_CANONICAL_KINDS = {"gender": "text", "age": "number", "annual_income": "number", "spending_score": "number"}

#: Words that mark an attribute as a way to reach the customer (matched on its key and its label).
CONTACT_WORDS = re.compile(r"(^|[^a-z])(e[-_ ]?mail|mail|contact|phone|mobile)([^a-z]|$)", re.IGNORECASE)

_providers: list[Callable[[], Iterable[ExportColumn]]] = []


def export_column_provider_register(provider: Callable[[], Iterable[ExportColumn]]) -> None:
    """Add columns from another capability (e.g. recommendations); call it from an AppConfig.ready()."""
    if provider not in _providers:
        _providers.append(provider)


def export_columns_available() -> dict[str, ExportColumn]:
    """Every column an export may carry, by name, in the order the page lists them.

    An attribute whose key is already a column name (``offer``, ``strategy``...) is offered as
    ``attribute_<key>``.
    """
    columns: dict[str, ExportColumn] = {
        EXTERNAL_ID: ExportColumn(EXTERNAL_ID, "Customer id", "customer", path="external_id")
    }
    for key in CANONICAL_FEATURES:
        columns[key] = ExportColumn(key, FEATURE_META[key][0], "customer", kind=_CANONICAL_KINDS[key], path=key)
    fixed = {c.name for c in (*GROUP_COLUMNS, *CAMPAIGN_COLUMNS)}
    for key, label, kind in CustomerAttribute.objects.order_by("key").values_list("key", "label", "kind"):
        if key in columns:
            continue
        name = f"attribute_{key}" if key in fixed else key
        columns[name] = ExportColumn(
            name, label or key, "customer", kind="number" if kind == AttributeKind.NUMBER else kind, attribute=key
        )
    for column in (*GROUP_COLUMNS, *CAMPAIGN_COLUMNS):
        columns[column.name] = column
    if CustomerValue.objects.exists():
        for column in VALUE_COLUMNS:
            columns.setdefault(column.name, column)  # an attribute of the same name keeps it
    for provider in _providers:
        for column in provider():
            columns.setdefault(column.name, column)
    return columns


def contact_columns(available: dict[str, ExportColumn] | None = None) -> list[str]:
    """Attribute columns that hold a way to reach the customer (email, e-mail, mail, contact, phone)."""
    available = available if available is not None else export_columns_available()
    return [
        c.name
        for c in available.values()
        if c.attribute and (CONTACT_WORDS.search(c.attribute) or CONTACT_WORDS.search(c.label))
    ]


def export_columns_default(available: dict[str, ExportColumn] | None = None, *, static: bool = False) -> list[str]:
    """external_id, the contact columns (if the table has any), the segment name (a static audience's name for
    a campaign on one), campaign name, offer and strategy."""
    available = available if available is not None else export_columns_available()
    return [
        EXTERNAL_ID,
        *contact_columns(available),
        "audience_name" if static else "segment_name",
        "campaign_name",
        "offer",
        "strategy",
    ]


def export_columns_validate(
    names: Sequence[str] | str | None, *, parameter: str = "columns", available: dict[str, ExportColumn] | None = None
) -> list[str]:
    """The chosen column names, checked against `export_columns_available`, in the given order.

    Accepts a list or a comma-separated string. Unknown names raise DataError naming the parameter, the
    unknown names and the allowed ones; an empty choice or a repeated name is an error too.
    """
    available = available if available is not None else export_columns_available()
    if names is None:
        raise DataError(f"{parameter}: choose at least one column; got nothing")
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",")]
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        raise DataError(f"{parameter}: expected a list of column names; got {names!r}")
    names = [n for n in names if n]
    if not names:
        raise DataError(f"{parameter}: choose at least one column; got none")
    unknown = [n for n in names if n not in available]
    if unknown:
        raise DataError(
            f"{parameter}: unknown column {', '.join(repr(n) for n in unknown)}; allowed: {', '.join(available)}"
        )
    seen: set[str] = set()
    repeated = [n for n in names if n in seen or seen.add(n)]
    if repeated:
        raise DataError(f"{parameter}: column {', '.join(repr(n) for n in repeated)} chosen twice")
    return list(names)


def campaign_export_columns(*, campaign: Campaign, available: dict[str, ExportColumn] | None = None) -> list[str]:
    """The campaign's chosen columns still available (an attribute may have gone), else the default."""
    available = available if available is not None else export_columns_available()
    chosen = [n for n in campaign.export_columns or [] if n in available]
    return chosen or export_columns_default(available, static=bool(campaign.audience_id))


def _recommendation_columns() -> tuple[ExportColumn, ...]:
    """Each customer's top-10 recommended products (active recommendation run), codes or names in one cell."""
    from campaigns.recommendations.columns import recommended_codes, recommended_names

    return (
        ExportColumn(
            "recommended_codes", "Recommended product codes (top 10)", "customer", expression=recommended_codes
        ),
        ExportColumn(
            "recommended_names", "Recommended product names (top 10)", "customer", expression=recommended_names
        ),
    )


export_column_provider_register(_recommendation_columns)
