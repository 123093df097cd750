"""Benchmark: choosing k automatically at scale against the obvious loop.

Run:  BENCH_ROWS=1000000 python bench/bench_kselect.py
Pure engine benchmark (no database; DATABASE_URL is ignored). It generates BENCH_ROWS customers with
8 numeric attributes in planted groups (fixed seed, unequal sizes) and measures, each in its own
process so that its peak memory (ru_maxrss) is its own:

* baseline: min-max scaling, then KMeans with n_init=10 on *all* rows for every k in 2..10, plus the
  silhouette on a fixed-seed 10,000-row sample; the baseline's k is the best silhouette, its inertia
  the n_init=10 fit at that k;
* engine: `segmentation.ml.segment()` end to end (validation, encoding, scaling, the five criteria
  per k on a fixed-seed subsample, the vote, the final fit on all rows, profiles).

* fixed k (issue 10): `segment()` with k = the planted k against one scikit-learn
  `KMeans(n_init=10)` fit on the same min-max scaled matrix (each in its own process).

Goals (issue 3): engine at least 4x faster than the baseline (wall time; CPU time is reported too, as
the steadier measure on a shared machine), the same k, final inertia within 1%. Issue 10: the fixed-k
run within 1.5x of the single KMeans(n_init=10) fit, inertia within 0.5 %.
The last line is `BENCH_RESULT {json}`.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DIMS = 8
PLANTED_SIZES = (0.30, 0.22, 0.18, 0.12, 0.10, 0.08)  # shares of the rows, 6 planted groups
SEED = 20261127
K_RANGE = range(2, 11)
GOAL_SPEEDUP = 4.0
GOAL_INERTIA_REL = 0.01
GOAL_FIXED_RATIO = 1.5
GOAL_FIXED_INERTIA_REL = 0.005


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def cpu_seconds() -> float:
    """User + system CPU of this process: a steadier measure than wall time on a shared machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def planted_frame(rows: int):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(SEED)
    centers = rng.uniform(0, 100, size=(len(PLANTED_SIZES), DIMS))
    counts = np.floor(np.asarray(PLANTED_SIZES) * rows).astype(int)
    counts[0] += rows - counts.sum()
    truth = np.repeat(np.arange(len(counts)), counts)
    x = centers[truth] + rng.normal(0, 4.0, size=(rows, DIMS))
    order = rng.permutation(rows)
    df = pd.DataFrame(x[order], columns=[f"attr_{j}" for j in range(DIMS)])
    df.index = pd.RangeIndex(1, rows + 1, name="id")
    return df, truth[order]


def run_engine(rows: int) -> dict:
    from segmentation.ml import SegmentationConfig, segment

    df, _ = planted_frame(rows)
    started, cpu = time.perf_counter(), cpu_seconds()
    result = segment(df, SegmentationConfig(features=tuple(df.columns)))
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    assert result.ok, result.reason
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "k": result.chosen_k,
        "inertia": result.quality["inertia"],
        "reason": result.reason,
        "timings": result.timings,
        "sizes": [s.size for s in result.segments],
        "peak_rss_mb": peak_rss_mb(),
    }


def run_fixed(rows: int) -> dict:
    from segmentation.ml import SegmentationConfig, segment

    df, _ = planted_frame(rows)
    started, cpu = time.perf_counter(), cpu_seconds()
    result = segment(df, SegmentationConfig(features=tuple(df.columns), k=len(PLANTED_SIZES)))
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    assert result.ok, result.reason
    return {"seconds": seconds, "cpu_seconds": cpu, "inertia": result.quality["inertia"], "timings": result.timings}


def run_kmeans10(rows: int) -> dict:
    from sklearn.cluster import KMeans

    df, _ = planted_frame(rows)
    started, cpu = time.perf_counter(), cpu_seconds()
    x = df.to_numpy(dtype=float)
    lo, hi = x.min(axis=0), x.max(axis=0)
    km = KMeans(n_clusters=len(PLANTED_SIZES), n_init=10, random_state=42).fit((x - lo) / (hi - lo))
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    return {"seconds": seconds, "cpu_seconds": cpu, "inertia": float(km.inertia_)}


PHASES = {"engine": run_engine, "fixed": run_fixed, "kmeans10": run_kmeans10}


def run_baseline(rows: int) -> dict:
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    df, _ = planted_frame(rows)
    started, cpu = time.perf_counter(), cpu_seconds()
    x = df.to_numpy(dtype=float)
    lo, hi = x.min(axis=0), x.max(axis=0)
    x = (x - lo) / (hi - lo)
    per_k = {}
    for k in K_RANGE:
        km = KMeans(n_clusters=k, n_init=10, random_state=42).fit(x)
        sil = silhouette_score(x, km.labels_, sample_size=min(10_000, len(x)), random_state=42)
        per_k[k] = {"inertia": float(km.inertia_), "silhouette": float(sil)}
        print(f"  baseline k={k}: inertia {km.inertia_:.2f}, silhouette {sil:.4f}", file=sys.stderr, flush=True)
    best = max(per_k, key=lambda k: (per_k[k]["silhouette"], -k))
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "k": int(best),
        "inertia": per_k[best]["inertia"],
        "per_k": {str(k): v for k, v in per_k.items()},
        "peak_rss_mb": peak_rss_mb(),
        "rows": int(np.int64(len(x))),
    }


