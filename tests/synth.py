"""Synthetic customer tables shaped like two public datasets the product must handle (issue 9).

Pure numpy/pandas, seeded (the same seed gives the same table), nothing downloaded, no real row copied:
only the published shapes are imitated (column names, types, ranges, skew and the relations between
columns), so tests can exercise "any table" without shipping the data.

* `personality_like`: like Kaggle's "Customer Personality Analysis" (marketing_campaign.csv,
  tab-separated, 2,240 rows): `Income` in dollars (median ~51,000) with 24 missing and one extreme
  value 666,666; two years spend per product (`Mnt*`), purchase counts per channel (`Num*Purchases`),
  web visits, `Recency` in days, and an `ID` column. Income drives spend; children lower it.
* `wholesale_like`: like UCI's "Wholesale customers" (440 rows, no id column): `Channel`
  (1 Horeca 298, 2 Retail 142), `Region` (1 Lisbon 77, 2 Oporto 47, 3 other 316) and six yearly
  spend amounts in monetary units, log-normal and heavily skewed; retail buys far more Grocery,
  Milk and Detergents_Paper (strongly correlated), Horeca more Fresh and Frozen.

`write_tsv` / `write_csv` write a table the way those files are written (missing values as empty cells);
`personality_tsv` / `wholesale_csv` generate and write in one call (the personality file's first row is then
the published file's first customer, ID 5524 with an income of 58,138). The only generator of these tables:
every app's tests import it from here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

PERSONALITY_COLUMNS = [
    "ID",
    "Year_Birth",
    "Education",
    "Marital_Status",
    "Income",
    "Kidhome",
    "Teenhome",
    "Dt_Customer",
    "Recency",
    "MntWines",
    "MntFruits",
    "MntMeatProducts",
    "MntFishProducts",
    "MntSweetProducts",
    "MntGoldProds",
    "NumDealsPurchases",
    "NumWebPurchases",
    "NumCatalogPurchases",
    "NumStorePurchases",
    "NumWebVisitsMonth",
    "Response",
]
PERSONALITY_SPEND = [c for c in PERSONALITY_COLUMNS if c.startswith("Mnt")]
PERSONALITY_ROWS = 2240
PERSONALITY_MISSING_INCOME = 24
PERSONALITY_EXTREME_INCOME = 666_666
PERSONALITY_FIRST_ID, PERSONALITY_FIRST_INCOME = 5524, 58_138  # the published file's first customer

WHOLESALE_SPEND = ["Fresh", "Milk", "Grocery", "Frozen", "Detergents_Paper", "Delicassen"]
WHOLESALE_COLUMNS = ["Channel", "Region", *WHOLESALE_SPEND]
WHOLESALE_ROWS = 440

# Share of the total spend per product and the largest amount seen in the published data.
_SHARES = {
    "MntWines": (0.50, 1493),
    "MntFruits": (0.045, 199),
    "MntMeatProducts": (0.275, 1725),
    "MntFishProducts": (0.06, 259),
    "MntSweetProducts": (0.045, 263),
    "MntGoldProds": (0.075, 362),
}
# (median, log-sd) of each amount per channel: 1 = Horeca (hotels, restaurants, cafes), 2 = retail.
_WHOLESALE = {
    1: {
        "Fresh": (9_600, 1.0),
        "Milk": (2_000, 0.9),
        "Grocery": (2_700, 0.9),
        "Frozen": (2_000, 1.1),
        "Detergents_Paper": (400, 1.2),
        "Delicassen": (800, 1.0),
    },
    2: {
        "Fresh": (5_900, 1.2),
        "Milk": (7_800, 0.7),
        "Grocery": (12_400, 0.6),
        "Frozen": (1_100, 1.0),
        "Detergents_Paper": (5_600, 0.8),
        "Delicassen": (1_350, 0.9),
    },
}
_WHOLESALE_SHARED = {"Milk": 0.7, "Grocery": 0.85, "Detergents_Paper": 0.85}  # loading on a common "shop size"


def _exact_counts(n: int, shares: list[float]) -> list[int]:
    """Counts in proportion to `shares` that sum to n (largest remainder)."""
    raw = np.asarray(shares, dtype=float) / sum(shares) * n
    counts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - counts), kind="stable")[: n - int(counts.sum())]:
        counts[i] += 1
    return counts.tolist()


def _shuffled_labels(rng: np.random.Generator, labels: list, shares: list[float], n: int) -> np.ndarray:
    values = np.repeat(np.asarray(labels, dtype=object), _exact_counts(n, shares))
    return rng.permutation(values)


def personality_like(n: int = PERSONALITY_ROWS, seed: int = 2240, *, published_first_row: bool = False) -> pd.DataFrame:
    """A Customer-Personality-like table of `n` customers (columns PERSONALITY_COLUMNS, in that order).

    `Income` is a nullable integer in dollars: 24 missing (fewer when n is small) and one 666,666.
    With `published_first_row` the first row is the published file's first customer (ID 5524, Income
    58,138); the missing and the extreme incomes are then drawn among the other rows.
    """
    if n < 2:
        raise ValueError(f"n: expected at least 2 customers; got {n}")
    rng = np.random.default_rng(seed)
    ids = rng.choice(11_192, size=n, replace=n > 11_192)
    year = np.clip(np.rint(rng.normal(1969, 11.5, n)), 1940, 1996).astype(int)
    education = _shuffled_labels(
        rng, ["Graduation", "PhD", "Master", "2n Cycle", "Basic"], [1127, 486, 370, 203, 54], n
    )
    marital = _shuffled_labels(rng, ["Married", "Together", "Single", "Divorced", "Widow"], [864, 580, 480, 232, 84], n)

    # Income: a latent "means" drives income, fewer kids and more spend.
    means = rng.normal(0.0, 1.0, n) + np.where(education == "Basic", -1.6, 0.0) + np.where(education == "PhD", 0.2, 0)
    income = np.clip(np.rint(52_000 + 20_500 * means + rng.normal(0, 3_000, n)), 1_730, 162_000)
    kidhome = np.clip(rng.poisson(np.exp(-0.8 - 0.9 * means)), 0, 2)
    teenhome = np.clip(rng.poisson(0.5 * np.exp(-0.1 * means) * np.clip((2000 - year) / 30, 0.2, 2)), 0, 2)

    # Spend over two years: log-linear in income, lower with children; split by product shares.
    log_total = 5.75 + 1.15 * means - 0.55 * kidhome - 0.25 * teenhome + rng.normal(0, 0.45, n)
    total = np.exp(log_total)
    shares = rng.dirichlet([40 * s for s, _ in _SHARES.values()], size=n)
    spend = {
        col: np.clip(np.rint(total * shares[:, i]), 0, top).astype(int)
        for i, (col, (_, top)) in enumerate(_SHARES.items())
    }
    spent = sum(spend.values())

    # Purchases follow spend; deals and web visits go the other way (families on a budget).
    store = np.clip(np.rint(2 + spent / 160 + rng.normal(0, 1.5, n)), 0, 13).astype(int)
    catalog = np.clip(rng.poisson(np.clip(spent / 230, 0.05, None)), 0, 28).astype(int)
    web = np.clip(rng.poisson(1.5 + spent / 350), 0, 27).astype(int)
    deals = np.clip(rng.poisson(np.clip(1.2 + 1.0 * kidhome + 0.9 * teenhome - 0.3 * means, 0.2, None)), 0, 15)
    visits = np.clip(np.rint(5.3 - 2.0 * means + 0.8 * kidhome + rng.normal(0, 1.5, n)), 0, 20).astype(int)
    recency = rng.integers(0, 100, n)
    response = (rng.random(n) < np.clip(0.08 + 0.08 * means + 0.06 * (recency < 30), 0.01, 0.6)).astype(int)
    joined = pd.Timestamp("2012-07-30") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")

    frame = pd.DataFrame(
        {
            "ID": ids,
            "Year_Birth": year,
            "Education": education.astype(str),
            "Marital_Status": marital.astype(str),
            "Income": pd.array(income.astype(np.int64), dtype="Int64"),
            "Kidhome": kidhome.astype(int),
            "Teenhome": teenhome.astype(int),
            "Dt_Customer": joined.strftime("%d-%m-%Y"),
            "Recency": recency,
            **spend,
            "NumDealsPurchases": deals.astype(int),
            "NumWebPurchases": web,
            "NumCatalogPurchases": catalog,
            "NumStorePurchases": store,
            "NumWebVisitsMonth": visits,
            "Response": response,
        }
    )
    first = 1 if published_first_row else 0  # row 0 keeps its income then
    chosen = first + rng.choice(n - first, size=min(n - first, PERSONALITY_MISSING_INCOME + 1), replace=False)
    extreme, *missing = chosen
    frame.loc[extreme, "Income"] = PERSONALITY_EXTREME_INCOME
    frame.loc[missing, "Income"] = pd.NA
    if published_first_row:
        frame.loc[frame["ID"] == PERSONALITY_FIRST_ID, "ID"] = frame.loc[0, "ID"]  # ids stay unique
        frame.loc[0, ["ID", "Income"]] = [PERSONALITY_FIRST_ID, PERSONALITY_FIRST_INCOME]
    return frame[PERSONALITY_COLUMNS]


def wholesale_like(n: int = WHOLESALE_ROWS, seed: int = 440) -> pd.DataFrame:
    """A Wholesale-customers-like table of `n` clients (columns WHOLESALE_COLUMNS; no id column)."""
    if n < 2:
        raise ValueError(f"n: expected at least 2 customers; got {n}")
    rng = np.random.default_rng(seed)
    channel = _shuffled_labels(rng, [1, 2], [298, 142], n).astype(int)
    region = _shuffled_labels(rng, [1, 2, 3], [77, 47, 316], n).astype(int)
    size = rng.normal(0.0, 1.0, n)  # the client's size, shared by the shop-shelf products
    amounts = {}
    for column in WHOLESALE_SPEND:
        load = _WHOLESALE_SHARED.get(column, 0.3)
        noise = load * size + np.sqrt(1 - load**2) * rng.normal(0.0, 1.0, n)
        median = np.array([_WHOLESALE[c][column][0] for c in channel], dtype=float)
        sigma = np.array([_WHOLESALE[c][column][1] for c in channel], dtype=float)
        amounts[column] = np.clip(np.rint(median * np.exp(sigma * noise)), 3, 120_000).astype(int)
    return pd.DataFrame({"Channel": channel, "Region": region, **amounts})[WHOLESALE_COLUMNS]


def write_tsv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write `frame` tab-separated with a header, no index, missing values as empty cells."""
    path = Path(path)
    frame.to_csv(path, sep="\t", index=False, na_rep="", lineterminator="\n")
    return path


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write `frame` comma-separated with a header, no index, missing values as empty cells."""
    path = Path(path)
    frame.to_csv(path, index=False, na_rep="", lineterminator="\n")
    return path


def personality_tsv(path: str | Path, *, n: int = PERSONALITY_ROWS, seed: int = 2240) -> Path:
    """A Personality-like file (tab-separated) whose first row is the published first customer (5524, 58,138)."""
    return write_tsv(personality_like(n, seed, published_first_row=True), path)


def wholesale_csv(path: str | Path, *, n: int = WHOLESALE_ROWS, seed: int = 440) -> Path:
    """A Wholesale-like file (comma-separated, no id column)."""
    return write_csv(wholesale_like(n, seed), path)
