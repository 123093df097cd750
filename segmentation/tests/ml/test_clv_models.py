"""CLV models on synthetic customers: recovery, weights, boundaries, fallbacks, predictions, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import approx_fprime

from segmentation.ml.clv import BGNBD, NBD, GammaGamma, ParetoNBD, holdout_check
from segmentation.ml.clv.fitting import compress
from segmentation.ml.clv.simulate import simulate_customers
from segmentation.ml.errors import EngineInputError


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    return simulate_customers(20_000, r=0.5, alpha=5.0, a=0.9, b=3.0, max_age_days=365, random_state=7)


@pytest.fixture(scope="module")
def no_dropout() -> pd.DataFrame:
    return simulate_customers(3_000, r=2.0, alpha=4.0, a=None, max_age_days=365, random_state=3)


def _rfm(df):
    return df["x"].to_numpy(float), df["t_x"].to_numpy(float), df["T"].to_numpy(float)


def test_bgnbd_recovers_planted_parameters(customers):
    model = BGNBD().fit(*_rfm(customers))
    assert model is not None and model.result_.status == "ok"
    assert model.r_ == pytest.approx(0.5, rel=0.1)
    assert model.alpha_ == pytest.approx(5.0, rel=0.15)
    assert model.a_ / (model.a_ + model.b_) == pytest.approx(0.9 / 3.9, rel=0.15)


def test_bgnbd_gradient_is_the_derivative_of_the_likelihood(customers):
    (x, tx, T), w = compress(None, *_rfm(customers.head(500)))
    theta = np.log([0.4, 3.0, 0.7, 2.0])
    _, grad = BGNBD._nll(theta, x, tx, T, w)
    numeric = approx_fprime(theta, lambda th: BGNBD._nll(th, x, tx, T, w)[0], 1e-6)
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-3)


def test_weights_equal_repeated_rows(customers):
    small = customers.head(300)
    doubled = pd.concat([small, small])
    by_rows = BGNBD().fit(*_rfm(doubled)).result_
    by_weight = BGNBD().fit(*_rfm(small), weights=np.full(len(small), 2.0)).result_
    assert by_weight.log_likelihood == pytest.approx(by_rows.log_likelihood, rel=1e-9)
    for name, value in by_rows.params.items():
        assert by_weight.params[name] == pytest.approx(value, rel=1e-5)


def test_no_dropout_is_a_boundary_with_the_nbd_fallback(no_dropout):
    model = BGNBD().fit(*_rfm(no_dropout))
    result = model.result_
    assert result.status == "boundary"
    assert "no dropout" in result.reason
    assert result.fallback == "nbd" and model.fallback_.result_.status == "ok"
    assert model.fallback_.r_ == pytest.approx(2.0, rel=0.15)
    x, tx, T = _rfm(no_dropout)
    assert (model.probability_alive(x, tx, T) == 1).all()
    np.testing.assert_allclose(model.expected_purchases(10, x, tx, T), model.fallback_.expected_purchases(10, x, tx, T))
    assert result.as_dict()["status"] == "boundary"


def test_pareto_nbd_no_dropout_is_a_boundary_too(no_dropout):
    model = ParetoNBD().fit(*_rfm(no_dropout.head(400)))
    assert model.result_.status == "boundary" and "no dropout" in model.result_.reason
    assert model.result_.fallback == "nbd"


def test_a_fit_that_cannot_converge_fails_with_a_reason_not_an_exception(customers, monkeypatch):
    monkeypatch.setattr(BGNBD, "_nll", staticmethod(lambda theta, *args: (float("nan"), np.zeros(4))))
    model = BGNBD().fit(*_rfm(customers.head(200)))
    assert model.result_.status == "failed"
    assert model.result_.reason
    assert np.isfinite(model.expected_purchases(10, *_rfm(customers.head(5)))).all()  # the NBD fallback


def test_predictions_behave(customers):
    model = BGNBD().fit(*_rfm(customers))
    # the longer since the last purchase, the less likely alive; more purchases, then silence, worse still
    p = model.probability_alive([3, 3, 10], [30.0, 5.0, 5.0], [40.0, 40.0, 40.0])
    assert p[0] > p[1] > p[2]
    assert model.probability_alive([0], [0.0], [40.0])[0] == 1.0
    e = model.expected_purchases(np.array([0.0, 10.0, 20.0]), 3, 30.0, 40.0)
    assert e[0] == 0 and 0 < e[1] < e[2]
    assert 0 < model.expected_purchases_new(10.0) < model.expected_purchases_new(20.0)


def test_holdout_prediction_is_calibrated_on_planted_data():
    # calibration 26 weeks then 26 more: simulate the whole year and cut it
    rng = np.random.default_rng(11)
    n, r, alpha, a, b = 4000, 0.6, 4.0, 0.8, 3.0
    lam, drop = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    start = rng.integers(0, 13 * 7, n) / 7.0
    rows = []
    for i in range(n):
        t, alive = start[i], True
        rows.append((i, t))
        while alive:
            t += rng.exponential(1 / lam[i])
            if t > 52:
                break
            rows.append((i, t))
            alive = rng.random() >= drop[i]
    tx = pd.DataFrame(rows, columns=["customer_id", "week"])
    tx["date"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.floor(tx["week"] * 7), unit="D")
    tx["amount"] = 10.0
    from segmentation.ml.clv import clv_summary

    summary = clv_summary(tx, calibration_end="2024-06-30", observation_end="2024-12-29")
    model = BGNBD().fit(*_rfm(summary))
    check = holdout_check(summary, model)
    assert abs(check.error) < 0.15
    assert check.mae <= check.mae_naive


def test_gamma_gamma_recovers_spend_and_values_customers(customers):
    model = GammaGamma().fit(customers["x"], customers["monetary_value"])
    assert model.result_.status == "ok"
    p, q, g = model.p_, model.q_, model.gamma_
    assert p * g / (q - 1) == pytest.approx(6.0 * 15.0 / 2.8, rel=0.1)  # population mean spend
    purchases = BGNBD().fit(*_rfm(customers))
    x, tx, T = _rfm(customers.head(50))
    m = customers["monetary_value"].head(50).to_numpy()
    year = model.customer_lifetime_value(purchases, x, tx, T, m, horizon=52, discount_rate=0.0)
    undiscounted = model.expected_average_spend(x, m) * purchases.expected_purchases(52, x, tx, T)
    np.testing.assert_allclose(year, undiscounted, rtol=1e-9)
    discounted = model.customer_lifetime_value(purchases, x, tx, T, m, horizon=52, discount_rate=0.02)
    assert (discounted <= year + 1e-12).all() and (discounted < year).any()
    half = model.customer_lifetime_value(purchases, x, tx, T, m, horizon=26, discount_rate=0.0)
    assert (half <= year + 1e-12).all()


def test_gamma_gamma_with_too_few_repeat_customers_fails_gently():
    model = GammaGamma().fit([0, 1, 0], [0.0, 12.0, 0.0])
    assert model.result_.status == "failed" and "too few repeat customers" in model.result_.reason
    assert model.expected_average_spend([0, 1], [0.0, 12.0]).tolist() == [12.0, 12.0]


@pytest.mark.parametrize(
    ("x", "t_x", "T", "match"),
    [
        ([1, -1], [1.0, 0.0], [2.0, 2.0], r"row 1: column x: negative value"),
        ([1.5], [1.0], [2.0], r"row 0: column x: repeat purchases must be a whole number"),
        ([1], [3.0], [2.0], r"row 0: column t_x: recency 3.0 is after the age T 2.0"),
        ([0], [1.0], [2.0], r"row 0: column t_x: 1.0 with no repeat purchase"),
        ([1], [np.nan], [2.0], r"row 0: column t_x: not a finite number"),
        ([], [], [], r"no customers to fit"),
    ],
)
def test_bad_input_names_row_and_column(x, t_x, T, match):
    with pytest.raises(EngineInputError, match=match):
        BGNBD().fit(x, t_x, T)


def test_nbd_alone(no_dropout):
    model = NBD().fit(*_rfm(no_dropout))
    assert model.result_.status == "ok"
    assert model.alpha_ == pytest.approx(4.0, rel=0.15)


def test_boundary_verdict_rule_in_order():
    from segmentation.ml.clv.fitting import NestedTest, Optimum, boundary_verdict

    def opt(*, converged=True, at_edge=(), ll=-100.0):
        return Optimum(np.zeros(4), ll, converged, 5, "CONVERGENCE", list(at_edge))

    names = ["r", "alpha", "a", "b"]
    significant = NestedTest("nbd", -100.0, -110.0)  # LR 20
    weak = NestedTest("nbd", -100.0, -100.5)  # LR 1, p = 0.16
    assert boundary_verdict(opt(converged=False), names, test=significant)[0] == "failed"
    assert boundary_verdict(opt(ll=float("nan")), names)[0] == "failed"
    assert boundary_verdict(opt(), names, negligible="no dropout: a tiny", test=significant) == (
        "boundary",
        "no dropout: a tiny",
    )
    status, reason = boundary_verdict(opt(at_edge=[3]), names, test=significant)
    assert status == "boundary" and reason.endswith(": b")
    status, reason = boundary_verdict(opt(), names, test=weak)
    assert status == "boundary" and "likelihood ratio 1.00, p = 0.16" in reason
    assert boundary_verdict(opt(), names, test=significant) == ("ok", "")
    assert NestedTest("nbd", -100.0, -99.0).statistic == 0.0  # a worse optimum is no evidence
    assert abs(NestedTest("nbd", 0.0, -2.705543 / 2).p_value - 0.05) < 1e-6  # 2.71 is the 5 % point
