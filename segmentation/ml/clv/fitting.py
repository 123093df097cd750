"""What every CLV model shares: the fit result, input checks, grouping identical rows, the optimiser.

Each model is fitted by maximum likelihood over the logarithms of its (positive) parameters with
L-BFGS-B inside a box (``LOG_BOUND``). A fit whose optimum sits at that box's edge, or whose
parameters say the model has degenerated (the model decides: e.g. BG/NBD without dropout), is
reported with status ``boundary``; one that does not converge or yields a non-finite likelihood with
``failed``; in both cases with a reason, never an exception.

The boundary rule for a model that nests a simpler one in a limit (BG/NBD -> NBD as the dropout
probability a / (a + b) -> 0), `boundary_verdict`, in this order:

1. failed: the optimiser did not converge or the likelihood is not finite;
2. boundary: the extra part of the model is negligible by size (BG/NBD: mean dropout after a purchase
   below ``MIN_DROPOUT``) -- the a -> 0 limit itself;
3. boundary: a parameter lies within ``EDGE`` (log units) of its bound ``LOG_BOUND``: the optimum is
   not interior, so neither the estimate nor its standard error means anything;
4. boundary: the extra part is not supported by the data -- a likelihood-ratio test against the nested
   model fitted on its own: LR = 2 (ll_full - ll_nested). The nested model sits on the boundary of the
   full one's parameter space (a dropout probability cannot be negative), so LR is asymptotically the
   mixture 0.5 chi2(0) + 0.5 chi2(1) (Self & Liang 1987), p = 0.5 P(chi2(1) > LR); p >= ``LR_ALPHA``
   (LR < 2.71 at 5 %) keeps the simpler model. CDNOW: LR ~ 190 (ok); Online Retail: a = 0.003,
   LR ~ 0.2, p ~ 0.34 (boundary: no measurable dropout).

Otherwise ok. For a marketer, boundary means "nobody measurably stops buying": P(active) is 1 for
everyone and expected purchases come from each customer's rate alone (the NBD fallback).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.stats import chi2

from segmentation.ml.errors import EngineInputError

FitStatus = Literal["ok", "boundary", "failed"]

LOG_BOUND = 12.0  # parameters live in [e^-12, e^12] ~ [6e-6, 1.6e5]
POLISH_MAX_EVALS = 1500  # CDNOW's Pareto/NBD needs ~300; a ridge would take every one it is given
EDGE = 0.05  # closer than this (in log units) to the box edge counts as on the boundary
LR_ALPHA = 0.05  # significance level of the likelihood-ratio test against the nested (simpler) model


@dataclass
class FitResult:
    """The outcome of one maximum-likelihood fit, JSON-serialisable via `as_dict()`."""

    model: str
    status: FitStatus
    params: dict[str, float]
    log_likelihood: float
    n_customers: int
    n_rows: int  # distinct rows actually fitted (identical rows are fitted once, weighted)
    iterations: int = 0
    reason: str = ""
    fallback: str | None = None  # name of the model used for predictions when status is not ok
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON values; a number that is not finite (a failed fit) becomes None."""
        out = asdict(self)
        out["params"] = {k: json_number(v, 6) for k, v in self.params.items()}
        out["log_likelihood"] = json_number(self.log_likelihood, 4)
        return out


def json_number(value, digits: int) -> float | None:
    value = float(value)
    return round(value, digits) if np.isfinite(value) else None


def as_array(values, name: str, *, dtype=float) -> np.ndarray:
    arr = np.asarray(values, dtype=dtype).ravel()
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        row = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise EngineInputError(f"row {row}: column {name}: not a finite number: {arr[row]!r}")
    if np.any(arr < 0):
        row = int(np.flatnonzero(arr < 0)[0])
        raise EngineInputError(f"row {row}: column {name}: negative value {arr[row]!r}")
    return arr


