"""CDNOW's done-when: imported through `import_orders` unchanged, `clv --json` gives the reference fits.

Reference: Fader, Hardie & Lee (2005) on the 2,357-customer 1/10 sample, calibration to 1997-09-30
(39 weeks; every first purchase is in Q1 1997), holdout to 1998-06-30.
"""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from customers.models import Customer
from customers.orders.value_models import CustomerValue, ValueFit

pytestmark = [pytest.mark.django_db, pytest.mark.datasets, pytest.mark.slow]


@pytest.fixture
def cdnow(datasets, capsys):
    path = datasets / "cdnow" / "CDNOW_sample.txt"
    if not path.is_file():
        pytest.skip(f"{path.name} not found in the shared datasets")
    call_command("import_orders", str(path), "--columns", "customer_id,-,date,quantity,amount", "--json")
    capsys.readouterr()
    return path


def test_cdnow_reference_fits_holdout_and_stored_values(cdnow, capsys, viewer_client):
    call_command("clv", "--calibration-end", "1997-09-30", "--holdout-end", "1998-06-30", "--json")
    out = json.loads(capsys.readouterr().out)

    assert out["status"] == "ok"
    bg = out["bgnbd"]
    assert (round(bg["r"], 3), round(bg["alpha"], 3), round(bg["a"], 3), round(bg["b"], 3)) == (
        0.243,
        4.414,
        0.793,
        2.426,
    )
    assert bg["log_likelihood"] == pytest.approx(-9582.4, abs=0.05)
    gg = out["gamma_gamma"]
    assert (round(gg["p"], 3), round(gg["q"], 3), round(gg["gamma"], 3)) == (6.250, 3.744, 15.444)
    assert gg["n_customers"] == 946
    pn = out["pareto_nbd"]
    assert (round(pn["r"], 3), round(pn["alpha"], 3), round(pn["s"], 3), round(pn["beta"], 3)) == (
        0.553,
        10.578,
        0.606,
        11.669,
    )
    holdout = out["holdout"]
    assert holdout["actual"] == 1882
    assert abs(holdout["predicted"] - holdout["actual"]) / holdout["actual"] < 0.15
    assert abs(holdout["naive"] - holdout["actual"]) / holdout["actual"] > 0.5  # the naive rate is far off

    assert out["stored"] == CustomerValue.objects.count() == Customer.objects.count() == 2357
    fit = ValueFit.objects.get()
    assert fit.holdout["predicted"] == holdout["predicted"]
    assert str(fit.calibration_end) == "1997-09-30" and str(fit.holdout_end) == "1998-06-30"

    best = CustomerValue.objects.select_related("customer").order_by("-expected_value").first()
    assert 0 <= best.p_alive <= 1 and best.expected_value > 0
    page = viewer_client.get(reverse("customers:detail", args=[best.customer.external_id])).content.decode()
    assert "P(active)" in page
    assert f"{best.expected_value:.2f}" in page

    # the lifetime-value page: the fit is ok, CDNOW's published parameters, the holdout beside the naive rate
    html = viewer_client.get(reverse("customers:value")).content.decode()
    assert 'data-status="ok"' in html and "The models fit" in html
    assert "r = 0.243, α = 4.414" in html and "a = 0.793, b = 2.426" in html
    assert "1,882" in html and "1,653" in html
    assert out["dropout_test"]["p_value"] < 1e-6  # dropout clearly supported: not a boundary
