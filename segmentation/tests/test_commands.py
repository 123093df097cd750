"""The `segment` and `export_segments` commands, in-process (--inline)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command

from customers.models import Customer
from customers.tests.factories import customer_blobs_create, customers_import_file
from segmentation.models import Membership, RunStatus, Segmentation, SegmentRun
from segmentation.services import config

pytestmark = pytest.mark.django_db

MALL_ARGS = ["--features", "annual_income,spending_score", "--k", "auto", "--inline", "--json"]


def _segment(*args: str) -> dict:
    out = io.StringIO()
    call_command("segment", *args, stdout=out)
    return json.loads(out.getvalue())


def _by_size(summary: dict) -> dict[int, dict]:
    return {s["size"]: s for s in summary["segments"]}


@pytest.mark.datasets
def test_segment_json_on_mall_picks_five_segments(mall_csv):
    customers_import_file(mall_csv)
    summary = _segment(*MALL_ARGS)
    assert summary["status"] == "succeeded"
    assert summary["k"] == 5
    assert sorted((s["size"] for s in summary["segments"]), reverse=True) == [81, 39, 35, 23, 22]
    assert summary["rows_used"] == 200 and summary["rows_dropped"] == 0
    assert summary["reason"]
    assert {e["k"] for e in summary["evidence"]} == set(range(2, 11))
    assert {"inertia", "silhouette", "calinski_harabasz", "davies_bouldin", "stability"} <= set(summary["evidence"][0])
    sizes = _by_size(summary)
    high = sizes[39]
    assert high["centroid"]["annual_income"] == pytest.approx(86.5, abs=0.6)
    assert high["centroid"]["spending_score"] == pytest.approx(82.1, abs=0.6)
    assert "high_value" in high["flags"]
    assert "high income" in high["name"].lower() and "high spending" in high["name"].lower()
    upsell = sizes[35]
    assert upsell["centroid"]["annual_income"] == pytest.approx(88.2, abs=0.6)
    assert upsell["centroid"]["spending_score"] == pytest.approx(17.1, abs=0.6)
    assert "upsell" in upsell["flags"]
    assert all(s["strategy"] and s["id"] and s["name"] for s in summary["segments"])
    seg = Segmentation.objects.get(name=config.DEFAULT_SEGMENTATION_NAME)
    assert seg.active_run_id == summary["run"]
    assert Membership.objects.filter(run_id=summary["run"]).count() == 200


@pytest.mark.datasets
def test_export_segments_writes_the_active_run(mall_csv, tmp_path):
    customers_import_file(mall_csv)
    summary = _segment(*MALL_ARGS)
    target = tmp_path / "segments.csv"
    call_command("export_segments", "--output", str(target), stderr=io.StringIO())
    rows = list(csv.reader(target.open(newline="")))
    assert rows[0] == ["external_id", "segment_label", "segment_name", "distance"]
    assert len(rows) == 201
    assert rows[1][0] == "0001"  # zero padding kept
    names = {s["label"]: s["name"] for s in summary["segments"]}
    for _external_id, label, name, distance in rows[1:]:
        assert names[int(label)] == name
        assert float(distance) >= 0
    out = io.StringIO()
    call_command("export_segments", "--run", str(summary["run"]), stdout=out)
    assert out.getvalue().splitlines()[1:] == [",".join(r) for r in rows[1:]]


def test_export_neutralises_formulas(tmp_path):
    customer_blobs_create(60)
    Customer.objects.filter(external_id="C00000").update(external_id="=HYPERLINK(1)")
    _segment("--k", "3", "--inline", "--json")
    out = io.StringIO()
    call_command("export_segments", stdout=out)
    assert "\n'=HYPERLINK(1)," in out.getvalue()


def test_export_without_active_run_or_bad_run_is_a_clear_error():
    with pytest.raises(CommandError, match="has no active run yet"):
        call_command("export_segments")
    with pytest.raises(CommandError, match="no run with id 42"):
        call_command("export_segments", "--run", "42")


def test_command_line_options_override_for_this_run_only():
    customer_blobs_create(90)
    summary = _segment("--k", "4", "--scaler", "standard", "--seed", "7", "--inline", "--json")
    assert summary["k"] == 4
    assert summary["params"]["scaler"] == "standard" and summary["params"]["random_state"] == 7
    seg = Segmentation.objects.get(name=config.DEFAULT_SEGMENTATION_NAME)
    assert (seg.k, seg.scaler, seg.random_state) == (None, "minmax", 42)


def test_a_feature_may_have_its_own_scaler_for_this_run():
    customer_blobs_create(90)
    summary = _segment("--k", "3", "--scaler-for", "annual_income=robust", "--inline", "--json")
    assert summary["params"]["scaler"] == "minmax"
    assert summary["params"]["scalers"] == {"annual_income": "robust"}
    assert Segmentation.objects.get(name=config.DEFAULT_SEGMENTATION_NAME).scalers == {}


def test_named_segmentation_and_human_output():
    customer_blobs_create(90)
    Segmentation.objects.create(name="Spenders", k=3)
    out = io.StringIO()
    call_command("segment", "--segmentation", "Spenders", "--inline", stdout=out)
    text = out.getvalue()
    assert "succeeded, k = 3" in text and "customers" in text
    with pytest.raises(CommandError, match="no segmentation named 'Nope'; existing are Spenders"):
        call_command("segment", "--segmentation", "Nope", "--inline")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--features", "annual_income,shoe_size"], r"features: 'shoe_size' is not a customer field"),
        (["--k", "many"], r"--k: expected auto or a whole number; got 'many'"),
        (["--k-min", "6", "--k-max", "3"], r"k_max: allowed is k_min \(6\) to 100; got 3"),
        (["--scaler-for", "annual_income"], r"--scaler-for: expected FEATURE=SCALER .*; got 'annual_income'"),
        (
            ["--scaler-for", "annual_income=zscore"],
            r"scalers: allowed are minmax, .*; got 'zscore' for 'annual_income'",
        ),
    ],
)
def test_bad_options_are_clear_errors(args, message):
    customer_blobs_create(30)
    with pytest.raises(CommandError, match=message):
        call_command("segment", *args, "--inline")
    assert not SegmentRun.objects.exists()
    assert Customer.objects.count() == 30


def test_failed_run_prints_json_and_exits_non_zero():
    customer_blobs_create(60)
    first = _segment("--k", "3", "--inline", "--json")
    Customer.objects.update(spending_score=50)
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"run #\d+ failed: .*spending_score"):
        call_command("segment", "--inline", "--json", stdout=out)
    summary = json.loads(out.getvalue())
    assert summary["status"] == "failed" and "spending_score" in summary["reason"]
    seg = Segmentation.objects.get(name=config.DEFAULT_SEGMENTATION_NAME)
    assert seg.active_run_id == first["run"]
    assert Membership.objects.filter(run_id=first["run"]).count() == 60


def test_too_few_customers_is_a_clear_error():
    customer_blobs_create(2)
    with pytest.raises(CommandError, match="too few customers"):
        call_command("segment", "--inline", stdout=io.StringIO())
    assert SegmentRun.objects.get().status == RunStatus.FAILED


def test_without_worker_the_wait_times_out_with_advice(django_capture_on_commit_callbacks):
    customer_blobs_create(30)
    with (
        django_capture_on_commit_callbacks(execute=False),
        pytest.raises(CommandError, match=r"still queued after 0.5 s: no worker picked it up"),
    ):
        call_command("segment", "--timeout", "0.5", stdout=io.StringIO())
    assert SegmentRun.objects.get().status == RunStatus.QUEUED


def test_segment_if_no_active_leaves_existing_segments_alone():
    customer_blobs_create(120)
    first = _segment("--inline", "--json", "--k", "3")
    out = io.StringIO()
    call_command("segment", "--inline", "--if-no-active", stdout=out)
    assert "already has active segments" in out.getvalue()
    assert SegmentRun.objects.count() == 1
    assert Segmentation.objects.get().active_run_id == first["run"]
