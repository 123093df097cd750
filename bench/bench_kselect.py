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
  `KMeans(n_init=10)` fit on the same min-max scaled matrix (each in its own process);
* large fixed k (issue 10): `segment()` with k = 100 on BENCH_LARGE_K_ROWS (100,000) points of 100
  overlapping planted Gaussian groups in 2 dimensions (centres uniform in a 60 x 60 box, standard
  deviation 1; no scaling, transform or outlier rule, so the matrix is the data) against one
  `KMeans(n_clusters=100, n_init=10)` on it: time, inertia, and how many planted centres each finds (a
  one-to-one nearest-neighbour match, as in segmentation/tests/ml/test_benchmarks_synthetic.py).

BENCH_PARTS (default `auto,fixed,large_k`) selects the parts to run, e.g. `BENCH_PARTS=fixed,large_k` for
the fixed-k measurements alone (the auto-k baseline fits n_init=10 for nine k on all rows: minutes at 1M).

Goals (issue 3): engine at least 4x faster than the baseline (wall time; CPU time is reported too, as
the steadier measure on a shared machine), the same k, final inertia within 1%. Issue 10: the fixed-k
run within 1.5x of the single KMeans(n_init=10) fit, inertia within 0.5 %; the large fixed k a fraction
(at most `GOAL_LARGE_K_RATIO`) of its KMeans(n_init=10), inertia within 0.5 %, no fewer centres found.
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
GOAL_LARGE_K_RATIO = 0.75
LARGE_K = 100


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


def large_k_matrix(rows: int):
    import numpy as np

    rng = np.random.default_rng(SEED)
    centres = rng.uniform(-30, 30, size=(LARGE_K, 2))
    x = centres[rng.integers(0, LARGE_K, size=rows)] + rng.normal(0, 1.0, size=(rows, 2))
    return x, centres


def centres_found(centres, fitted) -> int:
    """Planted centres whose nearest fitted centre has them as its own nearest (a one-to-one match)."""
    import numpy as np
    from sklearn.metrics.pairwise import euclidean_distances

    d = euclidean_distances(centres, fitted)
    nearest_fitted, nearest_true = d.argmin(axis=1), d.argmin(axis=0)
    return int((nearest_true[nearest_fitted] == np.arange(len(centres))).sum())


def run_large_k_engine(rows: int) -> dict:
    import numpy as np
    import pandas as pd

    from segmentation.ml import SegmentationConfig, segment

    x, centres = large_k_matrix(rows)
    df = pd.DataFrame(x, columns=["a", "b"])
    config = SegmentationConfig(features=("a", "b"), k=LARGE_K, scaler="none", transform="none", outliers="keep")
    started, cpu = time.perf_counter(), cpu_seconds()
    result = segment(df, config)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    assert result.ok, result.reason
    fitted = np.asarray(result.model["centroids"])
    inertia = float(((x - fitted[result.labels]) ** 2).sum())
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "inertia": inertia,
        "found": centres_found(centres, fitted),
        "timings": result.timings,
    }


def run_large_k_kmeans10(rows: int) -> dict:
    from sklearn.cluster import KMeans

    x, centres = large_k_matrix(rows)
    started, cpu = time.perf_counter(), cpu_seconds()
    km = KMeans(n_clusters=LARGE_K, n_init=10, random_state=42).fit(x)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "inertia": float(km.inertia_),
        "found": centres_found(centres, km.cluster_centers_),
    }


PHASES = {
    "engine": run_engine,
    "fixed": run_fixed,
    "kmeans10": run_kmeans10,
    "large_k_engine": run_large_k_engine,
    "large_k_kmeans10": run_large_k_kmeans10,
}


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
        phase_rows = int(os.environ.get("BENCH_LARGE_K_ROWS", "100000")) if sys.argv[2].startswith("large_k") else rows
        out = PHASES.get(sys.argv[2], run_baseline)(phase_rows)
        print(json.dumps(out))
        return
    parts = {p.strip() for p in os.environ.get("BENCH_PARTS", "auto,fixed,large_k").split(",") if p.strip()}
    result: dict = {"rows": rows, "dims": DIMS, "planted_k": len(PLANTED_SIZES), "parts": sorted(parts)}
    goals = []
    if "auto" in parts:
        goals.append(auto_k(rows, result))
    if "fixed" in parts:
        goals.append(fixed_k(rows, result))
    if "large_k" in parts:
        goals.append(large_k(int(os.environ.get("BENCH_LARGE_K_ROWS", "100000")), result))
    result["goals_met"] = all(goals)
    print("BENCH_RESULT " + json.dumps(result))


