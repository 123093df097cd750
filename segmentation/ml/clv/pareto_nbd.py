"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987), likelihood as in Fader & Hardie (2005), "A note on
deriving the Pareto/NBD model and related expressions".

Purchases while alive are Poisson with rate lambda ~ Gamma(r, alpha); lifetimes are exponential with rate
mu ~ Gamma(s, beta). With rsx = r + s + x:

    L = Gamma(r + x) alpha^r beta^s / Gamma(r)
        * [ 1 / ((alpha + T)^(r + x) (beta + T)^s) + s / rsx * A0 ]
    A0 = F(t_x) / (m + t_x)^rsx - F(T) / (m + T)^rsx,   F(u) = 2F1(rsx, c; rsx + 1; |alpha - beta| / (m + u))

where m = max(alpha, beta) and c = s + 1 if alpha >= beta else r + x. Fitted on distinct rows with
weights, numerically differentiated (the hypergeometric function has no cheap parameter derivative), so
it is slower than BG/NBD; the product uses BG/NBD for scale and offers Pareto/NBD beside it.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln, hyp2f1

from segmentation.ml.clv.bgnbd import NBD
from segmentation.ml.clv.fitting import FitResult, check_rfm, compress, maximise

MIN_DEATH_RATE = 1e-4  # mean lifetime rate s / beta below this (per week) is "no dropout"
MAX_S = 100.0  # beyond this, s and beta run off together along a ridge: lifetimes look homogeneous


def _log_a0(r, alpha, s, beta, x, t_x, T):
    rsx = r + s + x
    if alpha >= beta:
        m, c, d = alpha, s + 1, alpha - beta
    else:
        m, c, d = beta, r + x, beta - alpha
    f_tx = hyp2f1(rsx, c, rsx + 1, d / (m + t_x))
    f_T = hyp2f1(rsx, c, rsx + 1, d / (m + T))
    ratio = np.exp(rsx * (np.log(m + t_x) - np.log(m + T)))
    return -rsx * np.log(m + t_x) + np.log(f_tx - f_T * ratio)


def _log_terms(r, alpha, s, beta, x, t_x, T):
    """(log of the common factor, log of the "alive at T" term, log of the "died in (t_x, T]" term)."""
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    died = np.log(s) - np.log(r + s + x) + _log_a0(r, alpha, s, beta, x, t_x, T)
    return common, alive, died


class ParetoNBD:
    """Pareto/NBD by maximum likelihood; learned ``r_``, ``alpha_``, ``s_``, ``beta_``, ``result_``, ``fallback_``."""

    name = "pareto_nbd"

    def __init__(self, *, min_death_rate: float = MIN_DEATH_RATE) -> None:
        self.min_death_rate = min_death_rate

    def fit(self, x, t_x, T, weights=None) -> ParetoNBD:
        x, t_x, T = check_rfm(x, t_x, T)
        (xu, txu, Tu), w = compress(weights, x, t_x, T)

        def nll(theta):
            r, alpha, s, beta = np.exp(theta)
            common, alive, died = _log_terms(r, alpha, s, beta, xu, txu, Tu)
            ll = common + np.logaddexp(alive, died)
            ll = np.where(np.isnan(ll), common + alive, ll)  # t_x == T: the died term is 0
            return -np.dot(w, ll)

        scale = max(float(Tu.max()), 1.0) / 10.0
        start = np.array([0.0, np.log(scale), 0.0, np.log(scale)])
        opt = maximise(nll, start, total_weight=w.sum(), jac=False, tol=1e-14, polish=True)
        self.r_, self.alpha_, self.s_, self.beta_ = (float(v) for v in np.exp(opt.log_params))
        self.log_likelihood_ = opt.log_likelihood
        params = {"r": self.r_, "alpha": self.alpha_, "s": self.s_, "beta": self.beta_}
        death_rate = self.s_ / self.beta_
        if not opt.converged or not np.isfinite(opt.log_likelihood):
            status, reason = "failed", f"the optimiser did not converge: {opt.message}"
        elif death_rate < self.min_death_rate:
            status, reason = "boundary", f"no dropout: mean death rate s / beta = {death_rate:.2g} per period"
        elif self.s_ > MAX_S:
            status = "boundary"
            reason = (
                f"lifetimes look homogeneous: s = {self.s_:.3g} and beta = {self.beta_:.3g} run off together "
                f"(s / beta = {death_rate:.3g}); predictions use these values"
            )
        elif opt.at_edge:
            status = "boundary"
            reason = "parameter(s) at the edge of the search box: " + ", ".join(list(params)[i] for i in opt.at_edge)
        else:
            status, reason = "ok", ""
        no_dropout = status == "failed" or death_rate < self.min_death_rate
        self.fallback_ = NBD().fit(x, t_x, T, weights) if no_dropout else None
        self.result_ = FitResult(
            model="pareto_nbd",
            status=status,
            params=params,
            log_likelihood=opt.log_likelihood,
            n_customers=len(x),
            n_rows=len(w),
            iterations=opt.iterations,
            reason=reason,
            fallback="nbd" if self.fallback_ is not None else None,
        )
        return self

    def probability_alive(self, x, t_x, T) -> np.ndarray:
        """P(alive | x, t_x, T) = 1 / (1 + exp(died - alive))."""
        if self.fallback_ is not None:
            return self.fallback_.probability_alive(x, t_x, T)
        x, t_x, T = np.broadcast_arrays(*(np.asarray(v, float) for v in (x, t_x, T)))
        out = np.ones(x.shape)
        with np.errstate(all="ignore"):
            _, alive, died = _log_terms(self.r_, self.alpha_, self.s_, self.beta_, x, t_x, T)
            p = 1.0 / (1.0 + np.exp(died - alive))
        return np.where(np.isfinite(p), p, out)

    def expected_purchases(self, t, x, t_x, T) -> np.ndarray:
        """E[Y(t) | x, t_x, T], expected purchases in the next t periods:

        P(alive) (r + x)(beta + T) / ((alpha + T)(s - 1)) [1 - ((beta + T) / (beta + T + t))^(s - 1)].
        """
        if self.fallback_ is not None:
            return self.fallback_.expected_purchases(t, x, t_x, T)
        r, alpha, s, beta = self.r_, self.alpha_, self.s_, self.beta_
        x, t_x, T, t = (np.asarray(v, float) for v in (x, t_x, T, t))
        if abs(s - 1) < 1e-8:
            rate = (r + x) * (beta + T) / (alpha + T) * np.log((beta + T + t) / (beta + T))
        else:
            rate = (r + x) * (beta + T) / ((alpha + T) * (s - 1)) * (1 - ((beta + T) / (beta + T + t)) ** (s - 1))
        return rate * self.probability_alive(x, t_x, T)
