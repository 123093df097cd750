"""Everything at once: fit the CLV models on a calibration period, check them on the holdout, score customers.

    report = clv_report(transactions, calibration_end="1997-09-30", holdout_end="1998-06-30")
    report.as_dict()   # bgnbd, gamma_gamma, pareto_nbd, holdout, status
    scores = clv_scores(summary, report.bgnbd, report.gamma_gamma, horizon=52)

Pareto/NBD has no cheap gradient (its likelihood needs the hypergeometric function): with
``pareto="auto"`` it is fitted only up to ``PARETO_MAX_ROWS`` distinct (x, t_x, T) rows (CDNOW: ~1,000;
200,000 synthetic customers, ~48,000 rows, take ~20 s) and otherwise skipped, saying so.

The overall ``status`` is the purchase model's (BG/NBD): ``ok``, ``boundary`` (predictions from the
no-dropout NBD fallback) or ``failed`` (also the NBD fallback; the reason says why). Without a holdout
end, the models are fitted on everything up to the calibration end and ``holdout`` is None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from segmentation.ml.clv.bgnbd import BGNBD
from segmentation.ml.clv.fitting import json_number
from segmentation.ml.clv.gamma_gamma import MONTH_WEEKS, GammaGamma
from segmentation.ml.clv.pareto_nbd import ParetoNBD
from segmentation.ml.clv.summary import clv_summary
from segmentation.ml.clv.validation import HoldoutCheck, holdout_check

PARETO_MAX_ROWS = 20_000


@dataclass
class CLVReport:
    summary: pd.DataFrame
    bgnbd: BGNBD
    gamma_gamma: GammaGamma
    pareto_nbd: ParetoNBD | None
    holdout: HoldoutCheck | None
    pareto_skipped: str = ""

    @property
    def status(self) -> str:
        return self.bgnbd.result_.status

    def as_dict(self) -> dict[str, Any]:
        bg = self.bgnbd.result_
        out: dict[str, Any] = {
            "status": self.status,
            "reason": bg.reason,
            "n_customers": bg.n_customers,
            "bgnbd": {
                **{k: json_number(v, 6) for k, v in bg.params.items()},
                "log_likelihood": json_number(bg.log_likelihood, 4),
            },
            "gamma_gamma": {
                **{k: json_number(v, 6) for k, v in self.gamma_gamma.result_.params.items()},
                "status": self.gamma_gamma.result_.status,
                "n_customers": self.gamma_gamma.result_.n_customers,
            },
            "holdout": self.holdout.as_dict() if self.holdout else None,
        }
        if "dropout_test" in bg.extra:
            out["dropout_test"] = bg.extra["dropout_test"]
        if bg.fallback:
            out["bgnbd"]["fallback"] = bg.fallback
            out["nbd"] = self.bgnbd.fallback_.result_.params
        if self.pareto_nbd is not None:
            pn = self.pareto_nbd.result_
            out["pareto_nbd"] = {
                **{k: json_number(v, 6) for k, v in pn.params.items()},
                "log_likelihood": json_number(pn.log_likelihood, 4),
                "status": pn.status,
            }
        elif self.pareto_skipped:
            out["pareto_nbd_skipped"] = self.pareto_skipped
        return out


def clv_report(
    transactions: pd.DataFrame,
    *,
    calibration_end,
    holdout_end=None,
    pareto: bool | str = "auto",
    **columns: str,
) -> CLVReport:
    """Summarise, fit BG/NBD, Gamma-Gamma (and Pareto/NBD), check the holdout; `columns` go to `clv_summary`."""
    summary = clv_summary(transactions, calibration_end=calibration_end, observation_end=holdout_end, **columns)
    x, t_x, T = (summary[c].to_numpy(dtype=float) for c in ("x", "t_x", "T"))
    bgnbd = BGNBD().fit(x, t_x, T)
    gamma_gamma = GammaGamma().fit(x, summary["monetary_value"].to_numpy(dtype=float))
    pareto_nbd, skipped = None, ""
    if pareto == "auto" and bgnbd.result_.n_rows > PARETO_MAX_ROWS:
        skipped = f"{bgnbd.result_.n_rows:,} distinct (x, t_x, T) rows, more than {PARETO_MAX_ROWS:,}"
    elif pareto:
        pareto_nbd = ParetoNBD().fit(x, t_x, T)
    check = None
    if holdout_end is not None and summary.attrs.get("holdout_length", 0) > 0:
        check = holdout_check(summary, bgnbd)
    return CLVReport(summary, bgnbd, gamma_gamma, pareto_nbd, check, skipped)


def clv_scores(
    summary: pd.DataFrame,
    purchases: BGNBD | ParetoNBD,
    spend: GammaGamma,
    *,
    horizon: float = 52.0,
    period: float = MONTH_WEEKS,
    discount_rate: float = 0.01,
) -> pd.DataFrame:
    """Per customer: p_alive, expected_purchases (next `horizon` weeks), expected_spend, clv."""
    x, t_x, T = (summary[c].to_numpy(dtype=float) for c in ("x", "t_x", "T"))
    m = summary["monetary_value"].to_numpy(dtype=float)
    return pd.DataFrame(
        {
            "p_alive": purchases.probability_alive(x, t_x, T),
            "expected_purchases": purchases.expected_purchases(horizon, x, t_x, T),
            "expected_spend": spend.expected_average_spend(x, m),
            "clv": spend.customer_lifetime_value(
                purchases, x, t_x, T, m, horizon=horizon, period=period, discount_rate=discount_rate
            ),
        },
        index=summary.index,
    )
