"""Benchmark: customer import of a large mall-style CSV into PostgreSQL against a plain COPY.

Run:  DATABASE_URL=postgres://user@host:port/db BENCH_ROWS=1000000 python bench/bench_import.py
The database must already be migrated. The script generates a CSV (the Mall columns plus two
attribute columns) in a temporary folder and, in the same run, measures

* baseline: a plain `COPY` of that file into a plain table with the same columns (no indexes),
  measured before and after the imports (the ratio uses the mean of the two),
* indexed baseline: the same COPY into a clone of the customer table with all its indexes,
* floor: the same COPY into a clone without its secondary indexes, then building them in the
  same transaction (what a bulk load into this schema cannot go below),
* import: `customers.imports.service.customer_import` of the file (all rows new),
* reimport: the same file again (all rows updated),

each in its own process so that its peak memory (ru_maxrss) is its own. The customers, import
jobs and attributes it creates are deleted afterwards. The last line is `BENCH_RESULT {json}`.
Goals: import within 3x the baseline time, peak memory under 1.5 GB.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

ID_PREFIX = "B"
ATTRIBUTES = ("Bench Region", "Bench Visits")  # stored as bench_region, bench_visits
GOAL_RATIO = 3.0
GOAL_PEAK_MB = 1536


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """Write a mall-style CSV (CRLF, zero-padded ids) in chunks, so memory stays small."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    header = ["CustomerID", "Genre", "Age", "Annual Income (k$)", "Spending Score (1-100)", *ATTRIBUTES]
    chunk = 200_000
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(header) + "\r\n")
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            frame = pd.DataFrame(
                {
                    "id": [f"{ID_PREFIX}{i:07d}" for i in range(start + 1, start + n + 1)],
                    "genre": rng.choice(np.array(["Male", "Female"]), n),
                    "age": rng.integers(18, 71, n),
                    "income": rng.integers(15, 138, n),
                    "score": rng.integers(1, 101, n),
                    "region": rng.choice(np.array(["North", "South", "East", "West"]), n),
                    "visits": rng.integers(0, 60, n),
                }
            )
            frame.to_csv(fh, header=False, index=False, lineterminator="\r\n")


def child_baseline(path: Path, *, indexed: bool = False) -> dict:
    """Plain COPY of the file into a plain table with the same columns.

    With `indexed`, the table is a clone of the customer table with all its indexes and
    constraints (plus the two attribute columns): the floor for any load into that schema.
    """
    import django

    django.setup()
    from django.db import connection

    table = "bench_plain_copy"
    if indexed:
        create = (
            f"CREATE TABLE {table} (LIKE customers_customer INCLUDING ALL, bench_region text, "
            "bench_visits double precision)"
        )
        columns = "(external_id, gender, age, annual_income, spending_score, bench_region, bench_visits)"
    else:
        create = (
            f"CREATE TABLE {table} (customer_id text, genre text, age integer, annual_income double precision, "
            "spending_score double precision, bench_region text, bench_visits double precision)"
        )
        columns = ""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(create)
        if indexed:
            cursor.execute(
                f"ALTER TABLE {table} ALTER attributes SET DEFAULT '{{}}', "
                "ALTER created_at SET DEFAULT now(), ALTER updated_at SET DEFAULT now()"
            )
        started = time.perf_counter()
        with connection.cursor() as copy_cursor, open(path, "rb") as fh:
            with copy_cursor.copy(f"COPY {table} {columns} FROM STDIN (FORMAT csv, HEADER true)") as copy:
                while block := fh.read(1 << 20):
                    copy.write(block)
        seconds = time.perf_counter() - started
        cursor.execute(f"SELECT count(*) FROM {table}")
        count = cursor.fetchone()[0]
        cursor.execute(f"DROP TABLE {table}")
    return {"seconds": seconds, "rows": count, "peak_rss_mb": peak_rss_mb()}