def auto_k(rows: int, result: dict) -> bool:
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
    result.update(
        {
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
            "auto_goals_met": ok,
        }
    )
    return ok


def fixed_k(rows: int, result: dict) -> bool:
    fixed = in_subprocess("fixed", rows)
    kmeans10 = in_subprocess("kmeans10", rows)
    fixed_ratio = fixed["seconds"] / kmeans10["seconds"]
    cpu_ratio = fixed["cpu_seconds"] / kmeans10["cpu_seconds"]
    fixed_rel = (fixed["inertia"] - kmeans10["inertia"]) / kmeans10["inertia"]
    fixed_ok = fixed_ratio <= GOAL_FIXED_RATIO and fixed_rel <= GOAL_FIXED_INERTIA_REL
    print(
        f"fixed k = {len(PLANTED_SIZES)} on {rows:,} x {DIMS}: engine {fixed['seconds']:.1f} s, one KMeans(n_init=10) "
        f"{kmeans10['seconds']:.1f} s ({fixed_ratio:.2f}x, goal <= {GOAL_FIXED_RATIO}x; CPU {cpu_ratio:.2f}x), "
        f"inertia difference {fixed_rel:+.4%} (goal <= +0.5%) -> {'OK' if fixed_ok else 'GOAL MISSED'}  "
        f"stages {fixed['timings']}"
    )
    result.update(
        {
            "fixed_seconds": round(fixed["seconds"], 3),
            "kmeans10_seconds": round(kmeans10["seconds"], 3),
            "fixed_ratio": round(fixed_ratio, 2),
            "fixed_cpu_ratio": round(cpu_ratio, 2),
            "fixed_inertia_rel_diff": fixed_rel,
            "goal_fixed_ratio": GOAL_FIXED_RATIO,
            "fixed_timings": fixed["timings"],
            "fixed_goals_met": fixed_ok,
        }
    )
    return fixed_ok


def large_k(rows: int, result: dict) -> bool:
    engine = in_subprocess("large_k_engine", rows)
    kmeans10 = in_subprocess("large_k_kmeans10", rows)
    ratio = engine["seconds"] / kmeans10["seconds"]
    cpu_ratio = engine["cpu_seconds"] / kmeans10["cpu_seconds"]
    rel = (engine["inertia"] - kmeans10["inertia"]) / kmeans10["inertia"]
    ok = ratio <= GOAL_LARGE_K_RATIO and rel <= GOAL_FIXED_INERTIA_REL and engine["found"] >= kmeans10["found"]
    print(
        f"fixed k = {LARGE_K} on {rows:,} x 2 (overlapping groups): engine {engine['seconds']:.1f} s, one "
        f"KMeans(n_init=10) {kmeans10['seconds']:.1f} s ({ratio:.2f}x, goal <= {GOAL_LARGE_K_RATIO}x; CPU "
        f"{cpu_ratio:.2f}x), inertia difference {rel:+.4%} (goal <= +0.5%), planted centres found "
        f"{engine['found']} against {kmeans10['found']} -> {'OK' if ok else 'GOAL MISSED'}  stages {engine['timings']}"
    )
    result.update(
        {
            "large_k_rows": rows,
            "large_k_seconds": round(engine["seconds"], 3),
            "large_k_kmeans10_seconds": round(kmeans10["seconds"], 3),
            "large_k_ratio": round(ratio, 2),
            "large_k_cpu_ratio": round(cpu_ratio, 2),
            "large_k_inertia_rel_diff": rel,
            "large_k_found": engine["found"],
            "large_k_kmeans10_found": kmeans10["found"],
            "goal_large_k_ratio": GOAL_LARGE_K_RATIO,
            "large_k_goals_met": ok,
        }
    )
    return ok


if __name__ == "__main__":
    main()
