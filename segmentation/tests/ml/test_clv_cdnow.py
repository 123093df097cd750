"""CDNOW reference fits (Fader, Hardie & Lee 2005; the published BG/NBD, Gamma-Gamma and Pareto/NBD values).

The 1/10 sample (2,357 customers), calibration 1997-01-01 .. 1997-09-30 (39 weeks), holdout to 1998-06-30.
Skipped with a reason when the shared datasets folder is absent.
"""

from __future__ import annotations

import pandas as pd
import pytest

from segmentation.ml.clv import BGNBD, GammaGamma, ParetoNBD, clv_report, clv_scores, clv_summary

CAL_END, HOLDOUT_END = "1997-09-30", "1998-06-30"


@pytest.fixture(scope="module")
def cdnow_dir():
    from tests.fixtures import datasets_dir

    folder = datasets_dir() / "cdnow"
    if not (folder / "CDNOW_sample.txt").is_file():
        pytest.skip(f"CDNOW sample not found in {folder} (set SEGMENTA_DATASETS)")
    return folder


@pytest.fixture(scope="module")
def transactions(cdnow_dir) -> pd.DataFrame:
    return pd.read_csv(
        cdnow_dir / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["customer_id", "sample_id", "date", "quantity", "amount"],
        dtype={"date": str},
    )


@pytest.fixture(scope="module")
def report(transactions):
    return clv_report(transactions, calibration_end=CAL_END, holdout_end=HOLDOUT_END)


def test_summary_matches_the_published_cdnow_summary(transactions, cdnow_dir):
    summary = clv_summary(transactions, calibration_end=CAL_END)
    # the published file numbers customers by the sample's second column
    sample_id = transactions.drop_duplicates("customer_id").set_index("customer_id")["sample_id"]
    summary.index = sample_id.reindex(summary.index).to_numpy()
    reference = pd.read_csv(cdnow_dir / "cdnow_customers_summary_with_transactions.csv", index_col="ID")
    summary = summary.loc[reference.index]

    assert len(summary) == 2357
    assert (summary["x"].to_numpy() == reference["x"].to_numpy()).all()
    for ours, theirs in (("t_x", "t_x"), ("T", "T"), ("monetary_value", "zbar")):
        assert (summary[ours] - reference[theirs]).abs().max() <= 0.005 + 1e-9, ours  # published to 2 decimals


def test_bgnbd_reproduces_the_published_fit(report):
    fit = report.bgnbd.result_
    assert fit.status == "ok"
    assert {k: round(v, 3) for k, v in fit.params.items()} == {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    assert round(fit.log_likelihood, 1) == -9582.4
    assert fit.n_customers == 2357 and fit.n_rows < 1100  # fitted on distinct (x, t_x, T) rows


def test_bgnbd_on_the_published_summary_file(cdnow_dir):
    summary = pd.read_csv(cdnow_dir / "cdnow_customers_summary.csv")
    fit = BGNBD().fit(summary["frequency"], summary["recency"], summary["T"]).result_
    assert {k: round(v, 3) for k, v in fit.params.items()} == {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def test_gamma_gamma_on_the_946_repeat_customers(report):
    fit = report.gamma_gamma.result_
    assert fit.status == "ok" and fit.n_customers == 946
    assert {k: round(v, 3) for k, v in fit.params.items()} == {"p": 6.250, "q": 3.744, "gamma": 15.444}


def test_pareto_nbd_reproduces_the_published_fit(report):
    fit = report.pareto_nbd.result_
    assert fit.status == "ok"
    assert {k: round(v, 3) for k, v in fit.params.items()} == {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}


def test_holdout_beats_the_naive_rate(report):
    check = report.holdout
    assert check.length == 39.0 and check.actual == 1882
    assert abs(check.error) < 0.15
    assert round(check.predicted) == 1653
    assert 0.50 < check.naive_error < 0.60  # the naive rate over-predicts by ~56 %
    assert check.mae < check.mae_naive


def test_report_as_dict_has_the_command_keys(report):
    out = report.as_dict()
    assert out["status"] == "ok"
    assert set(out["bgnbd"]) >= {"r", "alpha", "a", "b", "log_likelihood"}
    assert set(out["gamma_gamma"]) >= {"p", "q", "gamma"}
    assert set(out["holdout"]) >= {"predicted", "actual", "naive", "mae", "mae_naive"}
    assert set(out["pareto_nbd"]) >= {"r", "alpha", "s", "beta"}


def test_scores_per_customer_are_sane(report):
    scores = clv_scores(report.summary, report.bgnbd, report.gamma_gamma, horizon=52, discount_rate=0.01)
    assert len(scores) == 2357
    assert scores["p_alive"].between(0, 1).all()
    assert (scores["expected_purchases"] >= 0).all() and (scores["clv"] >= 0).all()
    # a customer with no repeat purchase is certainly alive in BG/NBD
    assert (scores.loc[report.summary["x"] == 0, "p_alive"] == 1).all()
    # Gamma-Gamma's expected spend sits between the population mean and the customer's own mean
    gg: GammaGamma = report.gamma_gamma
    population = gg.p_ * gg.gamma_ / (gg.q_ - 1)
    repeat = report.summary["x"] > 0
    own = report.summary.loc[repeat, "monetary_value"]
    spend = scores.loc[repeat, "expected_spend"]
    assert ((spend - own) * (spend - population) <= 1e-9).all()


def test_pareto_predictions_close_to_bgnbd(report):
    s = report.summary
    pareto: ParetoNBD = report.pareto_nbd
    total = pareto.expected_purchases(39, s["x"], s["t_x"], s["T"]).sum()
    assert abs(total - report.holdout.predicted) / report.holdout.predicted < 0.05


def test_spend_and_frequency_are_nearly_independent_as_gamma_gamma_assumes(report):
    assert round(report.gamma_gamma.result_.extra["frequency_spend_correlation"], 2) == 0.11
