"""Demo-like customers (Mall columns) beside a Personality-like file that has only its own columns.

`personality_tsv` writes a small Customer Personality-like file (tab-separated, `Income` in dollars with
`missing` blanks and one extreme value, `Mnt*` spend, `Num*Purchases`, `Recency`); `demo_and_personality`
loads 2,000 demo customers with the factories and imports the file through the real import service.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from customers.imports.service import customer_import
from customers.models import CustomerAttribute
from customers.tests.factories import customer_groups_create

PERSONALITY_ROWS = 2240
MISSING_INCOME = 24
SPEND = ("MntWines", "MntFruits", "MntMeatProducts", "MntFishProducts", "MntSweetProducts", "MntGoldProds")
PURCHASES = ("NumWebPurchases", "NumCatalogPurchases", "NumStorePurchases")


def personality_tsv(path: Path, *, rows: int = PERSONALITY_ROWS, missing: int = MISSING_INCOME, seed: int = 9) -> Path:
    """A small Personality-like file: tab-separated, `Income` in dollars (`missing` blank, one extreme)."""
    rng = np.random.default_rng(seed)
    income = np.clip(rng.normal(52_000, 21_000, rows), 1_730, 160_000).round()
    income[7] = 666_666
    blank = set(rng.choice(np.arange(10, rows), size=missing, replace=False).tolist())
    wealth = (income - income.min()) / (160_000 - income.min())
    header = ["ID", "Year_Birth", "Education", "Income", "Recency", *SPEND, *PURCHASES]
    lines = ["\t".join(header)]
    for i in range(rows):
        w = min(float(wealth[i]), 1.0)
        spend = [int(max(0, rng.normal(scale * w, scale * 0.15))) for scale in (600, 50, 350, 70, 50, 60)]
        buys = [int(max(0, rng.normal(n * w + 1, 1.5))) for n in (8, 6, 10)]
        cells = [
            str(5000 + i),
            str(int(rng.integers(1945, 2000))),
            str(rng.choice(["Graduation", "PhD", "Master", "Basic"])),
            "" if i in blank else str(int(income[i])),
            str(int(rng.integers(0, 100))),
            *map(str, spend),
            *map(str, buys),
        ]
        lines.append("\t".join(cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def demo_and_personality(tmp_path: Path) -> list[str]:
    """Load both; returns the Personality features a run uses (income first)."""
    customer_groups_create({0: 500, 1: 500, 2: 500, 3: 500}, prefix="DEMO-")
    customer_import(file=personality_tsv(tmp_path / "marketing_campaign.csv"), source="command")
    # `Income` in dollars is kept as the attribute `income` (issue 9); before that it fed annual_income.
    income = "income" if CustomerAttribute.objects.filter(key="income").exists() else "annual_income"
    return [income, "mnt_wines", "mnt_meat_products", "num_store_purchases"]