def in_subprocess(phase: str, rows: int) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--phase", phase],
        env={**os.environ, "BENCH_ROWS": str(rows)},
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"{phase} failed with exit {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    rows = int(os.environ.get("BENCH_ROWS", "1000000"))
    if len(sys.argv) == 3 and sys.argv[1] == "--phase":
        out = PHASES.get(sys.argv[2], run_baseline)(rows)
        print(json.dumps(out))
        return
    print(f"Choosing k on {rows:,} customers x {DIMS} attributes, {len(PLANTED_SIZES)} planted groups")
    engine = in_subprocess("engine", rows)
    print(
        f"engine:   {engine['seconds']:8.1f} s  k = {engine['k']}  inertia {engine['inertia']:.3f}  "
        f"peak {engine['peak_rss_mb']:.0f} MB  stages {engine['timings']}"
    )
    print(f"          {engine['reason']}")
    baseline = in_subprocess("baseline", rows)
    print(
        f"baseline: {baseline['seconds']:8.1f} s  k = {baseline['k']}  inertia {baseline['inertia']:.3f}  "
        f"peak {baseline['peak_rss_mb']:.0f} MB"
    )
    speedup = baseline["seconds"] / engine["seconds"]
    cpu_speedup = baseline["cpu_seconds"] / engine["cpu_seconds"]
    inertia_rel = (engine["inertia"] - baseline["inertia"]) / baseline["inertia"]
    same_k = engine["k"] == baseline["k"]
    ok = speedup >= GOAL_SPEEDUP and same_k and abs(inertia_rel) <= GOAL_INERTIA_REL
    print(f"CPU: engine {engine['cpu_seconds']:.1f} s, baseline {baseline['cpu_seconds']:.1f} s ({cpu_speedup:.1f}x)")
    print(
        f"speed-up {speedup:.1f}x (goal >= {GOAL_SPEEDUP}x), same k: {same_k}, "
        f"inertia difference {inertia_rel:+.4%} (goal within 1%) -> {'OK' if ok else 'GOAL MISSED'}"
    )
    result = {
        "rows": rows,
        "dims": DIMS,
        "planted_k": len(PLANTED_SIZES),
        "engine_seconds": round(engine["seconds"], 3),
        "baseline_seconds": round(baseline["seconds"], 3),
        "speedup": round(speedup, 2),
        "engine_cpu_seconds": round(engine["cpu_seconds"], 3),
        "baseline_cpu_seconds": round(baseline["cpu_seconds"], 3),
        "cpu_speedup": round(cpu_speedup, 2),
        "engine_k": engine["k"],
        "baseline_k": baseline["k"],
        "same_k": same_k,
        "engine_inertia": engine["inertia"],
        "baseline_inertia": baseline["inertia"],
        "inertia_rel_diff": inertia_rel,
        "engine_peak_rss_mb": round(engine["peak_rss_mb"], 1),
        "baseline_peak_rss_mb": round(baseline["peak_rss_mb"], 1),
        "engine_timings": engine["timings"],
        "goal_speedup": GOAL_SPEEDUP,
        "goals_met": ok,
    }
    fixed = in_subprocess("fixed", rows)
    kmeans10 = in_subprocess("kmeans10", rows)
    fixed_ratio = fixed["seconds"] / kmeans10["seconds"]
    fixed_rel = (fixed["inertia"] - kmeans10["inertia"]) / kmeans10["inertia"]
    fixed_ok = fixed_ratio <= GOAL_FIXED_RATIO and fixed_rel <= GOAL_FIXED_INERTIA_REL
    print(
        f"fixed k = {len(PLANTED_SIZES)}: engine {fixed['seconds']:.1f} s, one KMeans(n_init=10) "
        f"{kmeans10['seconds']:.1f} s ({fixed_ratio:.2f}x, goal <= {GOAL_FIXED_RATIO}x), inertia difference "
        f"{fixed_rel:+.4%} (goal <= +0.5%) -> {'OK' if fixed_ok else 'GOAL MISSED'}  stages {fixed['timings']}"
    )
    result.update(
        {
            "fixed_seconds": round(fixed["seconds"], 3),
            "kmeans10_seconds": round(kmeans10["seconds"], 3),
            "fixed_ratio": round(fixed_ratio, 2),
            "fixed_inertia_rel_diff": fixed_rel,
            "goal_fixed_ratio": GOAL_FIXED_RATIO,
            "fixed_goals_met": fixed_ok,
        }
    )
    result["goals_met"] = ok and fixed_ok
    print("BENCH_RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
