"""The CLV report from transactions: statuses, the JSON shape, Pareto/NBD skipped at scale."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from segmentation.ml.clv import GammaGamma, clv_report, report


def _transactions(n: int, *, dropout: bool, seed: int) -> pd.DataFrame:
    """Customers acquired over 13 weeks, buying for a year at Poisson rates; with or without dropout."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(2.0, 1 / 6.0, n)
    drop = rng.beta(1.0, 3.0, n) if dropout else np.zeros(n)
    rows = []
    for i in range(n):
        t = rng.integers(0, 91) / 7.0
        rows.append((i, t))
        while True:
            t += rng.exponential(1 / lam[i])
            if t > 52:
                break
            rows.append((i, t))
            if rng.random() < drop[i]:
                break
    tx = pd.DataFrame(rows, columns=["customer_id", "week"])
    tx["date"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.floor(tx["week"] * 7), unit="D")
    tx["amount"] = rng.gamma(4.0, 5.0, len(tx))
    return tx


def test_no_dropout_shop_is_reported_as_boundary_with_the_nbd_fallback():
    tx = _transactions(1500, dropout=False, seed=1)
    out = clv_report(tx, calibration_end="2024-09-30", holdout_end="2024-12-29", pareto=False)
    data = out.as_dict()
    json.dumps(data, allow_nan=False)
    assert data["status"] == "boundary" and "no dropout" in data["reason"]
    assert data["bgnbd"]["fallback"] == "nbd" and set(data["nbd"]) == {"r", "alpha"}
    assert abs(out.holdout.error) < 0.15  # the fallback still predicts the holdout


def test_ordinary_shop_is_ok_and_json_clean():
    tx = _transactions(1500, dropout=True, seed=2)
    out = clv_report(tx, calibration_end="2024-09-30", holdout_end="2024-12-29", pareto=False)
    data = out.as_dict()
    json.dumps(data, allow_nan=False)
    assert data["status"] == "ok"
    assert data["holdout"]["mae"] <= data["holdout"]["mae_naive"]


def test_pareto_is_skipped_beyond_its_row_limit(monkeypatch):
    monkeypatch.setattr(report, "PARETO_MAX_ROWS", 10)
    out = clv_report(_transactions(200, dropout=True, seed=3), calibration_end="2024-09-30", pareto="auto")
    data = out.as_dict()
    assert out.pareto_nbd is None and "more than 10" in data["pareto_nbd_skipped"]
    assert data["holdout"] is None


def test_a_failed_fit_serialises_without_nan():
    fit = GammaGamma().fit([0, 0, 1], [0.0, 0.0, 3.0]).result_
    assert fit.status == "failed"
    assert fit.as_dict()["params"] == {"p": None, "q": None, "gamma": None}
    json.dumps(fit.as_dict(), allow_nan=False)


def test_pareto_can_be_turned_off():
    out = clv_report(_transactions(100, dropout=True, seed=4), calibration_end="2024-09-30", pareto=False)
    assert "pareto_nbd" not in out.as_dict()
