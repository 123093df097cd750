"""Transforms, the minimum share and outliers through the product: the command, its JSON, the run page, admin."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from customers.models import Customer
from customers.tests.factories import customer_blobs_create
from segmentation.models import Membership, Segmentation, SegmentRun
from segmentation.services import config

pytestmark = pytest.mark.django_db


def _segment(*args: str) -> dict:
    out = io.StringIO()
    call_command("segment", *args, "--inline", "--json", stdout=out)
    return json.loads(out.getvalue())


def _with_extreme_income() -> Customer:
    customer_blobs_create(90)
    extreme = Customer.objects.get(external_id="C00000")
    extreme.annual_income = 666_666
    extreme.save(update_fields=["annual_income"])
    return extreme


def test_json_has_transforms_and_outliers_and_the_extreme_customer_is_in_no_segment():
    extreme = _with_extreme_income()
    summary = _segment("--k", "3")
    assert summary["k"] == 3
    assert summary["outliers"] == 1
    assert summary["transforms"]["annual_income"]["transform"] == "none"
    assert summary["transforms"]["annual_income"]["reason"].startswith("auto: skewness")
    assert set(summary["transforms"]) == {"annual_income", "spending_score"}
    run = SegmentRun.objects.get(pk=summary["run"])
    assert (run.rows_used, run.rows_dropped, run.excluded) == (90, 0, {})  # fitted on 89, 90 members
    # after the fit it is placed in its nearest segment like a late arrival: still in the audiences
    placed = Membership.objects.get(run=run, customer=extreme)
    assert placed.fitted is False and placed.segment.profile["annual_income"]["max"] < 666_666
    assert sum(s["size"] for s in summary["segments"]) == 90 == Membership.objects.filter(run=run).count()
    for field in ("run", "status", "k", "reason", "evidence", "preferred", "quality", "segments", "params"):
        assert field in summary


def test_options_transform_scaler_and_min_share_are_frozen_for_this_run_only():
    _with_extreme_income()
    summary = _segment("--transform", "log", "--scaler", "shared", "--min-share", "0.05")
    assert summary["params"]["transform"] == "log"
    assert summary["params"]["scaler"] == "shared"
    assert summary["params"]["min_share"] == 0.05
    assert {t["transform"] for t in summary["transforms"].values()} == {"log1p"}
    seg = Segmentation.objects.get(name=config.DEFAULT_SEGMENTATION_NAME)
    assert (seg.transform, seg.scaler, seg.min_share) == ("auto", "minmax", 0.02)


def test_bad_min_share_is_a_clear_error():
    customer_blobs_create(30)
    with pytest.raises(CommandError, match=r"min_share: allowed is a fraction from 0 to 0.2 .*; got 0.5"):
        call_command("segment", "--min-share", "0.5", "--inline")


def test_run_page_shows_transforms_and_lists_outliers_with_their_values(admin_client):
    _with_extreme_income()
    summary = _segment("--k", "3")
    html = admin_client.get(reverse("segmentation:run-detail", args=[summary["run"]])).content.decode()
    assert "Before min–max scaling" in html and "Annual income</strong>: as imported" in html
    assert "Outliers (1)" in html
    assert reverse("customers:detail", args=["C00000"]) in html
    assert "666,666" in html or "666666" in html
    assert "Placed in" in html


def test_run_page_without_outliers_has_no_outlier_section(admin_client):
    customer_blobs_create(90)
    summary = _segment("--k", "3")
    assert summary["outliers"] == 0
    html = admin_client.get(reverse("segmentation:run-detail", args=[summary["run"]])).content.decode()
    assert "Outliers (" not in html


def test_admin_offers_the_shape_options(admin_client):
    html = admin_client.get(reverse("admin:segmentation_segmentation_add")).content.decode()
    for name in ("transform", "transforms", "min_share", "outliers"):
        assert f'name="{name}"' in html
    assert 'value="shared"' in html and 'value="none"' in html


def test_human_output_names_the_log_features_and_the_outliers():
    _with_extreme_income()
    out = io.StringIO()
    call_command("segment", "--k", "3", "--transform", "log", "--inline", stdout=out)
    text = out.getvalue()
    assert "log1p before scaling: annual_income, spending_score" in text
    assert "outliers set apart from the fit, then placed in their nearest segment: 1" in text
