"""Benchmark: BG/NBD + Gamma-Gamma fits on BENCH_ROWS (default 1,000,000) synthetic customers.

Run:  BENCH_ROWS=1000000 python bench/bench_clv.py
Pure engine benchmark (no database; DATABASE_URL is ignored). Customers are drawn from the BG/NBD and
Gamma-Gamma processes (`segmentation.ml.clv.simulate`, fixed seed, ages up to 39 weeks in whole days)
with known parameters, then measured in this process:

* baseline: the plain pandas groupby that turns those customers' transactions (x + 1 purchase days
  each) into first / last day, distinct days and spend per customer, i.e. the cheapest summary;
* fit: `BGNBD().fit` + `GammaGamma().fit` on the summary (identical rows fitted once, weighted);
* score: P(alive), expected purchases in 52 weeks and a 12-month discounted CLV for every customer.

Goal (issue 12): fit under 10 s at 1,000,000 customers; the fit/baseline ratio and the recovered
parameters against the planted ones are reported too. The last line is `BENCH_RESULT {json}`.
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

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from segmentation.ml.clv import BGNBD, GammaGamma  # noqa: E402
from segmentation.ml.clv.simulate import simulate_customers  # noqa: E402

GOAL_SECONDS = 10.0
PLANTED = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5, "p": 6.0, "q": 3.8, "gamma": 15.0}
SEED = 20261130


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def transactions_for(summary: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """x + 1 purchase days per customer between its first and last day (the baseline's input)."""
    x = summary["x"].to_numpy()
    first = 273 - np.round(summary["T"].to_numpy() * 7).astype(np.int64)
    span = np.round(summary["t_x"].to_numpy() * 7).astype(np.int64)
    customer = np.repeat(np.arange(len(summary)), x + 1)
    offset = (rng.random(len(customer)) * np.repeat(span + 1, x + 1)).astype(np.int64)
    return pd.DataFrame(
        {
            "customer_id": customer,
            "day": np.repeat(first, x + 1) + offset,
            "amount": rng.gamma(2.0, 10.0, len(customer)),
        }
    )


def main() -> dict:
    n = int(os.environ.get("BENCH_ROWS", "1000000"))
    rng = np.random.default_rng(SEED)
    started = time.perf_counter()
    planted = PLANTED
    summary = simulate_customers(
        n,
        r=planted["r"],
        alpha=planted["alpha"],
        a=planted["a"],
        b=planted["b"],
        spend=(planted["p"], planted["q"], planted["gamma"]),
        random_state=SEED,
    )
    tx = transactions_for(summary, rng)
    print(f"{n:,} customers, {len(tx):,} transactions simulated in {time.perf_counter() - started:.1f} s")

    t0 = time.perf_counter()
    baseline = tx.groupby("customer_id").agg(
        first=("day", "min"), last=("day", "max"), days=("day", "nunique"), spend=("amount", "sum")
    )
    baseline_s = time.perf_counter() - t0
    assert len(baseline) == n

    x, t_x, T = (summary[c].to_numpy(dtype=float) for c in ("x", "t_x", "T"))
    m = summary["monetary_value"].to_numpy(dtype=float)
    t0 = time.perf_counter()
    bgnbd = BGNBD().fit(x, t_x, T)
    bg_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    gg = GammaGamma().fit(x, m)
    gg_s = time.perf_counter() - t0
    fit_s = bg_s + gg_s

    t0 = time.perf_counter()
    p_alive = bgnbd.probability_alive(x, t_x, T)
    expected = bgnbd.expected_purchases(52.0, x, t_x, T)
    clv = gg.customer_lifetime_value(bgnbd, x, t_x, T, m, horizon=52.0, discount_rate=0.01)
    score_s = time.perf_counter() - t0

    fitted = {**bgnbd.result_.params, **gg.result_.params}
    recovery = {k: round(fitted[k] / v - 1, 4) for k, v in planted.items()}
    result = {
        "customers": n,
        "transactions": len(tx),
        "distinct_rows_bgnbd": bgnbd.result_.n_rows,
        "baseline_groupby_s": round(baseline_s, 3),
        "bgnbd_fit_s": round(bg_s, 3),
        "gamma_gamma_fit_s": round(gg_s, 3),
        "fit_s": round(fit_s, 3),
        "fit_vs_baseline": round(fit_s / baseline_s, 2),
        "score_all_s": round(score_s, 3),
        "status": {"bgnbd": bgnbd.result_.status, "gamma_gamma": gg.result_.status},
        "params": {k: round(v, 4) for k, v in fitted.items()},
        "relative_error_vs_planted": recovery,
        "mean_p_alive": round(float(p_alive.mean()), 4),
        "mean_expected_purchases_52w": round(float(expected.mean()), 4),
        "mean_clv_12m": round(float(clv.mean()), 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "goal_fit_s": GOAL_SECONDS,
        "goal_met": fit_s < GOAL_SECONDS and bgnbd.result_.ok and gg.result_.ok,
    }
    print(f"baseline pandas groupby summary:   {baseline_s:6.2f} s")
    print(f"BG/NBD fit ({bgnbd.result_.n_rows:,} distinct rows): {bg_s:6.2f} s  {bgnbd.result_.params}")
    print(f"Gamma-Gamma fit:                   {gg_s:6.2f} s  {gg.result_.params}")
    print(f"fit total {fit_s:.2f} s (goal < {GOAL_SECONDS:.0f} s), {fit_s / baseline_s:.2f}x the groupby")
    print(f"scoring all customers:             {score_s:6.2f} s; peak RSS {peak_rss_mb():.0f} MB")
    print("BENCH_RESULT " + json.dumps(result))
    return result


if __name__ == "__main__":
    sys.exit(0 if main()["goal_met"] else 1)
