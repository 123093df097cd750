"""/runs/: every run across segmentations, newest first, paginated, filtered by segmentation and status."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from segmentation.models import RunStatus, Segmentation, SegmentRun
from segmentation.views.runs import RUNS_PER_PAGE

pytestmark = pytest.mark.django_db


def _run(seg: Segmentation, status: str, *, minutes_ago: int, **fields) -> SegmentRun:
    run = SegmentRun.objects.create(segmentation=seg, version=1, status=status, **fields)
    SegmentRun.objects.filter(pk=run.pk).update(queued_at=timezone.now() - timedelta(minutes=minutes_ago))
    return run


@pytest.fixture
def runs(admin_user):
    demo = Segmentation.objects.create(name="Demographic")
    behaviour = Segmentation.objects.create(name="Behaviour")
    now = timezone.now()
    return {
        "old": _run(demo, RunStatus.SUCCEEDED, minutes_ago=30, chosen_k=5, rows_used=2000, requested_by=admin_user,
                    started_at=now - timedelta(minutes=30), finished_at=now - timedelta(minutes=27, seconds=55)),
        "failed": _run(behaviour, RunStatus.FAILED, minutes_ago=20, error="income: no such column"),
        "new": _run(behaviour, RunStatus.QUEUED, minutes_ago=1),
    }  # fmt: skip


def _ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<a href="/runs/(\d+)/">Run #\d+</a>', html)]


def test_lists_all_runs_newest_first_with_status_k_who_and_duration(viewer_client, runs):
    html = viewer_client.get("/runs/").content.decode()
    assert _ids(html) == [runs["new"].pk, runs["failed"].pk, runs["old"].pk]
    assert "Demographic" in html and "Behaviour" in html
    assert "Succeeded" in html and "Failed" in html and "Queued" in html
    assert "income: no such column" in html
    assert "alice-admin" in html and "the system" in html
    assert "2 min 5 s" in html and "2,000" in html
    assert "3 runs." in html


def test_filters_by_segmentation_and_status(viewer_client, runs):
    behaviour = runs["failed"].segmentation_id
    assert _ids(viewer_client.get(f"/runs/?segmentation={behaviour}").content.decode()) == [
        runs["new"].pk,
        runs["failed"].pk,
    ]
    html = viewer_client.get(f"/runs/?segmentation={behaviour}&status=failed").content.decode()
    assert _ids(html) == [runs["failed"].pk]
    assert "1 run matches the filter." in html


def test_a_bad_filter_value_is_named_and_lists_nothing(viewer_client, runs):
    response = viewer_client.get("/runs/?status=exploded")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Select a valid choice. exploded is not one of the available choices." in html
    assert _ids(html) == []


def test_paginates(viewer_client, runs):
    seg = runs["old"].segmentation
    older = [_run(seg, RunStatus.SUPERSEDED, minutes_ago=100 + i) for i in range(RUNS_PER_PAGE)]
    first = viewer_client.get("/runs/").content.decode()
    assert len(_ids(first)) == RUNS_PER_PAGE and "Page 1 of 2" in first
    second = viewer_client.get("/runs/?page=2").content.decode()
    assert _ids(second) == [r.pk for r in older[-3:]]  # the three oldest
    assert "Page 2 of 2" in second
    filtered = viewer_client.get(f"/runs/?segmentation={seg.pk}&page=2").content.decode()  # 51 runs
    assert _ids(filtered) == [older[-1].pk] and "Page 2 of 2" in filtered
    assert f'href="?segmentation={seg.pk}&amp;page=1"' in filtered  # the pages keep the filter


def test_nav_links_to_runs_for_every_role_and_marks_it_current(viewer_client, marketer_client, runs):
    for client in (viewer_client, marketer_client):
        html = client.get("/runs/").content.decode()
        assert '<a href="/runs/" aria-current="page">Runs</a>' in html
        assert 'href="/activity/"' not in html  # Activity is for Admins only
        assert 'href="/api/docs/"' in html


def test_who_may_not_see_it(anon_client, outsider_user, client, runs):
    response = anon_client.get("/runs/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    client.force_login(outsider_user)
    assert client.get("/runs/").status_code == 403
