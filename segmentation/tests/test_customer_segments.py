"""Segments on the customer pages, shown through the `customer_segments` template tags."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from customers.models import Customer
from segmentation.models import Membership, RunStatus, Segment, Segmentation, SegmentRun
from segmentation.templatetags.customer_segments import active_segments, customer_memberships

pytestmark = pytest.mark.django_db


@pytest.fixture
def known(db):
    Customer.objects.bulk_create(
        Customer(external_id=e, gender=g, age=a, annual_income=i, spending_score=s)
        for e, g, a, i, s in (
            ("C001", "female", 25, 15.0, 39.0),
            ("C002", "male", 35, 16.0, 81.0),
            ("C004", "unknown", None, 20.0, 77.0),
        )
    )
    return {c.external_id: c for c in Customer.objects.all()}


def _segmented(known):
    seg = Segmentation.objects.create(name="Mall")
    run = SegmentRun.objects.create(
        segmentation=seg, version=1, status=RunStatus.SUCCEEDED, chosen_k=2, finished_at=timezone.now()
    )
    careful = Segment.objects.create(run=run, label=0, name="Careful spenders", size=1, share=0.5, color="#2563eb")
    big = Segment.objects.create(run=run, label=1, name="Big spenders", size=1, share=0.5, color="#d9467a")
    Membership.objects.create(run=run, customer=known["C001"], segment=careful, distance=0.1)
    Membership.objects.create(run=run, customer=known["C002"], segment=big, distance=0.2)
    seg.active_run = run
    seg.save()
    return run, (careful, big)


def segment_column(html: str) -> dict[str, str | None]:
    """{customer id: the text of its Segment cell (None for "—")} of the list page's table."""
    out: dict[str, str | None] = {}
    for row in re.findall(r"<tr>\s*<td><a href=\"[^\"]+\">([^<]+)</a></td>(.*?)</tr>", html, flags=re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row[1], flags=re.S)
        segment = re.sub(r"<[^>]+>", "", cells[-1]).strip()
        out[row[0]] = None if segment == "—" else segment
    return out


def test_list_shows_segment_of_active_run(known, viewer_client):
    run, segments = _segmented(known)
    response = viewer_client.get("/customers/")
    page = response.context["customers"]
    segmented = active_segments(page)
    assert segmented.shown
    by_id = {c.external_id: s for c, s in segmented.rows}
    assert by_id["C001"].name == "Careful spenders"
    assert by_id["C002"].name == "Big spenders"
    assert by_id["C004"] is None
    html = response.content.decode()
    assert '<th scope="col">Segment</th>' in html
    assert segment_column(html) == {"C001": "Careful spenders", "C002": "Big spenders", "C004": None}


def test_list_segments_in_three_queries_for_a_whole_page(known, django_assert_max_num_queries):
    _segmented(known)
    Customer.objects.bulk_create(Customer(external_id=f"P{i:03d}") for i in range(50))
    customers = list(Customer.objects.all())
    with django_assert_max_num_queries(3):  # the active run, its segments, then the page's memberships
        segmented = active_segments(customers)
    assert len(segmented.rows) == 53


def test_list_without_segments_has_no_segment_column(known, viewer_client):
    response = viewer_client.get("/customers/")
    assert not active_segments(response.context["customers"]).shown
    assert b'<th scope="col">Segment</th>' not in response.content


def test_detail_lists_memberships_in_recent_runs(known, viewer_client):
    run, segments = _segmented(known)
    response = viewer_client.get("/customers/id/C002/")
    memberships = customer_memberships(known["C002"])
    assert [m.segment.name for m in memberships] == ["Big spenders"]
    html = response.content.decode()
    assert 'id="memberships"' in html and "Mall" in html and "active" in html
    assert "Big spenders" in html and "Careful spenders" not in html


def test_detail_without_memberships(known, viewer_client):
    assert customer_memberships(known["C004"]) == []
    assert 'id="no-segments"' in viewer_client.get("/customers/id/C004/").content.decode()
