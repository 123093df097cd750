"""Guessing a column's role and unit from its header and values, once, when an import first meets it.
Pure (pandas), no database. Admins correct the guesses in the admin; later imports keep their choice.

Roles (what a column says about a customer; the engine's flags and strategies read them):

* monetary: money spent: `Mnt*`, `*spend*`, `*amount*`, `*revenue*`, the Wholesale spend columns
  (`Fresh`, `Milk`, `Grocery`, `Frozen`, `Detergents_Paper`, `Delicassen`) when their values are
  non-negative numbers, and any other numeric column whose values look like skewed amounts
  (non-negative, at least 20 distinct values, median at least 100, mean at least 1.3 x the median);
* frequency: `Num*Purchases`, `*visits*`, `*frequency*`, `*orders*`, `*purchases*`;
* recency: `Recency`, `days_since*`, `*last_purchase*`;
* capacity (means to spend): `Income`, `salary`;
* demographic: `Age`, `Year_Birth`, `Kidhome`/`Teenhome`, `Education`, `Marital_Status`, `Region`,
  `Channel`, gender;
* other: everything else (ids, codes, flags, dates), and any column with a single value.

A money unit is guessed only when the header names one: `(k$)` -> k$, `$`/`USD` -> $, `EUR`/`€` -> €,
`GBP`/`£` -> £. Otherwise the column has no unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: The Wholesale customers file's spend columns (annual spend per product family, in monetary units).
WHOLESALE_SPEND = frozenset({"fresh", "milk", "grocery", "frozen", "detergentspaper", "delicassen", "delicatessen"})

#: (role, pattern on the header lower-cased with letters and digits only), first match wins.
_NAME_RULES: tuple[tuple[str, str], ...] = (
    ("frequency", r"^num.*purchases$"),
    ("monetary", r"^mnt"),
    ("monetary", r"spend|spent|amount|revenue|sales|monetary"),
    ("recency", r"^recency|dayssince|lastpurchase|lastorder|lastvisit"),
    ("frequency", r"visits?|frequency|orders?$|norders|ordercount|purchases$|transactions$"),
    ("capacity", r"income|salary|wage"),
    (
        "demographic",
        r"^(age|agegroup|yearbirth|birthyear|yearofbirth|kidhome|teenhome|children|kids|education|maritalstatus"
        r"|gender|genre|sex|region|channel|country|city|state)$",
    ),
)

#: Money units named in a header: (pattern on the header as written, unit). `(k$)` is checked first.
_UNIT_RULES: tuple[tuple[str, str], ...] = (
    (r"\(\s*k\s*\$\s*\)|\bk\$|\$\s*k\b|\bkusd\b", "k$"),
    (r"\(\s*k\s*€\s*\)|\bk€|\bkeur\b", "k€"),
    (r"\$|\busd\b|\bdollars?\b", "$"),
    (r"€|\beur\b|\beuros?\b", "€"),
    (r"£|\bgbp\b|\bpounds?\b", "£"),
)


@dataclass(frozen=True)
class ValueSummary:
    """What the values of a column look like (from the first chunk of the file)."""

    numeric: bool = False
    count: int = 0  # non-empty values
    distinct: int = 0
    minimum: float | None = None
    median: float | None = None
    mean: float | None = None

    @property
    def skewed_amounts(self) -> bool:
        """Non-negative numbers of many values, mostly large, with a long right tail: amounts of money."""
        if not self.numeric or self.minimum is None or self.median is None or self.mean is None:
            return False
        return self.minimum >= 0 and self.distinct >= 20 and self.median >= 100 and self.mean >= 1.3 * self.median


def values_summarize(text: pd.Series) -> ValueSummary:
    """A `ValueSummary` of a column's stripped text cells ("" for empty)."""
    values = text[text != ""]
    if not len(values):
        return ValueSummary()
    numbers = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()
    finite = numbers[np.isfinite(numbers)]
    if len(finite) < len(values):
        return ValueSummary(numeric=False, count=len(values), distinct=int(values.nunique()))
    return ValueSummary(
        numeric=True,
        count=len(finite),
        distinct=len(np.unique(finite)),
        minimum=float(finite.min()),
        median=float(np.median(finite)),
        mean=float(finite.mean()),
    )


def _normal(header: str) -> str:
    return re.sub(r"[^0-9a-z]", "", str(header).lower())


def role_guess(header: str, summary: ValueSummary | None = None) -> str:
    """The role of a column named `header` whose values look like `summary` (one of ROLES)."""
    name = _normal(header)
    summary = summary or ValueSummary()
    if summary.count and summary.distinct <= 1:
        return "other"  # one value for everyone (e.g. Z_Revenue = 11) says nothing about a customer
    for role, pattern in _NAME_RULES:
        if re.search(pattern, name):
            return role
    if name in WHOLESALE_SPEND and summary.numeric and (summary.minimum or 0) >= 0:
        return "monetary"
    if summary.skewed_amounts:
        return "monetary"
    return "other"


def unit_guess(header: str) -> str:
    """The money unit a header names ('Annual Income (k$)' -> 'k$', 'Spend EUR' -> '€'), else ''."""
    text = str(header).lower()
    for pattern, unit in _UNIT_RULES:
        if re.search(pattern, text):
            return unit
    return ""
