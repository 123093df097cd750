"""Explore pages at scale: the data overview (cold and warm, with a chosen distribution and scatter matrix) and
the customers list's column filters, natural id order, chosen columns and CSV export over BENCH_ROWS customers.

Run: DATABASE_URL=postgres://... BENCH_ROWS=1000000 python bench/bench_explore.py (an already-migrated database).
Loads the same synthetic customers as bench_pages (BENCH_REUSE=1 keeps them), then times each page through
the whole Django stack (test client, a Marketer logged in): p50 and p95 of 20 requests after a warm-up.
Baseline measured in the same run: one `SELECT count(*)` over the customers table.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("DJANGO_DEBUG", "0")

import bench_pages  # noqa: E402  (sets Django up)
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

ROWS = bench_pages.ROWS
REPEAT = int(os.environ.get("BENCH_REPEAT", "20"))
TABLE = bench_pages.TABLE


def percentiles(fn, repeat: int = REPEAT) -> tuple[float, float]:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def main() -> None:
    print(f"bench_explore: {ROWS:,} customers")
    with connection.cursor() as cursor:
        cursor.execute(
            f"ALTER TABLE {TABLE} ALTER COLUMN created_at SET DEFAULT now(), ALTER COLUMN updated_at SET DEFAULT now()"
        )
    try:
        load_s = bench_pages.load_rows(ROWS)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                f"ALTER TABLE {TABLE} ALTER COLUMN created_at DROP DEFAULT, ALTER COLUMN updated_at DROP DEFAULT"
            )
    print(f"  loaded in {load_s:.1f}s")
    user, _ = get_user_model().objects.get_or_create(username="bench-marketer")
    user.groups.add(Group.objects.get(name="Marketer"))
    client = Client()
    client.force_login(user)

    def count_all():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {TABLE}")
            cursor.fetchone()

    base50, _ = percentiles(count_all, 5)
    pages = {
        "overview": "/customers/overview/",
        "overview_chosen": "/customers/overview/?column=visits&matrix=age&matrix=visits&matrix=annual_income",
        "list_sort_id": "/customers/",
        "list_sort_id_desc": "/customers/?sort=-id",
        "list_page_100": "/customers/?page=100",
        "list_range_income": "/customers/?min.annual_income=50&max.annual_income=60",
        "list_range_attribute": "/customers/?min.visits=12",
        "list_text_equals": "/customers/?eq.source=synthetic%20demo",
        "list_chosen_columns": "/customers/?cols=visits,source",
    }
    results: dict[str, tuple[float, float]] = {}
    for name, url in pages.items():

        def get(url=url):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)

        results[name] = percentiles(get)
        p50, p95 = results[name]
        print(f"  {name:<24} p50 {p50 * 1000:8.1f} ms  p95 {p95 * 1000:8.1f} ms   {url}")

    def overview_cold():
        cache.clear()
        assert client.get("/customers/overview/").status_code == 200

    results["overview_cold"] = percentiles(overview_cold, 5)

    def export():
        response = client.get("/customers/export.csv?min.visits=14")
        assert response.status_code == 200
        export.rows = sum(chunk.count(b"\n") for chunk in response.streaming_content) - 1

    results["export_min_visits_14"] = percentiles(export, 3)
    for name in ("overview_cold", "export_min_visits_14"):
        p50, p95 = results[name]
        print(f"  {name:<24} p50 {p50 * 1000:8.1f} ms  p95 {p95 * 1000:8.1f} ms")
    print(f"  export rows {export.rows:,}; baseline count(*) {base50 * 1000:.1f} ms")
    out = {
        "rows": ROWS,
        "baseline_count_ms": round(base50 * 1000, 1),
        "export_rows": export.rows,
        **{f"{k}_p50_ms": round(v[0] * 1000, 1) for k, v in results.items()},
        **{f"{k}_p95_ms": round(v[1] * 1000, 1) for k, v in results.items()},
    }
    print("BENCH_RESULT " + json.dumps(out))


if __name__ == "__main__":
    main()
