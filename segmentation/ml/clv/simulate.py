"""Synthetic customers drawn from the BG/NBD and Gamma-Gamma processes, for tests and benchmarks.

Each customer is acquired at time 0 with age T, buys at Poisson rate lambda ~ Gamma(r, alpha) and, after
each repeat purchase, drops out with probability p ~ Beta(a, b) (``a=None``: nobody drops out, the NBD).
Times are rounded down to whole days (in weeks), as a database summary gives them. Spend per purchase is
Gamma(p_spend, nu) with nu ~ Gamma(q, gamma); ``monetary_value`` is the mean of the x repeat purchases.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def simulate_customers(
    n: int,
    *,
    r: float = 0.25,
    alpha: float = 4.0,
    a: float | None = 0.8,
    b: float = 2.5,
    max_age_days: int = 273,
    spend: tuple[float, float, float] = (6.0, 3.8, 15.0),
    random_state: int = 0,
) -> pd.DataFrame:
    """A summary frame (x, t_x, T, monetary_value) of `n` customers with ages uniform in 1..max_age_days days."""
    rng = np.random.default_rng(random_state)
    T_days = rng.integers(1, max_age_days + 1, n)
    T = T_days / 7.0
    lam = rng.gamma(r, 1.0 / alpha, n)
    drop = rng.beta(a, b, n) if a is not None else np.zeros(n)
    x = np.zeros(n, dtype=np.int64)
    last = np.zeros(n)
    active = np.flatnonzero(lam > 0)
    clock = np.zeros(n)
    while active.size:
        clock[active] += rng.exponential(1.0, active.size) / lam[active]
        bought = clock[active] <= T[active]
        active = active[bought]
        x[active] += 1
        last[active] = clock[active]
        survives = rng.random(active.size) >= drop[active]
        active = active[survives]
    t_x = np.minimum(np.floor(last * 7.0) / 7.0, T)
    p_s, q_s, g_s = spend
    nu = rng.gamma(q_s, 1.0 / g_s, n)
    shape = np.maximum(p_s * x, 1e-12)
    monetary = np.where(x > 0, rng.gamma(shape, 1.0 / (np.maximum(x, 1) * nu)), 0.0)
    return pd.DataFrame({"x": x, "t_x": t_x, "T": T, "monetary_value": monetary})
