"""Segment pages, the run page's segment table and the dashboard with lifetime values: total and average
expected value and churn risk per segment, read in SQL; flags from them where present (personas)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from customers.orders.models import Order
from customers.orders.value_models import CustomerValue, ValueFit
from customers.tests.factories import customer_groups_create
from segmentation.selectors.segments import segment_values
from segmentation.tests.factories import SegmentationFactory, SegmentRunFactory

FEATURES = ("age", "annual_income", "spending_score")
# per planted group (segment label): expected value, P(active), past net revenue per customer
PLAN = {0: (10.0, 0.9, 50.0), 1: (200.0, 0.8, 100.0), 2: (20.0, 0.2, 400.0), 3: None}


@pytest.fixture
def valued(db, admin_user):
    seg = SegmentationFactory(name="default", features=list(FEATURES))
    groups = customer_groups_create({0: 40, 1: 20, 2: 18, 3: 12})
    run = SegmentRunFactory(segmentation=seg, requested_by=admin_user)
    fit = ValueFit.objects.create(status="ok", customers=78)
    now = timezone.now()
    for label, members in groups.items():
        if PLAN[label] is None:
            continue  # no orders, no value
        value, p, past = PLAN[label]
        for i, c in enumerate(members):
            CustomerValue.objects.create(
                customer=c,
                fit=fit,
                p_alive=p,
                expected_purchases=1.0,
                expected_value=value,
                x=1,
                t_x=1,
                T=2,
                fitted_at=now,
            )
            Order.objects.create(
                order_id=f"O-{c.pk}", customer=c, ordered_at=now - dt.timedelta(days=i + 1), amount=past
            )
    segments = {s.label: s for s in run.segments.all()}
    return run, segments


def test_segment_values_are_aggregated_per_segment(valued):
    run, segments = valued
    values = segment_values(run_id=run.pk)
    assert set(values) == {segments[0].pk, segments[1].pk, segments[2].pk}
    one = values[segments[1].pk]
    assert one.customers == 20 and one.total_value == pytest.approx(4000.0) and one.mean_value == pytest.approx(200.0)
    assert values[segments[2].pk].churn_share == 1.0 and values[segments[0].pk].churn_share == 0.0
    assert values[segments[2].pk].past_value == pytest.approx(18 * 400.0)


def test_run_page_table_and_flags_use_the_values(valued, viewer_client):
    run, segments = valued
    resp = viewer_client.get(f"/runs/{run.pk}/")
    html = resp.content.decode()
    assert "Average expected value" in html and "Churn risk" in html
    shown = {s.label: s for s in resp.context["segments"]}
    assert "high_value" in shown[1].flags and "high_value" not in shown[0].flags
    assert "at_risk" in shown[2].flags and all("at_risk" not in shown[g].flags for g in (0, 1, 3))
    assert shown[3].value is None
    run.refresh_from_db()
    stored = {s.label: s.flags for s in run.segments.all()}
    assert stored == {label: s.flags for label, s in segments.items()}  # display only: nothing saved


def test_segment_page_shows_totals_and_churn_risk(valued, viewer_client, marketer_client, outsider_user, client):
    _run, segments = valued
    for c in (viewer_client, marketer_client):
        html = c.get(f"/segments/{segments[2].pk}/").content.decode()
        assert 'id="segment-value-total"' in html and "360" in html  # 18 x 20
        assert 'id="segment-churn"' in html and "100%" in html
        assert "At risk" in html
    html = viewer_client.get(f"/segments/{segments[3].pk}/").content.decode()
    assert 'id="segment-value-total"' not in html
    client.force_login(outsider_user)
    assert client.get(f"/segments/{segments[2].pk}/").status_code == 403


def test_dashboard_flags_use_the_values(valued, viewer_client):
    resp = viewer_client.get("/")
    segs = [s for e in resp.context["entries"] for s in e.segments]
    assert any("high_value" in s.flags and s.label == 1 for s in segs)


def test_without_values_pages_keep_todays_flags(db, admin_user, viewer_client):
    seg = SegmentationFactory(name="default", features=list(FEATURES))
    customer_groups_create({0: 40, 1: 20, 2: 18, 3: 12})
    run = SegmentRunFactory(segmentation=seg, requested_by=admin_user)
    resp = viewer_client.get(f"/runs/{run.pk}/")
    assert "Average expected value" not in resp.content.decode()
    assert {s.pk: s.flags for s in resp.context["segments"]} == {s.pk: s.flags for s in run.segments.all()}