def child_floor(path: Path) -> dict:
    """The floor of any load into the customer schema: COPY into a clone of the customer table
    without its secondary indexes, then build them (one transaction, as the import does)."""
    import django

    django.setup()
    from django.db import connection, transaction

    table = "bench_floor_copy"
    columns = "(external_id, gender, age, annual_income, spending_score, bench_region, bench_visits)"
    indexes = [
        f"ALTER TABLE {table} ADD CONSTRAINT {table}_external_id_key UNIQUE (external_id)",
        f"CREATE INDEX {table}_external_id_like ON {table} (external_id varchar_pattern_ops)",
        f"CREATE INDEX {table}_age ON {table} (age)",
        f"CREATE INDEX {table}_annual_income ON {table} (annual_income)",
        f"CREATE INDEX {table}_spending_score ON {table} (spending_score)",
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(
            f"CREATE TABLE {table} (LIKE customers_customer INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
            "INCLUDING IDENTITY, bench_region text, bench_visits double precision)"
        )
        cursor.execute(
            f"ALTER TABLE {table} ADD PRIMARY KEY (id), ALTER attributes SET DEFAULT '{{}}', "
            "ALTER created_at SET DEFAULT now(), ALTER updated_at SET DEFAULT now()"
        )
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        with (
            open(path, "rb") as fh,
            cursor.copy(f"COPY {table} {columns} FROM STDIN (FORMAT csv, HEADER true)") as copy,
        ):
            while block := fh.read(1 << 20):
                copy.write(block)
        copied = time.perf_counter()
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for statement in indexes:
            cursor.execute(statement)
    finished = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {table}")
    return {
        "seconds": finished - started,
        "copy_seconds": copied - started,
        "index_seconds": finished - copied,
        "peak_rss_mb": peak_rss_mb(),
    }


def child_import(path: Path) -> dict:
    import django

    django.setup()
    from customers.imports.service import customer_import

    started = time.perf_counter()
    result = customer_import(file=path, source="command")
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rows": result.rows_total,
        "added": result.added,
        "updated": result.updated,
        "rejected": result.rejected,
        "job": result.job.pk,
        "peak_rss_mb": peak_rss_mb(),
    }


