"""BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way") and its no-dropout limit, NBD.

Purchases while alive follow a Poisson process with rate lambda ~ Gamma(r, alpha); after each purchase a
customer drops out with probability p ~ Beta(a, b). Per customer (x repeat purchases, last at t_x, age T):

    L = B(a, b + x) / B(a, b) * Gamma(r + x) alpha^r / Gamma(r)
        * [ (alpha + T)^-(r + x) + 1{x > 0} a / (b + x - 1) * (alpha + t_x)^-(r + x) ]

maximised over log(r, alpha, a, b) with its analytic gradient, on distinct (x, t_x, T) rows with weights.
When the data show no dropout the optimum runs off to a -> 0 or b -> infinity, or stays inside the box
with a dropout the data do not support (a likelihood-ratio test against NBD; the rule is
`segmentation.ml.clv.fitting.boundary_verdict`): the fit is reported as ``boundary`` and predictions
come from the NBD fallback (the same model with p = 0), whose likelihood
Gamma(r + x) alpha^r / (Gamma(r) (alpha + T)^(r + x)) needs only x and T.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, digamma, gammaln, hyp2f1

from segmentation.ml.clv.fitting import FitResult, NestedTest, boundary_verdict, check_rfm, compress, maximise

# dropout after a purchase below this mean probability a / (a + b) is "no dropout"
MIN_DROPOUT = 1e-4


class NBD:
    """Poisson purchasing with Gamma(r, alpha) heterogeneous rates, nobody drops out."""

    name = "nbd"

    def fit(self, x, t_x, T, weights=None) -> NBD:
        x, t_x, T = check_rfm(x, t_x, T)
        (xu, Tu), w = compress(weights, x, T)

        def nll(theta):
            r, alpha = np.exp(theta)
            ll = gammaln(r + xu) - gammaln(r) + r * np.log(alpha) - (r + xu) * np.log(alpha + Tu)
            d_r = digamma(r + xu) - digamma(r) + np.log(alpha) - np.log(alpha + Tu)
            d_alpha = r / alpha - (r + xu) / (alpha + Tu)
            return -np.dot(w, ll), -np.array([r * np.dot(w, d_r), alpha * np.dot(w, d_alpha)])

        scale = max(float(Tu.max()), 1.0) / 10.0
        opt = maximise(nll, np.array([0.0, np.log(scale)]), total_weight=w.sum())
        self.r_, self.alpha_ = (float(v) for v in np.exp(opt.log_params))
        status = "ok" if opt.converged and not opt.at_edge else ("boundary" if opt.converged else "failed")
        reason = "" if status == "ok" else (opt.message if status == "failed" else "a parameter is at its bound")
        self.result_ = FitResult(
            model="nbd",
            status=status,
            params={"r": self.r_, "alpha": self.alpha_},
            log_likelihood=opt.log_likelihood,
            n_customers=len(x),
            n_rows=len(w),
            iterations=opt.iterations,
            reason=reason,
        )
        return self

    def expected_purchases(self, t, x, t_x, T) -> np.ndarray:
        x, T = np.asarray(x, float), np.asarray(T, float)
        return (self.r_ + x) * np.asarray(t, float) / (self.alpha_ + T)

    def probability_alive(self, x, t_x, T) -> np.ndarray:
        return np.ones(np.broadcast(np.asarray(x), np.asarray(T)).shape)


class BGNBD:
    """BG/NBD by maximum likelihood; `fit(x, t_x, T, weights=None)` returns self.

    Learned: ``r_``, ``alpha_``, ``a_``, ``b_``, ``log_likelihood_``, ``result_`` (a `FitResult` whose
    status is ok / boundary / failed) and ``fallback_`` (an `NBD`, used for predictions unless ok).
    """

    name = "bgnbd"

    def __init__(self, *, min_dropout: float = MIN_DROPOUT) -> None:
        self.min_dropout = min_dropout

    @staticmethod
    def _nll(theta, xu, txu, Tu, w):
        r, alpha, a, b = np.exp(theta)
        rx = r + xu
        pos = xu > 0
        a1 = gammaln(rx) - gammaln(r) + r * np.log(alpha)
        a2 = betaln(a, b + xu) - betaln(a, b)
        a3 = -rx * np.log(alpha + Tu)
        bx1 = np.where(pos, b + xu - 1, 1.0)
        a4 = np.where(pos, np.log(a) - np.log(bx1) - rx * np.log(alpha + txu), -np.inf)
        mix = np.logaddexp(a3, a4)
        pi = np.exp(a4 - mix)  # share of the "dropped out after t_x" term
        ll = a1 + a2 + mix
        d_r = digamma(rx) - digamma(r) + np.log(alpha) - (1 - pi) * np.log(alpha + Tu) - pi * np.log(alpha + txu)
        d_alpha = r / alpha - (1 - pi) * rx / (alpha + Tu) - pi * rx / (alpha + txu)
        dab = digamma(a + b) - digamma(a + b + xu)
        d_a = dab + pi / a
        d_b = dab + digamma(b + xu) - digamma(b) - pi / bx1
        grad = np.array([r * np.dot(w, d_r), alpha * np.dot(w, d_alpha), a * np.dot(w, d_a), b * np.dot(w, d_b)])
        return -np.dot(w, ll), -grad

    def fit(self, x, t_x, T, weights=None) -> BGNBD:
        x, t_x, T = check_rfm(x, t_x, T)
        (xu, txu, Tu), w = compress(weights, x, t_x, T)
        scale = max(float(Tu.max()), 1.0) / 10.0
        opt = maximise(
            lambda th: self._nll(th, xu, txu, Tu, w), np.array([0.0, np.log(scale), 0.0, 0.0]), total_weight=w.sum()
        )
        self.r_, self.alpha_, self.a_, self.b_ = (float(v) for v in np.exp(opt.log_params))
        self.log_likelihood_ = opt.log_likelihood
        params = {"r": self.r_, "alpha": self.alpha_, "a": self.a_, "b": self.b_}
        dropout = self.a_ / (self.a_ + self.b_)
        negligible = ""
        if dropout < self.min_dropout:
            negligible = f"no dropout: a / (a + b) = {dropout:.2g} (a = {self.a_:.3g}, b = {self.b_:.3g})"
        self.fallback_ = NBD().fit(x, t_x, T, weights)
        test = NestedTest("nbd", opt.log_likelihood, self.fallback_.result_.log_likelihood)
        status, reason = boundary_verdict(opt, list(params), negligible=negligible, test=test)
        self.result_ = FitResult(
            model="bgnbd",
            status=status,
            params=params,
            log_likelihood=opt.log_likelihood,
            n_customers=len(x),
            n_rows=len(w),
            iterations=opt.iterations,
            reason=reason,
            fallback=None if status == "ok" else "nbd",
            extra={
                "dropout_test": test.as_dict(),
                **({"nbd": self.fallback_.result_.as_dict()} if status != "ok" else {}),
            },
        )
        return self

    @property
    def uses_fallback(self) -> bool:
        return self.result_.status != "ok"

    def probability_alive(self, x, t_x, T) -> np.ndarray:
        """P(alive | x, t_x, T) = 1 / (1 + 1{x > 0} a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x))."""
        if self.uses_fallback:
            return self.fallback_.probability_alive(x, t_x, T)
        x, t_x, T = (np.asarray(v, float) for v in (x, t_x, T))
        return 1.0 / (1.0 + self._odds_dead(x, t_x, T))

    def _odds_dead(self, x, t_x, T):
        r, alpha, a, b = self.r_, self.alpha_, self.a_, self.b_
        pos = x > 0
        with np.errstate(all="ignore"):
            log_odds = (
                np.log(a) - np.log(np.where(pos, b + x - 1, 1.0)) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
            )
        return np.where(pos, np.exp(np.minimum(log_odds, 700)), 0.0)

    def expected_purchases(self, t, x, t_x, T) -> np.ndarray:
        """E[Y(t) | x, t_x, T]: expected purchases in the next t periods (FHL 2005, eq. 10)."""
        if self.uses_fallback:
            return self.fallback_.expected_purchases(t, x, t_x, T)
        r, alpha, a, b = self.r_, self.alpha_, self.a_, self.b_
        x, t_x, T, t = (np.asarray(v, float) for v in (x, t_x, T, t))
        z = t / (alpha + T + t)
        head = (a + b + x - 1) / (a - 1)
        body = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
        return head * body / (1 + self._odds_dead(x, t_x, T))

    def expected_purchases_new(self, t) -> np.ndarray:
        """E[X(t)] for a customer just acquired (FHL 2005, eq. 9)."""
        t = np.asarray(t, float)
        if self.uses_fallback:
            return self.fallback_.r_ * t / self.fallback_.alpha_
        r, alpha, a, b = self.r_, self.alpha_, self.a_, self.b_
        return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))