def check_rfm(x, t_x, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated float arrays; x integer-valued, t_x <= T, t_x = 0 when x = 0."""
    x, t_x, T = as_array(x, "x"), as_array(t_x, "t_x"), as_array(T, "T")
    if not (len(x) == len(t_x) == len(T)):
        raise EngineInputError(f"x, t_x and T have different lengths: {len(x)}, {len(t_x)}, {len(T)}")
    if len(x) == 0:
        raise EngineInputError("no customers to fit")
    if np.any(x != np.round(x)):
        row = int(np.flatnonzero(x != np.round(x))[0])
        raise EngineInputError(f"row {row}: column x: repeat purchases must be a whole number, got {x[row]!r}")
    if np.any(t_x > T + 1e-9):
        row = int(np.flatnonzero(t_x > T + 1e-9)[0])
        raise EngineInputError(f"row {row}: column t_x: recency {t_x[row]} is after the age T {T[row]}")
    if np.any((x == 0) & (t_x > 0)):
        row = int(np.flatnonzero((x == 0) & (t_x > 0))[0])
        raise EngineInputError(f"row {row}: column t_x: {t_x[row]} with no repeat purchase (x = 0)")
    return x, t_x, T


def compress(weights: np.ndarray | None, *columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Identical rows once, with their summed weights (the fit is over distinct rows only)."""
    n = len(columns[0])
    w = np.ones(n) if weights is None else as_array(weights, "weights")
    frame = pd.DataFrame({f"c{i}": c for i, c in enumerate(columns)})
    frame["w"] = w
    grouped = frame.groupby([f"c{i}" for i in range(len(columns))], sort=False)["w"].sum().reset_index()
    grouped = grouped[grouped["w"] > 0]
    return [grouped[f"c{i}"].to_numpy(dtype=float) for i in range(len(columns))], grouped["w"].to_numpy(dtype=float)


def distinct_rows(*columns) -> tuple[np.ndarray, list[np.ndarray]]:
    """(code of each row, the distinct rows' columns): predictions are computed once per distinct row."""
    arrays = [np.broadcast_to(np.asarray(c, dtype=float), np.broadcast(*columns).shape).ravel() for c in columns]
    codes, uniques = pd.MultiIndex.from_arrays(arrays).factorize()
    return codes, [uniques.get_level_values(i).to_numpy(dtype=float) for i in range(len(arrays))]


@dataclass
class Optimum:
    log_params: np.ndarray
    log_likelihood: float
    converged: bool
    iterations: int
    message: str
    at_edge: list[int]


def maximise(
    neg_ll_and_grad: Callable[[np.ndarray], tuple[float, np.ndarray]] | Callable[[np.ndarray], float],
    start: np.ndarray,
    *,
    total_weight: float,
    jac: bool = True,
    tol: float = 1e-12,
    maxiter: int = 2000,
    polish: bool = False,
) -> Optimum:
    """L-BFGS-B on the mean negative log-likelihood over log-parameters in [-LOG_BOUND, LOG_BOUND].

    `polish` finishes with a tight Nelder-Mead from the L-BFGS-B optimum: without an analytic gradient,
    finite differences stop L-BFGS-B short on flat ridges (Pareto/NBD's beta moves in the 3rd decimal).
    """

    def scaled(theta: np.ndarray):
        with np.errstate(all="ignore"):
            out = neg_ll_and_grad(theta)
        if jac:
            value, grad = out
            if not np.isfinite(value) or not np.all(np.isfinite(grad)):
                return 1e300, np.zeros_like(theta)
            return value / total_weight, grad / total_weight
        value = out
        return (value / total_weight) if np.isfinite(value) else 1e300

    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
    result = minimize(
        scaled,
        np.clip(start, -LOG_BOUND + 1, LOG_BOUND - 1),
        jac=jac,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": maxiter, "ftol": tol, "gtol": 1e-9, "maxcor": 20},
    )
    theta = np.asarray(result.x, dtype=float)
    if polish and np.isfinite(result.fun) and result.fun < 1e299:
        refined = minimize(
            lambda th: scaled(th)[0] if jac else scaled(th),
            theta,
            method="Nelder-Mead",
            bounds=bounds,
            options={"xatol": 1e-9, "fatol": 1e-15, "maxiter": POLISH_MAX_EVALS, "maxfev": POLISH_MAX_EVALS},
        )
        if refined.fun <= result.fun:
            theta, result.fun, result.nit = np.asarray(refined.x, dtype=float), refined.fun, result.nit + refined.nit
    value = float(result.fun) * total_weight
    at_edge = [i for i, v in enumerate(theta) if abs(abs(v) - LOG_BOUND) < EDGE]
    finite = bool(np.isfinite(result.fun) and result.fun < 1e299)
    # ABNORMAL_TERMINATION_IN_LNSRCH at an optimum is L-BFGS-B failing to improve the last digits
    # (accepted only where the mean gradient is already flat inside the box)
    interior = np.abs(np.abs(np.asarray(result.x)) - LOG_BOUND) >= EDGE
    flat = bool(np.all(np.abs(np.asarray(result.jac))[interior] < 1e-4)) if hasattr(result, "jac") else False
    converged = finite and (bool(result.success) or ("ABNORMAL" in str(result.message) and flat))
    message = str(result.message) if finite else "the likelihood is not finite anywhere the optimiser looked"
    return Optimum(theta, float(-value) if finite else float("nan"), converged, int(result.nit), message, at_edge)


@dataclass(frozen=True)
class NestedTest:
    """Likelihood-ratio test of a model against the simpler one it nests on a boundary (e.g. BG/NBD vs NBD)."""

    nested: str
    log_likelihood_full: float
    log_likelihood_nested: float

    @property
    def statistic(self) -> float:
        """LR = 2 (ll_full - ll_nested), floored at 0 (the full model cannot fit worse at its optimum)."""
        return max(0.0, 2.0 * (self.log_likelihood_full - self.log_likelihood_nested))

    @property
    def p_value(self) -> float:
        """0.5 chi2(0) + 0.5 chi2(1) mixture: the nested model is on the edge of the parameter space."""
        lr = self.statistic
        return 1.0 if lr <= 0 else 0.5 * float(chi2.sf(lr, df=1))

    def as_dict(self) -> dict[str, Any]:
        return {
            "nested": self.nested,
            "statistic": json_number(self.statistic, 4),
            "p_value": json_number(self.p_value, 6),
            "log_likelihood_nested": json_number(self.log_likelihood_nested, 4),
        }


def boundary_verdict(
    opt: Optimum,
    names: list[str],
    *,
    negligible: str = "",
    test: NestedTest | None = None,
    alpha: float = LR_ALPHA,
) -> tuple[FitStatus, str]:
    """(status, reason) by the rule in this module's docstring; `negligible` is the model's own reason
    when its extra part has vanished in the limit (empty when it has not)."""
    if not opt.converged or not np.isfinite(opt.log_likelihood):
        return "failed", f"the optimiser did not converge: {opt.message}"
    if negligible:
        return "boundary", negligible
    if opt.at_edge:
        return "boundary", "parameter(s) at the edge of the search box: " + ", ".join(names[i] for i in opt.at_edge)
    if test is not None and np.isfinite(test.log_likelihood_nested) and test.p_value >= alpha:
        return "boundary", (
            f"no dropout: the {test.nested.upper()} model without dropout fits as well "
            f"(likelihood ratio {test.statistic:.2f}, p = {test.p_value:.2f} >= {alpha:g})"
        )
    return "ok", ""
