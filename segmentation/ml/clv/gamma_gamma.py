"""Gamma-Gamma spend model (Fader, Hardie & Lee 2005b, "RFM and CLV: using iso-value curves").

A customer's spend per purchase is Gamma(p, nu) around their own mean p / nu, with nu ~ Gamma(q, gamma)
across customers. Fitted on repeat customers only (x > 0), from x and the mean repeat spend m:

    log L = log Gamma(p x + q) - log Gamma(p x) - log Gamma(q) + q log gamma
            + (p x - 1) log m + p x log x - (p x + q) log(gamma + x m)

Expected average spend of a customer: (p (gamma + x m)) / (p x + q - 1) (a weighted mean of the
population mean p gamma / (q - 1) and the customer's own mean m).

Customer lifetime value over a horizon (the discounted-cash-flow form used by the reference
implementations), with periods of ``period`` weeks (default a month, 52/12 weeks) and a discount rate d
per period:

    CLV = sum_{k=1..K} spend * (E[Y(k period)] - E[Y((k-1) period)]) / (1 + d)^k,  K = ceil(horizon / period)

where spend is the Gamma-Gamma conditional expected average spend and E[Y(t)] the purchase model's
conditional expected purchases in the next t weeks. It is a margin-free value: multiply by a margin
for profit.

The model assumes spend per purchase is independent of purchase frequency; the fit reports their
correlation across repeat customers in ``result_.extra["frequency_spend_correlation"]`` (the reference
literature checks it is small: CDNOW ~0.11).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import digamma, gammaln

from segmentation.ml.clv.fitting import FitResult, as_array, compress, distinct_rows, maximise
from segmentation.ml.errors import EngineInputError

MONTH_WEEKS = 52.0 / 12.0


class GammaGamma:
    """Gamma-Gamma by maximum likelihood on customers with x > 0; learned ``p_``, ``q_``, ``gamma_``, ``result_``."""

    name = "gamma_gamma"

    def fit(self, x, monetary_value, weights=None) -> GammaGamma:
        x, m = as_array(x, "x"), as_array(monetary_value, "monetary_value")
        if len(x) != len(m):
            raise EngineInputError(f"x and monetary_value have different lengths: {len(x)}, {len(m)}")
        w_all = np.ones(len(x)) if weights is None else as_array(weights, "weights")
        keep = (x > 0) & (m > 0)
        if keep.sum() < 3:
            self.p_ = self.q_ = self.gamma_ = float("nan")
            self.result_ = FitResult(
                model="gamma_gamma",
                status="failed",
                params={"p": self.p_, "q": self.q_, "gamma": self.gamma_},
                log_likelihood=float("nan"),
                n_customers=int(keep.sum()),
                n_rows=0,
                iterations=0,
                reason=f"too few repeat customers with spend: {int(keep.sum())} (need 3)",
                fallback="mean_spend",
            )
            self.mean_spend_ = float(np.average(m[keep], weights=w_all[keep])) if keep.any() else 0.0
            return self
        (xu, mu), w = compress(w_all[keep], x[keep], m[keep])
        log_m, log_x = np.log(mu), np.log(xu)

        def nll(theta):
            p, q, g = np.exp(theta)
            px = p * xu
            denom = g + xu * mu
            log_denom = np.log(denom)
            dig = digamma(px + q)
            ll = gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g) + (px - 1) * log_m + px * log_x
            ll -= (px + q) * log_denom
            d_p = xu * (dig - digamma(px) + log_m + log_x - log_denom)
            d_q = dig - digamma(q) + np.log(g) - log_denom
            d_g = q / g - (px + q) / denom
            grad = np.array([p * np.dot(w, d_p), q * np.dot(w, d_q), g * np.dot(w, d_g)])
            return -np.dot(w, ll), -grad

        start = np.array([0.0, 0.0, math.log(max(float(np.average(mu, weights=w)), 1e-6))])
        opt = maximise(nll, start, total_weight=w.sum())
        self.p_, self.q_, self.gamma_ = (float(v) for v in np.exp(opt.log_params))
        self.mean_spend_ = float(np.average(mu, weights=w))
        params = {"p": self.p_, "q": self.q_, "gamma": self.gamma_}
        if not opt.converged:
            status, reason = "failed", f"the optimiser did not converge: {opt.message}"
        elif opt.at_edge or self.q_ <= 1:
            status = "boundary"
            reason = "q <= 1: the mean spend is unbounded" if self.q_ <= 1 else "parameter(s) at the search box edge"
        else:
            status, reason = "ok", ""
        self.result_ = FitResult(
            model="gamma_gamma",
            status=status,
            params=params,
            log_likelihood=opt.log_likelihood,
            n_customers=int(keep.sum()),
            n_rows=len(w),
            iterations=opt.iterations,
            reason=reason,
            fallback=None if status == "ok" else "mean_spend",
            extra={"frequency_spend_correlation": float(np.corrcoef(x[keep], m[keep])[0, 1])},
        )
        return self

    def expected_average_spend(self, x, monetary_value) -> np.ndarray:
        """E[Z | x, m]; customers without repeat purchases get the population mean p gamma / (q - 1)."""
        x, m = np.asarray(x, float), np.asarray(monetary_value, float)
        if self.result_.status != "ok":
            return np.where(x > 0, m, self.mean_spend_)
        p, q, g = self.p_, self.q_, self.gamma_
        return p * (g + x * m) / (p * x + q - 1)

    def customer_lifetime_value(
        self,
        purchases,
        x,
        t_x,
        T,
        monetary_value,
        *,
        horizon: float = 52.0,
        period: float = MONTH_WEEKS,
        discount_rate: float = 0.01,
    ) -> np.ndarray:
        """Discounted expected spend over `horizon` weeks (formula in the module docstring).

        `purchases` is a fitted purchase model (`BGNBD` or `ParetoNBD`); `discount_rate` is per `period`.
        """
        if horizon < 0 or period <= 0 or discount_rate <= -1:
            raise EngineInputError(
                f"horizon, period, discount_rate: need horizon >= 0, period > 0, discount_rate > -1; "
                f"got {horizon}, {period}, {discount_rate}"
            )
        spend = self.expected_average_spend(x, monetary_value)
        # the purchase model is evaluated once per distinct (x, t_x, T), then spread back to customers
        codes, (xu, txu, Tu) = distinct_rows(x, t_x, T)
        discounted = np.zeros(len(xu), dtype=float)  # discounted expected purchases per distinct row
        previous = np.zeros_like(discounted)
        for k in range(1, math.ceil(horizon / period - 1e-9) + 1):
            current = purchases.expected_purchases(min(k * period, horizon), xu, txu, Tu)
            discounted += (current - previous) / (1 + discount_rate) ** k
            previous = current
        return spend * discounted[codes]
