"""Benchmark: a segment run end to end from PostgreSQL vs the same engine call on an in-memory DataFrame.

    DATABASE_URL=postgres://.../segmenta_bench BENCH_ROWS=1000000 python bench/bench_run.py

1. Insert BENCH_ROWS synthetic customers (five planted groups) with COPY, VACUUM ANALYZE (not timed).
2. End to end, in a fresh child process (its peak RSS is the worker's): `run_execute` = load from
   the database, choose k over 2..10, fit, write memberships (COPY), activate.
3. Baseline, in this process: `ml.segment` on the same data already in memory.
Memberships on PostgreSQL: each run's rows are its own partition, copied without indexes, indexed once
and attached in one transaction (`segmentation.services.memberships.memberships_partition_write`).
Ratio = end to end / baseline (goal <= 1.5); peak RSS of the end-to-end process (goal < 2 GB).
The last line is `BENCH_RESULT {json}`.
"""

from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

FEATURES = ("age", "annual_income", "spending_score")
GROUPS = [  # (age, income k$, spending score, share)
    (25, 30, 80, 0.25),
    (45, 90, 20, 0.20),
    (35, 60, 50, 0.30),
    (60, 110, 85, 0.10),
    (30, 20, 15, 0.15),
]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def synthetic(rows: int, seed: int = 7):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    shares = np.array([g[3] for g in GROUPS])
    group = rng.choice(len(GROUPS), size=rows, p=shares / shares.sum())
    centers = np.array([g[:3] for g in GROUPS], dtype=float)
    age = np.clip(np.rint(centers[group, 0] + rng.normal(0, 4, rows)), 18, 90)
    income = np.clip(np.round(centers[group, 1] + rng.normal(0, 6, rows), 1), 0, None)
    spending = np.clip(np.rint(centers[group, 2] + rng.normal(0, 6, rows)), 1, 100)
    gender = np.where(rng.random(rows) < 0.55, "female", "male")
    return pd.DataFrame(
        {
            "external_id": [f"B{i:08d}" for i in range(rows)],
            "gender": gender,
            "age": age.astype(int),
            "annual_income": income,
            "spending_score": spending,
        }
    )


def insert_customers(rows: int) -> float:
    import pandas as pd
    from django.db import connection

    from customers.models import Customer

    df = synthetic(rows)
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            f'TRUNCATE "{Customer._meta.db_table}", segmentation_segmentation, segmentation_segmentrun, '
            "segmentation_segment, segmentation_membership RESTART IDENTITY CASCADE"
        )
        now = pd.Timestamp.now(tz="UTC").isoformat()
        with cursor.cursor.copy(
            f'COPY "{Customer._meta.db_table}" (external_id, gender, age, annual_income, spending_score, '
            "attributes, created_at, updated_at) FROM STDIN"
        ) as copy:
            for start in range(0, rows, 200_000):
                part = df.iloc[start : start + 200_000].assign(attributes="{}", created_at=now, updated_at=now)
                buf = io.StringIO()
                part.to_csv(buf, sep="\t", header=False, index=False)
                copy.write(buf.getvalue())
    # Steady state, as a table imported long before a run would be: vacuumed (hint bits set, visibility
    # map built) and analysed, so neither the load pays for the first-scan hint-bit writes nor does an
    # insert-triggered autovacuum compete with the timed run for the CPU.
    connection.ensure_connection()
    autocommit = connection.get_autocommit()
    connection.set_autocommit(True)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f'VACUUM (ANALYZE) "{Customer._meta.db_table}"')
    finally:
        connection.set_autocommit(autocommit)
    return time.perf_counter() - t0


def config():
    from segmentation.ml.types import SegmentationConfig

    return SegmentationConfig(features=FEATURES, k_min=2, k_max=10, random_state=42)


