"""The dashboard's cards come from the shared cache (PostgreSQL), and never outlive what they show: a run queued,
failed or activated, a segment or segmentation renamed (even by a plain UPDATE, no signal), a requester renamed,
customers added — the next request shows it."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.tests.factories import customer_groups_create
from segmentation.models import RunStatus, Segment, Segmentation, SegmentRun
from segmentation.selectors import dashboard as dashboard_selectors
from segmentation.tests.factories import SegmentationFactory, SegmentRunFactory

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="cached on PostgreSQL only")


@pytest.fixture
def seeded(db, admin_user):
    seg = SegmentationFactory(name="default", features=["age", "annual_income", "spending_score"])
    customer_groups_create({0: 40, 1: 20, 2: 18, 3: 12})
    run = SegmentRunFactory(segmentation=seg, requested_by=admin_user)
    return seg, run


@pytest.fixture
def builds(monkeypatch):
    """How many times the cards were built (not taken from the cache)."""
    calls = []
    real = dashboard_selectors.dashboard_entries
    monkeypatch.setattr(dashboard_selectors, "dashboard_entries", lambda: calls.append(1) or real())
    return calls


def _page(client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())  # masked per request


@postgres_only
def test_built_once_then_served_from_the_cache(seeded, marketer_client, viewer_client, builds):
    first = _page(marketer_client)
    assert _page(marketer_client) == first
    assert "Re-segment now" not in _page(viewer_client)  # the cards are shared; what a user may do is not
    assert len(builds) == 1


def test_every_change_shows_on_the_next_request(seeded, marketer_client, admin_user, builds):
    seg, run = seeded
    assert f"run #{run.pk}" in _page(marketer_client)

    Segment.objects.filter(run=run, label=0).update(name="Renamed by a plain update")
    assert "Renamed by a plain update" in _page(marketer_client)

    Segmentation.objects.filter(pk=seg.pk).update(name="Renamed segmentation")
    assert "Renamed segmentation" in _page(marketer_client)

    type(admin_user).objects.filter(pk=admin_user.pk).update(username="alice-renamed")
    assert "by alice-renamed" in _page(marketer_client)

    queued = SegmentRun.objects.create(segmentation=seg, version=99, status=RunStatus.QUEUED, params={})
    assert f"Re-segmentation in progress</strong> (run #{queued.pk})" in _page(marketer_client)
    SegmentRun.objects.filter(pk=queued.pk).update(progress=40, status=RunStatus.RUNNING, started_at=timezone.now())
    assert 'value="40"' in _page(marketer_client)
    SegmentRun.objects.filter(pk=queued.pk).update(status=RunStatus.FAILED, error="the disk was full")
    page = _page(marketer_client)
    assert "The last run failed: the disk was full" in page and "Re-segmentation in progress" not in page

    customer_groups_create({0: 5}, prefix="NEW", seed=3)
    assert "5 customers arrived since this run was computed" in _page(marketer_client)

    newer = SegmentRunFactory(segmentation=seg, requested_by=admin_user)
    page = _page(marketer_client)
    assert f"run #{newer.pk}" in page and "The last run failed" not in page
    if connection.vendor == "postgresql":
        assert len(builds) == 9  # one per change: each was a cache miss, nothing else was


def test_segments_api_page_is_fresh_after_every_change(seeded, marketer_user, admin_user):
    from rest_framework.test import APIClient

    seg, run = seeded
    api = APIClient()
    api.force_authenticate(marketer_user)

    def names() -> list[str]:
        response = api.get("/api/segments/")
        assert response.status_code == 200
        return [s["name"] for s in response.json()["results"]]

    first = names()
    with CaptureQueriesContext(connection) as again:
        assert names() == first
    if connection.vendor == "postgresql":
        assert not any('segmentation_segment"."id' in q["sql"] for q in again.captured_queries)  # from the cache
    Segment.objects.filter(run=run, label=0).update(name="Renamed for the API")
    assert "Renamed for the API" in names()
    newer = SegmentRunFactory(segmentation=seg, requested_by=admin_user, k=2)
    assert len(names()) == 2 and newer.segments.count() == 2
    api.force_authenticate(None)
    assert api.get("/api/segments/").status_code in (401, 403)  # the cache never answers before authentication
