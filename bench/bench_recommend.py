"""Benchmark: recommendations at 100,000 customers x ~3.7k products (issue 13).

Run:  BENCH_RECS_CUSTOMERS=100000 python bench/bench_recommend.py   (DATABASE_URL: a migrated database)
The matrix is Online Retail's purchases (cleaned as issue 13 says) replicated with offset customer ids up to
BENCH_RECS_CUSTOMERS rows (a synthetic long-tail shop of the same shape when the datasets folder is absent).
Measured in this process, one after another:

* baseline: `implicit`'s CPU ALS called directly on the same confidence matrix (64 factors, 15 iterations,
  the same threads, BLAS limited to one thread, as `implicit` advises);
* fit: the product's `ALS.fit` on the interactions (plus the popularity it is blended with);
* serve: top-10 for every customer with a reason per line (the blend, already-bought excluded) and their
  storage in the database (COPY on PostgreSQL), as a run stores them.

Goals: fit within 1.2x the direct call; top-10 + storage within 2x the fit; peak memory under 2 GB.
The last line is `BENCH_RESULT {json}`.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import sparse  # noqa: E402

from segmentation.ml.recommend import build_interactions, clean_order_lines  # noqa: E402
from segmentation.ml.recommend.interactions import Interactions  # noqa: E402
from segmentation.ml.recommend.models import (  # noqa: E402
    ALS,
    Blend,
    Popularity,
    SegmentPopularity,
    bounded_blas,
    confidence,
    default_threads,
)
from segmentation.ml.recommend.pipeline import RecommendConfig  # noqa: E402
from segmentation.ml.recommend.serving import served_lists  # noqa: E402

CUSTOMERS = int(os.environ.get("BENCH_RECS_CUSTOMERS", "100000"))
NON_PRODUCT = "POST DOT M C2 D S B CRUK PADS AMAZONFEE ADJUST ADJUST2".split() + ["BANK CHARGES"]
GOAL_FIT_RATIO, GOAL_SERVE_RATIO, GOAL_PEAK_MB = 1.2, 2.0, 2048
SEED = 20261130


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def online_retail() -> Interactions | None:
    folder = Path(os.environ.get("SEGMENTA_DATASETS", str(ROOT.parent / "shared" / "datasets")))
    path = folder / "online_retail" / "online_retail.csv.gz"
    if not path.is_file():
        return None
    raw = pd.read_csv(path, dtype={"CustomerID": "string", "InvoiceNo": str, "StockCode": str})
    frame = raw.rename(
        columns={"CustomerID": "customer", "StockCode": "product", "InvoiceDate": "date", "Quantity": "quantity",
                 "UnitPrice": "price", "InvoiceNo": "order"}
    )  # fmt: skip
    return build_interactions(clean_order_lines(frame, non_product_codes=NON_PRODUCT))


def synthetic(rows: int, products: int = 3700, per_customer: int = 70) -> Interactions:
    rng = np.random.default_rng(SEED)
    weights = 1.0 / np.arange(1, products + 1) ** 0.8
    weights /= weights.sum()
    counts = rng.poisson(per_customer, rows).clip(1, products)
    cols = np.concatenate([rng.choice(products, size=c, replace=False, p=weights) for c in counts])
    r = np.repeat(np.arange(rows), counts)
    matrix = sparse.csr_matrix((rng.integers(1, 4, len(r)).astype(np.float32), (r, cols)), shape=(rows, products))
    last = matrix.copy().astype(np.int32)
    last.data = rng.integers(15000, 15365, len(last.data)).astype(np.int32)
    return Interactions(matrix, last, np.arange(rows), np.arange(products))


def replicate(base: Interactions, rows: int) -> Interactions:
    """``base`` stacked with offset customer ids until ``rows`` customers."""
    reps = -(-rows // base.shape[0])
    matrix = sparse.vstack([base.matrix] * reps, format="csr")[:rows]
    last = sparse.vstack([base.last_day] * reps, format="csr")[:rows]
    return Interactions(matrix, last, np.arange(rows), np.arange(base.shape[1]))


def store_setup(inter: Interactions):
    """Customers and products in the database whose pks are the matrix's labels (not timed)."""
    import django

    django.setup()
    from django.db import connection

    from campaigns.recommendations.models import RecommendationRun
    from customers.models import Customer
    from customers.orders.models import Product

    Customer.objects.bulk_create((Customer(id=int(i), external_id=f"b{i}") for i in inter.customers), batch_size=10000)
    Product.objects.bulk_create(
        (Product(id=int(j), code=f"P{j}", description=f"Product {j}") for j in inter.products), batch_size=5000
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in (Customer._meta.db_table, Product._meta.db_table):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")  # noqa: S608
    return RecommendationRun.objects.create(status="running", params={"bench": True})


def main() -> dict:
    base = online_retail()
    source = "online_retail_replicated" if base is not None else "synthetic"
    inter = replicate(base, CUSTOMERS) if base is not None else synthetic(CUSTOMERS)
    inter = Interactions(inter.matrix, inter.last_day, inter.customers + 1, inter.products + 1)  # pks from 1
    print(f"matrix: {inter.shape[0]:,} customers x {inter.shape[1]:,} products, {inter.nnz:,} non-zeros ({source})")
    threads = default_threads()
    params = {"factors": 64, "regularization": 0.05, "alpha": 1.0, "iterations": 15}

    from implicit.cpu.als import AlternatingLeastSquares

    with bounded_blas(1):
        started = time.perf_counter()
        direct = AlternatingLeastSquares(**params, random_state=0, num_threads=threads)
        direct.fit(confidence(inter.matrix, "log"), show_progress=False)
        baseline_s = time.perf_counter() - started
    del direct

    started = time.perf_counter()
    als = ALS(**params, weighting="log", random_state=0, num_threads=threads).fit(inter)
    popularity = Popularity(30).fit(inter)
    blend = Blend(als, popularity, weight=0.8).fit(inter)
    fit_s = time.perf_counter() - started
    print(f"implicit ALS directly: {baseline_s:6.2f} s; product fit (ALS + popularity + blend): {fit_s:6.2f} s")

    run = store_setup(inter)
    from campaigns.recommendations import services

    models = {"als": als, "popularity": popularity, "blend": blend}
    models["segment_popularity"] = SegmentPopularity(None, 30).fit(inter)
    config = RecommendConfig(n=10)
    started = time.perf_counter()
    lists = served_lists(models, "blend", inter, np.full(inter.shape[0], "", dtype=object), None, None, config)
    top_s = time.perf_counter() - started
    started = time.perf_counter()
    services._lines_write(run=run, lists=lists, segments={})
    store_s = time.perf_counter() - started
    serve_s = top_s + store_s
    print(f"top-10 for all with reasons: {top_s:6.2f} s; storage of {len(lists):,} lines: {store_s:6.2f} s")
    peak = peak_rss_mb()
    result = {
        "customers": int(inter.shape[0]),
        "products": int(inter.shape[1]),
        "nnz": int(inter.nnz),
        "source": source,
        "threads": threads,
        "implicit_direct_s": round(baseline_s, 3),
        "fit_s": round(fit_s, 3),
        "fit_vs_implicit": round(fit_s / baseline_s, 3),
        "top10_s": round(top_s, 3),
        "store_s": round(store_s, 3),
        "lines": len(lists),
        "serve_vs_fit": round(serve_s / fit_s, 3),
        "peak_rss_mb": round(peak, 1),
        "goals": {"fit_vs_implicit": GOAL_FIT_RATIO, "serve_vs_fit": GOAL_SERVE_RATIO, "peak_rss_mb": GOAL_PEAK_MB},
        "goal_met": fit_s / baseline_s <= GOAL_FIT_RATIO
        and serve_s / fit_s <= GOAL_SERVE_RATIO
        and peak < GOAL_PEAK_MB,
    }
    print(
        f"fit {fit_s / baseline_s:.2f}x implicit (goal <= {GOAL_FIT_RATIO}); top-10 + storage {serve_s / fit_s:.2f}x "
        f"the fit (goal <= {GOAL_SERVE_RATIO}); peak RSS {peak:.0f} MB (goal < {GOAL_PEAK_MB})"
    )
    print("BENCH_RESULT " + json.dumps(result))
    return result


if __name__ == "__main__":
    sys.exit(0 if main()["goal_met"] else 1)
