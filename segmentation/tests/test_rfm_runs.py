"""RFM as a segmentation kind: a run through the same path as KMeans, the playbook's RFM rules, the editor's
kind and presets, and KMeans on log-scaled R, F, M."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from customers.orders.behaviour import behaviour_columns_register, behaviour_compute
from customers.tests.orders.factories import order_file
from customers.tests.orders.test_behaviour import SHOP
from segmentation.loading import customers_frame, features_available
from segmentation.models import Method, PlaybookRule, RunStatus, Segmentation
from segmentation.services import runs
from segmentation.tests.factories import SegmentationFactory
from segmentation.tests.test_editor import form_data

pytestmark = pytest.mark.django_db

NEW = reverse("segmentation:segmentation-create")


@pytest.fixture
def behaviour() -> None:
    """300 customers with derived recency, frequency and monetary (and 20 without a purchase)."""
    behaviour_columns_register(as_of=None, now=timezone.now())
    rng = np.random.default_rng(5)
    rows = [
        Customer(
            external_id=f"B{i:04d}",
            attributes={
                "recency": int(rng.integers(0, 365)),
                "frequency": int(rng.geometric(0.35)),
                "monetary": round(float(rng.gamma(2.0, 250.0)), 2),
            },
        )
        for i in range(300)
    ]
    rows += [Customer(external_id=f"N{i:04d}") for i in range(20)]
    Customer.objects.bulk_create(rows)


def _run(seg: Segmentation):
    run = runs.run_request(segmentation=seg, requested_by=None, trigger="manual")
    runs.run_execute(run_id=run.pk, worker="test:1")
    run.refresh_from_db()
    return run


def test_the_playbook_ships_a_rule_per_rfm_group():
    rules = PlaybookRule.objects.filter(flags__0__startswith="rfm_")
    assert rules.count() == 11
    champions = PlaybookRule.objects.get(name="RFM: Champions")
    assert champions.flags == ["rfm_champions"] and "Channel:" in champions.actions and champions.rationale


def test_an_rfm_run_makes_one_segment_per_group_with_the_playbooks_strategy(behaviour):
    seg = SegmentationFactory(name="RFM", method=Method.RFM, features=["annual_income"])
    run = _run(seg)
    assert run.status == RunStatus.SUCCEEDED, run.error
    seg.refresh_from_db()
    assert seg.active_run_id == run.pk
    assert run.params["method"] == "rfm" and run.params["features"] == ["recency", "frequency", "monetary"]
    segments = list(run.segments.order_by("label"))
    assert run.chosen_k == len(segments) >= 5
    assert run.rows_used == 300 and run.excluded == {"no purchase (no recency, frequency, monetary)": 20}
    assert sum(s.size for s in segments) == 300 == run.memberships.count()
    evidence = run.evidence["rfm"]
    assert evidence["groups"] == {s.name: s.size for s in segments}
    assert len(evidence["cuts"]["recency"]) == 4
    for s in segments:
        rule = PlaybookRule.objects.get(name=f"RFM: {s.name}")
        assert s.strategy == rule.actions and s.flags == rule.flags


def test_configured_cut_points_are_used(behaviour):
    cuts = {"frequency": [1, 2, 4, 8], "recency": [30, 90, 180, 270]}
    seg = SegmentationFactory(name="RFM cuts", method=Method.RFM, rfm_cuts=cuts)
    run = _run(seg)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.evidence["rfm"]["cuts"]["frequency"] == [1.0, 2.0, 4.0, 8.0]
    assert run.evidence["rfm"]["cuts_source"] == {
        "recency": "configured",
        "frequency": "configured",
        "monetary": "quintiles",
    }


def test_an_rfm_run_without_behaviour_fails_with_the_reason():
    seg = SegmentationFactory(name="RFM none", method=Method.RFM)
    with pytest.raises(Exception, match="recency"):
        runs.run_request(segmentation=seg, requested_by=None, trigger="manual")


def test_kmeans_on_log_scaled_r_f_m_runs(behaviour):
    seg = SegmentationFactory(
        name="KMeans RFM", features=["recency", "frequency", "monetary"], transform="log", scaler="minmax"
    )
    run = _run(seg)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert "method" not in run.params and run.chosen_k >= 2


def test_the_presets_fill_the_editor(behaviour, marketer_client):
    page = marketer_client.get(NEW, {"preset": "rfm_kmeans"}).content.decode()
    for key in ("recency", "frequency", "monetary"):
        assert f'name="features" value="{key}" checked' in page
    assert '<option value="log" selected>' in page
    page = marketer_client.get(NEW, {"preset": "rfm"}).content.decode()
    assert 'value="rfm" required id="id_method_1" checked' in page or 'value="rfm" id="id_method_1" checked' in page
    listing = marketer_client.get(reverse("segmentation:segmentation-list")).content.decode()
    assert "?preset=rfm_kmeans" in listing


def test_the_editor_saves_an_rfm_segmentation_and_refuses_bad_cut_points(behaviour, marketer_client):
    response = marketer_client.post(NEW, form_data(name="Groups", method="rfm", features=None, rfm_cuts=""))
    assert response.status_code == 302
    seg = Segmentation.objects.get(name="Groups")
    assert seg.method == "rfm" and seg.features == ["recency", "frequency", "monetary"]
    response = marketer_client.post(NEW, form_data(name="Bad", method="rfm", rfm_cuts='{"frequency": [3, 1]}'))
    assert response.status_code == 422 and "expected four numbers" in response.content.decode()


def test_the_editor_refuses_rfm_before_behaviour_exists(marketer_client):
    Customer.objects.create(external_id="1", annual_income=50, spending_score=50)
    response = marketer_client.post(NEW, form_data(name="Too early", method="rfm"))
    assert response.status_code == 422 and "import order lines first" in response.content.decode()


def test_the_run_page_shows_the_cut_points_and_group_sizes(behaviour, marketer_client):
    run = _run(SegmentationFactory(name="RFM page", method=Method.RFM))
    page = marketer_client.get(reverse("segmentation:run-detail", args=[run.pk])).content.decode()
    assert "Score cut points (quintiles" in page and "rfm-evidence" in page


def test_the_engine_reads_behaviour_computed_from_orders_like_any_column(tmp_path):
    call_command("import_orders", str(order_file(tmp_path, SHOP)), stdout=io.StringIO())
    behaviour_compute()
    assert {"recency", "frequency", "monetary"} <= set(features_available())
    frame = customers_frame(features=["recency", "frequency", "monetary"])
    assert frame.loc[Customer.objects.get(external_id="100").pk].tolist() == [0.0, 3.0, 20.0]


def test_the_preview_of_an_rfm_segmentation_says_where_its_groups_show(behaviour, marketer_client):
    response = marketer_client.post(
        reverse("segmentation:segmentation-preview"), form_data(name="P", method="rfm", features=None)
    )
    assert response.status_code == 422 and "run page" in response.content.decode()
