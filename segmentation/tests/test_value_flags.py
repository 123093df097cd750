"""Stored segment flags follow lifetime values (issue 12): high value = highest average expected value,
at risk = high past value and low P(active); the playbook then picks the matching strategy, and the API's
flags agree with the pages. Applied when a run is made and after every value fit (a customers signal)."""

from __future__ import annotations

import pytest

from customers.orders.behaviour import behaviour_compute
from customers.orders.value_models import CustomerValue
from customers.orders.value_service import customer_value_fit
from customers.signals import customer_values_fitted
from customers.tests.orders.test_clv_service import _shop
from segmentation.models import Method, PlaybookRule, Segment
from segmentation.services.value_flags import active_segment_flags_apply_values, segment_flags_apply_values
from segmentation.tests.factories import SegmentationFactory, SegmentRunFactory
from segmentation.tests.test_segment_values import FEATURES, valued  # noqa: F401 (fixture)


def _stored(run) -> dict[int, list[str]]:
    return {s.label: list(s.flags) for s in Segment.objects.filter(run=run)}


def test_stored_flags_and_strategy_follow_the_values(valued, viewer_client):  # noqa: F811
    run, segments = valued
    before = _stored(run)
    changed = segment_flags_apply_values(run_id=run.pk)
    stored = _stored(run)
    assert changed >= 1  # segment 2 becomes at risk (segment 1 spends the most already)
    assert "high_value" in stored[1] and all("high_value" not in stored[g] for g in (0, 2, 3))
    assert "at_risk" in stored[2] and all("at_risk" not in stored[g] for g in (0, 1, 3))
    assert stored[3] == before[3]  # no values: the engine's flags stay
    high = Segment.objects.get(pk=segments[1].pk)
    assert high.strategy == PlaybookRule.objects.get(flags=["high_value"]).actions
    risky = Segment.objects.get(pk=segments[2].pk)
    rule = PlaybookRule.objects.filter(active=True).order_by("priority", "id")
    expected = next(r for r in rule if set(r.flags) <= set(risky.flags) and not r.conditions)
    assert risky.strategy == expected.actions
    # pages and the API say the same
    shown = {s.label: s.flags for s in viewer_client.get(f"/runs/{run.pk}/").context["segments"]}
    assert shown == stored
    api = viewer_client.get(f"/api/segments/{segments[2].pk}/")
    assert api.status_code == 200 and api.json()["flags"] == stored[2]
    assert segment_flags_apply_values(run_id=run.pk) == 0  # idempotent


def test_an_edited_strategy_is_kept_and_marked_for_review(valued):  # noqa: F811
    run, segments = valued
    Segment.objects.filter(pk=segments[2].pk).update(strategy="Our own plan", strategy_source="override")
    segment_flags_apply_values(run_id=run.pk)
    s = Segment.objects.get(pk=segments[2].pk)
    assert "at_risk" in s.flags and s.strategy == "Our own plan" and s.strategy_needs_review


def test_without_values_nothing_changes(db, admin_user):
    from customers.tests.factories import customer_groups_create

    seg = SegmentationFactory(name="default", features=list(FEATURES))
    customer_groups_create({0: 40, 1: 20, 2: 18})
    run = SegmentRunFactory(segmentation=seg, requested_by=admin_user)
    before = _stored(run)
    assert segment_flags_apply_values(run_id=run.pk) == 0 and _stored(run) == before


def test_the_signal_updates_the_active_runs(valued):  # noqa: F811
    run, _segments = valued
    customer_values_fitted.send(sender=None, fit_id=1)
    assert "high_value" in _stored(run)[1]
    assert active_segment_flags_apply_values() == 0


@pytest.mark.django_db
def test_a_value_fit_then_a_run_both_store_value_flags(tmp_path, django_capture_on_commit_callbacks):
    _shop(tmp_path)
    behaviour_compute()
    seg = SegmentationFactory(name="RFM", method=Method.RFM, features=["annual_income"])
    run = SegmentRunFactory(segmentation=seg)
    assert not any("high_value" in f for f in _stored(run).values())  # no values yet
    with django_capture_on_commit_callbacks(execute=True):
        fit = customer_value_fit()
    assert fit.status in ("ok", "boundary") and CustomerValue.objects.exists()
    stored = _stored(run)
    assert sum("high_value" in f for f in stored.values()) >= 1
    assert all(any(f.startswith("rfm_") for f in flags) for flags in stored.values())  # group flags kept
    # a new run is made with the value flags from the start
    again = SegmentRunFactory(segmentation=seg)
    assert sorted(map(sorted, _stored(again).values())) == sorted(map(sorted, stored.values()))