def run_child(kind: str, path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(path)], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def cleanup() -> None:
    import django

    django.setup()
    from django.db import connection

    from customers.models import Customer, CustomerAttribute, ImportJob

    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {Customer._meta.db_table} WHERE external_id LIKE %s", [f"{ID_PREFIX}%"])
    CustomerAttribute.objects.filter(key__in=["bench_region", "bench_visits"]).delete()
    ImportJob.objects.filter(file_name="bench_customers.csv").delete()
    with connection.cursor() as cursor:  # leave no dead rows behind to slow the next measurement
        cursor.execute(f"VACUUM ANALYZE {Customer._meta.db_table}")


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        kind, path = sys.argv[2], Path(sys.argv[3])
        if kind == "import":
            result = child_import(path)
        elif kind == "floor":
            result = child_floor(path)
        else:
            result = child_baseline(path, indexed=kind == "baseline-indexed")
        print(json.dumps(result))
        return

    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("bench_import needs PostgreSQL: set DATABASE_URL=postgres://user@host:port/db")
    rows = int(os.environ.get("BENCH_ROWS", "1000000"))
    with tempfile.TemporaryDirectory(prefix="segmenta-bench-") as folder:
        path = Path(folder) / "bench_customers.csv"
        started = time.perf_counter()
        generate(path, rows)
        size_mb = path.stat().st_size / 1e6
        print(f"generated {rows:,} rows ({size_mb:.1f} MB) in {time.perf_counter() - started:.1f} s")
        cleanup()
        try:
            baseline = run_child("baseline", path)
            print(
                f"plain COPY:      {baseline['seconds']:7.2f} s  {rows / baseline['seconds']:>10,.0f} rows/s  "
                f"peak {baseline['peak_rss_mb']:.0f} MB"
            )
            indexed = run_child("baseline-indexed", path)
            print(
                f"COPY into a clone of the customer table (same indexes): {indexed['seconds']:7.2f} s  "
                f"{rows / indexed['seconds']:>10,.0f} rows/s"
            )
            floor = run_child("floor", path)
            print(
                f"COPY into the customer schema, then build its indexes: {floor['seconds']:7.2f} s "
                f"(COPY {floor['copy_seconds']:.2f} s + indexes {floor['index_seconds']:.2f} s)"
            )
            first = run_child("import", path)
            print(
                f"import (insert): {first['seconds']:7.2f} s  {rows / first['seconds']:>10,.0f} rows/s  "
                f"peak {first['peak_rss_mb']:.0f} MB  ({first['added']:,} added)"
            )
            again = run_child("import", path)
            print(
                f"import (update): {again['seconds']:7.2f} s  {rows / again['seconds']:>10,.0f} rows/s  "
                f"peak {again['peak_rss_mb']:.0f} MB  ({again['updated']:,} updated)"
            )
            # The machine may be busy: measure the baseline again and compare with the mean.
            second = run_child("baseline", path)
            print(f"plain COPY again: {second['seconds']:6.2f} s")
            first_baseline = baseline["seconds"]
            baseline = {**baseline, "seconds": (baseline["seconds"] + second["seconds"]) / 2}
        finally:
            cleanup()
    print(f"plain COPY, mean of two runs: {baseline['seconds']:.2f} s")
    ratio = first["seconds"] / baseline["seconds"]
    ratio_update = again["seconds"] / baseline["seconds"]
    peak = max(first["peak_rss_mb"], again["peak_rss_mb"])
    print(
        f"ratio import / plain COPY: {ratio:.2f}x (update: {ratio_update:.2f}x), goal <= {GOAL_RATIO}x: "
        f"{'met' if ratio <= GOAL_RATIO else 'NOT met'}"
    )
    print(f"ratio import / COPY into the indexed clone: {first['seconds'] / indexed['seconds']:.2f}x")
    print(
        f"ratio import / (COPY into the schema + index build): {first['seconds'] / floor['seconds']:.2f}x; "
        f"that floor alone is {floor['seconds'] / baseline['seconds']:.2f}x the plain COPY"
    )
    print(
        f"peak memory of the import: {peak:.0f} MB, goal < {GOAL_PEAK_MB} MB: "
        f"{'met' if peak < GOAL_PEAK_MB else 'NOT met'}"
    )
    result = {
        "bench": "import",
        "rows": rows,
        "file_mb": round(size_mb, 1),
        "baseline_copy_seconds": round(baseline["seconds"], 3),
        "baseline_copy_runs_seconds": [round(first_baseline, 3), round(second["seconds"], 3)],
        "baseline_copy_rows_per_s": round(rows / baseline["seconds"]),
        "baseline_peak_rss_mb": round(baseline["peak_rss_mb"], 1),
        "indexed_copy_seconds": round(indexed["seconds"], 3),
        "ratio_import_vs_indexed_copy": round(first["seconds"] / indexed["seconds"], 2),
        "floor_seconds": round(floor["seconds"], 3),
        "floor_copy_seconds": round(floor["copy_seconds"], 3),
        "floor_index_seconds": round(floor["index_seconds"], 3),
        "ratio_floor_vs_copy": round(floor["seconds"] / baseline["seconds"], 2),
        "ratio_import_vs_floor": round(first["seconds"] / floor["seconds"], 2),
        "import_seconds": round(first["seconds"], 3),
        "import_rows_per_s": round(rows / first["seconds"]),
        "import_peak_rss_mb": round(first["peak_rss_mb"], 1),
        "reimport_seconds": round(again["seconds"], 3),
        "reimport_rows_per_s": round(rows / again["seconds"]),
        "reimport_peak_rss_mb": round(again["peak_rss_mb"], 1),
        "ratio_import_vs_copy": round(ratio, 2),
        "ratio_reimport_vs_copy": round(ratio_update, 2),
        "goal_ratio": GOAL_RATIO,
        "goal_peak_rss_mb": GOAL_PEAK_MB,
        "goals_met": ratio <= GOAL_RATIO and peak < GOAL_PEAK_MB,
    }
    print("BENCH_RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