def end_to_end() -> dict:
    """Child process: one full run through the service, with time per phase."""
    import django

    django.setup()
    from segmentation import loading, ml
    from segmentation.models import Membership, RunStatus
    from segmentation.services import config as run_config
    from segmentation.services import memberships, runs

    phases: dict[str, float] = {}

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                phases[name] = phases.get(name, 0.0) + time.perf_counter() - t0

        return wrapper

    loading.customers_frame = timed("load", loading.customers_frame)
    ml.segment = timed("engine", ml.segment)
    runs._segments_write = timed("write_segments", runs._segments_write)
    memberships.memberships_write = timed("write_memberships", memberships.memberships_write)
    runs.run_activate = timed("activate", runs.run_activate)

    seg = run_config.segmentation_get_or_create_default()
    overrides = {k: v for k, v in config().to_dict().items() if k in run_config.OVERRIDABLE}
    run = runs.run_request(segmentation=seg, requested_by=None, trigger="command", overrides=overrides, enqueue=False)
    t0 = time.perf_counter()
    outcome = runs.run_execute(run_id=run.pk)
    total = time.perf_counter() - t0
    run.refresh_from_db()
    if run.status != RunStatus.SUCCEEDED:
        raise SystemExit(f"run failed: {run.error}")
    return {
        "outcome": outcome,
        "seconds": total,
        "phases": phases,
        "k": run.chosen_k,
        "sizes": sorted(run.segments.values_list("size", flat=True), reverse=True),
        "memberships": Membership.objects.filter(run=run).count(),
        "peak_rss_mb": peak_rss_mb(),
        "engine_timings": (run.evidence or {}).get("timings", {}),
    }


def baseline(rows: int) -> dict:
    """This process: the same engine call on the same data, already in memory (index = customer ids)."""
    from segmentation import ml

    df = synthetic(rows).drop(columns=["external_id"])
    df.index = df.index + 1  # the ids COPY gave them (RESTART IDENTITY)
    df["age"] = df["age"].astype("float64")
    rss_before = peak_rss_mb()
    t0 = time.perf_counter()
    result = ml.segment(df[list(FEATURES)], config())
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "k": result.chosen_k,
        "sizes": sorted((s.size for s in result.segments), reverse=True),
        "peak_rss_mb": peak_rss_mb(),
        "rss_before_mb": rss_before,
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--end-to-end":
        print(json.dumps(end_to_end()))
        return
    rows = int(os.environ.get("BENCH_ROWS", "1000000"))
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("bench_run needs DATABASE_URL pointing at a migrated PostgreSQL database")
    print(f"bench_run: {rows:,} synthetic customers, features {', '.join(FEATURES)}, k 2..10")
    insert_s = insert_customers(rows)
    print(f"  inserted with COPY in {insert_s:.1f} s (not timed)")
    connection.close()

    child = subprocess.run([sys.executable, __file__, "--end-to-end"], capture_output=True, text=True, env=os.environ)
    if child.returncode != 0:
        print(child.stdout[-3000:], child.stderr[-3000:])
        raise SystemExit("end-to-end run failed")
    e2e = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"  end to end (run_execute): {e2e['seconds']:.1f} s, k = {e2e['k']}, peak RSS {e2e['peak_rss_mb']:.0f} MB")
    for name, sec in e2e["phases"].items():
        print(f"    {name:<18} {sec:7.2f} s")
    other = e2e["seconds"] - sum(e2e["phases"].values())
    print(f"    {'other':<18} {other:7.2f} s  (claim, progress, assign-new, prune)")

    base = baseline(rows)
    print(
        f"  baseline ml.segment in memory: {base['seconds']:.1f} s, k = {base['k']}, "
        f"peak RSS {base['peak_rss_mb']:.0f} MB"
    )
    ratio = e2e["seconds"] / base["seconds"]
    same = e2e["k"] == base["k"] and e2e["sizes"] == base["sizes"]
    print(f"  ratio end to end / in memory: {ratio:.2f} (goal <= 1.5); same k and sizes: {same}")
    print(f"  end-to-end peak RSS {e2e['peak_rss_mb']:.0f} MB (goal < 2048 MB)")
    print(f"  database overhead (everything but the engine): {e2e['seconds'] - e2e['phases'].get('engine', 0.0):.1f} s")
    result = {
        "rows": rows,
        "end_to_end_s": round(e2e["seconds"], 3),
        "baseline_in_memory_s": round(base["seconds"], 3),
        "ratio": round(ratio, 3),
        "ratio_goal": 1.5,
        "ratio_ok": ratio <= 1.5,
        "overhead_s": round(e2e["seconds"] - e2e["phases"].get("engine", 0.0), 3),
        "phases_s": {k: round(v, 3) for k, v in e2e["phases"].items()},
        "k": e2e["k"],
        "same_result": same,
        "memberships": e2e["memberships"],
        "peak_rss_mb_end_to_end": round(e2e["peak_rss_mb"], 1),
        "peak_rss_mb_baseline": round(base["peak_rss_mb"], 1),
        "peak_rss_ok": e2e["peak_rss_mb"] < 2048,
        "insert_s": round(insert_s, 2),
    }
    print("BENCH_RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
