"""The lifetime-value page: who may see it and who may fit, the latest fit's status in words, parameters,
windows, holdout beside the naive rate, the charts' data, history, and "Fit now" queued for the worker."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from core import queueing
from customers import charts
from customers.orders.value_models import ValueFit
from customers.orders.value_selectors import value_distribution, value_fit_latest, value_fit_pending
from customers.orders.value_service import value_fit_request, value_fit_run
from customers.orders.value_views import suggested_windows
from customers.tests.orders.test_clv_service import _shop

pytestmark = pytest.mark.django_db
PAGE = "customers:value"


@pytest.fixture
def shop(tmp_path):
    _shop(tmp_path, customers=120)


@pytest.fixture
def calm_broker(monkeypatch):
    sent = []
    monkeypatch.setattr(queueing.current_app, "send_task", lambda name, **kw: sent.append((name, kw)))
    return sent


def test_who_may_see_the_page_and_the_fit_button(viewer_client, marketer_client, admin_client, anon_client):
    assert anon_client.get(reverse(PAGE)).status_code == 302  # to the login
    for client in (viewer_client, marketer_client):
        page = client.get(reverse(PAGE))
        assert page.status_code == 200
        html = page.content.decode()
        assert "Lifetime value</a>" in html and 'id="value-fit-form"' not in html
    html = admin_client.get(reverse(PAGE)).content.decode()
    assert 'id="value-fit-form"' in html and 'id="value-none"' in html
    for client in (viewer_client, marketer_client):
        assert client.post(reverse("customers:value-fit")).status_code == 403
    assert anon_client.get(reverse("customers:value-status")).status_code == 302


def test_outsider_without_a_role_may_not_see_it(outsider_user, client):
    client.force_login(outsider_user)
    assert client.get(reverse(PAGE)).status_code == 403
    assert "Lifetime value</a>" not in client.get(reverse("customers:list")).content.decode()


def test_page_shows_an_ok_fit_with_its_validation_and_charts(shop, viewer_client):
    call_command("clv", "--calibration-end", "2024-09-30", "--holdout-end", "2024-12-30", "--no-pareto", "--json")
    fit = value_fit_latest()
    resp = viewer_client.get(reverse(PAGE))
    html = resp.content.decode()
    assert f"Latest fit #{fit.pk}" in html
    assert f'data-status="{fit.status}"' in html
    assert "to 2024-09-30" in html and "after 2024-09-30 to 2024-12-30" in html
    params = resp.context["parameters"]
    assert [p["model"] for p in params][:2] == ["BG/NBD purchases", "BG/NBD dropout"]
    assert any(p["model"] == "Gamma-Gamma spend" for p in params)
    rows = resp.context["holdout_rows"]
    assert [r["what"] for r in rows] == ["Actual", "Model", "Naive rate (more of the same)"]
    assert rows[0]["total"] == fit.holdout["actual"] and rows[1]["mae"] == fit.holdout["mae"]
    assert charts.VALUE_HOLDOUT_DIV_ID in html and charts.VALUE_P_ALIVE_DIV_ID in html
    groups = fit.holdout["by_frequency"]
    assert sum(g["customers"] for g in groups) == fit.holdout["n_customers"]
    assert abs(sum(g["actual"] * g["customers"] for g in groups) - fit.holdout["actual"]) < 1e-3
    assert 'id="value-history"' in html


def test_a_boundary_fit_says_what_it_means_for_a_marketer(tmp_path, viewer_client):
    _shop(tmp_path, customers=80, dropout=False)
    call_command("clv", "--no-pareto", "--json")
    html = viewer_client.get(reverse(PAGE)).content.decode()
    assert 'data-status="boundary"' in html and "no measurable dropout" in html
    assert "use recency" in html and "Fallback used for the predictions: <strong>NBD</strong>" in html
    assert "NBD fallback (no dropout)" in html
    assert 'id="value-no-holdout"' in html


def test_distribution_is_aggregated_in_sql(shop):
    call_command("clv", "--no-pareto", "--json")
    dist = value_distribution()
    assert dist.customers == 120 == sum(dist.p_alive_counts)
    assert sum(dist.value_counts) == 120 and len(dist.value_edges) == len(dist.value_counts) + 1
    assert dist.at_risk == sum(dist.p_alive_counts[:10])
    fig = charts.binned_figure(title="t", axis_title="a", edges=dist.value_edges, counts=dist.value_counts)
    assert list(fig.data[0].y) == dist.value_counts


def test_holdout_figure_has_actual_model_and_naive():
    groups = [{"x": "0", "customers": 5, "actual": 0.2, "predicted": 0.3, "naive": 0.0}]
    fig = charts.holdout_frequency_figure(groups=groups)
    assert [t.name for t in fig.data] == ["Actual", "BG/NBD", "Naive rate"]
    assert list(fig.data[1].y) == [0.3] and list(fig.data[0].x) == ["0"]


def test_fit_now_queues_a_row_sends_the_task_by_name_and_the_worker_runs_it(
    shop, admin_client, admin_user, calm_broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        resp = admin_client.post(
            reverse("customers:value-fit"),
            {"calibration_end": "2024-09-30", "holdout_end": "2024-12-30", "horizon_weeks": "26"},
        )
    assert resp.status_code == 302
    fit = value_fit_pending()
    assert fit.status == "queued" and fit.created_by == admin_user and fit.horizon_weeks == 26
    assert calm_broker == [("customers.fit_customer_values", {"args": None, "kwargs": {"fit_id": fit.pk}})]
    html = admin_client.get(reverse(PAGE)).content.decode()
    assert 'id="value-fit-progress"' in html and "run-status.js" in html
    status = json.loads(admin_client.get(reverse("customers:value-status")).content)
    assert status["pending"] and status["status"] == "queued"
    # a second click while it is pending queues nothing new
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("customers:value-fit"), {"horizon_weeks": "52"})
    assert ValueFit.objects.count() == 1 and len(calm_broker) == 1

    from customers.tasks import fit_customer_values

    assert fit_customer_values.apply(kwargs={"fit_id": fit.pk}).get() in ("ok", "boundary")
    assert value_fit_run(fit_id=fit.pk) == "skipped"  # a redelivered message is a no-op
    fit.refresh_from_db()
    assert fit.is_done and fit.progress == 100 and fit.holdout["by_frequency"] and fit.customers == 120
    status = json.loads(admin_client.get(reverse("customers:value-status")).content)
    assert status == {"pending": False, "done": True, "status": "succeeded", "fit": fit.pk}


def test_fit_now_refuses_a_holdout_before_the_calibration(admin_client, calm_broker):
    resp = admin_client.post(
        reverse("customers:value-fit"),
        {"calibration_end": "2024-09-30", "holdout_end": "2024-01-01", "horizon_weeks": "52"},
        follow=True,
    )
    assert "Not fitted: holdout_end: Must be after the calibration end 2024-09-30; got 2024-01-01." in (
        resp.content.decode()
    )
    assert not ValueFit.objects.exists()


def test_an_unreachable_broker_fails_the_fit_with_the_reason(
    admin_user, monkeypatch, django_capture_on_commit_callbacks
):
    def down(*args, **kwargs):
        raise OSError("connection refused")

    monkeypatch.setattr(queueing.current_app, "send_task", down)
    with django_capture_on_commit_callbacks(execute=True):
        fit = value_fit_request(actor=admin_user)
    fit.refresh_from_db()
    assert fit.status == "failed" and "broker is unreachable (connection refused)" in fit.reason


def test_no_orders_fails_gently_through_the_worker(admin_user, calm_broker):
    fit = value_fit_request(actor=admin_user)
    assert value_fit_run(fit_id=fit.pk) == "failed"
    fit.refresh_from_db()
    assert fit.reason.startswith("No orders") and fit.is_done


def test_suggested_windows_hold_out_the_last_quarter():
    import datetime as dt

    got = suggested_windows(dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    assert got["holdout_end"] == dt.date(2024, 12, 31) and got["calibration_end"] == dt.date(2024, 10, 1)
    assert "calibration_end" not in suggested_windows(None, None)


def test_a_fit_lost_by_its_worker_does_not_block_fit_now(admin_user, calm_broker, settings):
    import datetime as dt

    from django.utils import timezone

    lost = ValueFit.objects.create(status="running", stage="fitting the models")
    ValueFit.objects.filter(pk=lost.pk).update(
        created_at=timezone.now() - dt.timedelta(seconds=settings.SEGMENTA_RUN_STUCK_AFTER + 5)
    )
    assert value_fit_pending() is None
    fresh = value_fit_request(actor=admin_user)
    lost.refresh_from_db()
    assert fresh.pk != lost.pk and fresh.status == "queued"
    assert lost.status == "failed" and "worker was lost" in lost.reason
