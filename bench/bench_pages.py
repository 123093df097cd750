"""Customer pages at scale: list, search, filters, sorts, detail and the data overview over BENCH_ROWS customers.

Run: DATABASE_URL=postgres://... BENCH_ROWS=1000000 python bench/bench_pages.py (an already-migrated database).
"overview" is a repeat visit (histograms and sample cached under the data's fingerprint: one aggregate scan);
"overview_cold" is the first visit after the data changed.
It loads BENCH_ROWS synthetic customers (ids BENCH-...) with COPY, ANALYZEs, then times each page through the
whole Django stack (test client, a Viewer logged in): median of 3 after a warm-up. Baseline measured in the same
run: one `SELECT count(*)` over the customers table (a full scan); each page's ratio is its time over that.
Refuses to run if the customers table holds customers it did not make. BENCH_REUSE=1 keeps rows of an
earlier run of the same size instead of reloading them.
"""

from __future__ import annotations

import io
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("DJANGO_DEBUG", "0")  # no query log kept in memory

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from customers.demo import demo_customers  # noqa: E402
from customers.models import AttributeKind, Customer, CustomerAttribute  # noqa: E402

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
PREFIX = "BENCH-"
TABLE = Customer._meta.db_table


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_rows(n: int) -> float:
    """COPY n synthetic customers (plus a numeric attribute `visits`) into the table; returns seconds."""
    if connection.vendor != "postgresql":
        sys.exit("bench_pages: DATABASE_URL must point at PostgreSQL")
    foreign = Customer.objects.exclude(external_id__startswith=PREFIX).count()
    if foreign:
        sys.exit(
            f"bench_pages: the customers table holds {foreign} customers this benchmark did not "
            f"make; use an empty database"
        )
    if os.environ.get("BENCH_REUSE") and Customer.objects.count() == n:
        print("  BENCH_REUSE: the table already holds the benchmark's rows; not reloading")
        return 0.0
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {TABLE} CASCADE")
    CustomerAttribute.objects.update_or_create(key="visits", defaults={"label": "Visits", "kind": AttributeKind.NUMBER})
    rng = np.random.default_rng(11)
    chunk = 200_000
    frame_all = demo_customers(n=n, seed=7)
    frame_all["external_id"] = PREFIX + frame_all["external_id"].str.slice(5)
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg cursor
        for start in range(0, n, chunk):
            frame = frame_all.iloc[start : start + chunk].copy()
            visits = rng.poisson(6, len(frame))
            missing = rng.random(len(frame)) < 0.05
            frame["attributes"] = [
                '{"source": "synthetic demo"}' if m else f'{{"source": "synthetic demo", "visits": {v}}}'
                for v, m in zip(visits, missing, strict=True)
            ]
            frame["age"] = frame["age"].astype("Int64")
            frame.loc[rng.random(len(frame)) < 0.02, "age"] = None  # some missing ages
            buf = io.StringIO()
            frame[["external_id", "gender", "age", "annual_income", "spending_score", "attributes"]].to_csv(
                buf, index=False, header=False
            )
            with raw.copy(
                f"COPY {TABLE} (external_id, gender, age, annual_income, spending_score, attributes) "
                "FROM STDIN WITH (FORMAT csv)"
            ) as copy:
                copy.write(buf.getvalue())
        cursor.execute(f"ANALYZE {TABLE}")
    return time.perf_counter() - started


def timed(fn, repeat: int = 3) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    print(f"bench_pages: {ROWS:,} customers")
    with connection.cursor() as cursor:
        # created_at/updated_at have no database default: give them one for the COPY, then drop it.
        cursor.execute(
            f"ALTER TABLE {TABLE} ALTER COLUMN created_at SET DEFAULT now(), ALTER COLUMN updated_at SET DEFAULT now()"
        )
    try:
        load_s = load_rows(ROWS)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                f"ALTER TABLE {TABLE} ALTER COLUMN created_at DROP DEFAULT, ALTER COLUMN updated_at DROP DEFAULT"
            )
    print(f"  loaded with COPY in {load_s:.1f}s")

    User = get_user_model()
    user, _ = User.objects.get_or_create(username="bench-viewer")
    user.groups.add(Group.objects.get(name="Viewer"))
    client = Client()
    client.force_login(user)

    def count_all():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {TABLE}")
            cursor.fetchone()

    baseline = timed(count_all)
    pages = {
        "list_first_page": "/customers/",
        "list_page_100": "/customers/?page=100",
        "list_sort_income_desc": "/customers/?sort=-income",
        "list_sort_updated_desc": "/customers/?sort=-updated",
        "list_filter_gender_age": "/customers/?gender=female&age_min=30&age_max=40",
        "list_search_prefix": f"/customers/?q={PREFIX}0001&match=prefix",
        "list_search_contains": "/customers/?q=12345",
        "detail": f"/customers/id/{PREFIX}{1:0{max(5, len(str(ROWS)))}d}/",
        "overview": "/customers/overview/",
    }
    results: dict[str, float] = {}
    for name, url in pages.items():

        def get(url=url):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)

        results[name] = timed(get)
        print(f"  {name:<26} {results[name] * 1000:8.1f} ms   ({results[name] / baseline:5.2f}× count(*))   {url}")
    from django.core.cache import cache

    def overview_cold():
        cache.clear()
        assert client.get("/customers/overview/").status_code == 200

    results["overview_cold"] = timed(overview_cold)
    print(
        f"  {'overview_cold':<26} {results['overview_cold'] * 1000:8.1f} ms   "
        f"({results['overview_cold'] / baseline:5.2f}× count(*))   first visit after a change (cache empty)"
    )
    print(f"  baseline SELECT count(*)   {baseline * 1000:8.1f} ms")
    print(f"  peak memory {peak_mb():.0f} MB")
    out = {
        "rows": ROWS,
        "load_copy_s": round(load_s, 2),
        "baseline_count_ms": round(baseline * 1000, 1),
        **{f"{k}_ms": round(v * 1000, 1) for k, v in results.items()},
        **{f"{k}_vs_count": round(v / baseline, 2) for k, v in results.items()},
        "peak_rss_mb": round(peak_mb(), 1),
    }
    print("BENCH_RESULT " + json.dumps(out))


if __name__ == "__main__":
    main()
