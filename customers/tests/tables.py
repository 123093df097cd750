"""Generated customer tables shaped like public datasets the Mall file does not cover (seeded, so stable).

* `personality_tsv`: like Kaggle's "Customer Personality Analysis" (marketing_campaign.csv): tab-separated,
  2,240 rows, `ID`, `Income` in dollars (24 missing, one extreme 666,666), `Mnt*` spend, `Num*Purchases`,
  `Recency`, demographics and campaign flags. The first row is the real file's first customer (5524, 58,138 $).
* `wholesale_csv`: like UCI's "Wholesale customers": 440 rows, no id column, `Channel`, `Region` and six
  skewed annual spend columns.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

PERSONALITY_ROWS = 2240
PERSONALITY_MISSING_INCOME = 24
PERSONALITY_HEADER = (
    "ID Year_Birth Education Marital_Status Income Kidhome Teenhome Dt_Customer Recency MntWines MntFruits "
    "MntMeatProducts MntFishProducts MntSweetProducts MntGoldProds NumDealsPurchases NumWebPurchases "
    "NumCatalogPurchases NumStorePurchases NumWebVisitsMonth AcceptedCmp1 Complain Z_CostContact Z_Revenue "
    "Response"
).split()
WHOLESALE_ROWS = 440
WHOLESALE_HEADER = ["Channel", "Region", "Fresh", "Milk", "Grocery", "Frozen", "Detergents_Paper", "Delicassen"]


def personality_tsv(path: Path, *, seed: int = 9) -> Path:
    rng = np.random.default_rng(seed)
    n = PERSONALITY_ROWS
    income = np.clip(rng.normal(52_000, 21_000, n), 1_730, 160_000).round()
    wealth = (income - income.min()) / (income.max() - income.min())
    missing = set(rng.choice(np.arange(1, n), PERSONALITY_MISSING_INCOME, replace=False).tolist())
    extreme = int(next(i for i in range(n - 1, 0, -1) if i not in missing))
    lines = ["\t".join(PERSONALITY_HEADER)]
    for i in range(n):
        level = 0.2 + 2 * wealth[i]
        row = [
            5524 if i == 0 else 10_000 + i,
            int(rng.integers(1940, 1997)),
            rng.choice(["Graduation", "PhD", "Master", "Basic", "2n Cycle"]),
            rng.choice(["Single", "Together", "Married", "Divorced", "Widow"]),
            "" if i in missing else (666_666 if i == extreme else (58_138 if i == 0 else int(income[i]))),
            int(rng.integers(0, 3)),
            int(rng.integers(0, 3)),
            f"2013-{int(rng.integers(1, 13)):02d}-{int(rng.integers(1, 29)):02d}",
            int(rng.integers(0, 100)),
            *(int(rng.gamma(1.2, scale * level)) for scale in (300, 26, 166, 37, 27, 44)),
            int(rng.integers(0, 16)),
            int(rng.integers(0, 28)),
            int(rng.integers(0, 29)),
            int(rng.integers(0, 14)),
            int(rng.integers(0, 21)),
            int(rng.integers(0, 2)),
            int(rng.random() < 0.01),
            3,
            11,
            int(rng.random() < 0.15),
        ]
        lines.append("\t".join(str(v) for v in row))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def wholesale_csv(path: Path, *, seed: int = 4) -> Path:
    rng = np.random.default_rng(seed)
    lines = [",".join(WHOLESALE_HEADER)]
    for _ in range(WHOLESALE_ROWS):
        channel = 1 if rng.random() < 0.68 else 2
        region = int(rng.choice([1, 2, 3], p=[0.18, 0.11, 0.71]))
        spends = [int(rng.lognormal(mean, 1.0)) + 3 for mean in (8.7, 8.1, 8.4, 7.4, 6.6, 6.6)]
        lines.append(",".join(str(v) for v in [channel, region, *spends]))
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path
