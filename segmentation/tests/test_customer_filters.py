"""The customers list's Segment filter, registered by segmentation (customers never imports segmentation)."""

from __future__ import annotations

import pytest
from django.http import QueryDict
from django.utils import timezone

from customers import filters as list_filters
from customers.models import Customer
from customers.selectors import customers as selectors
from segmentation.models import Membership, RunStatus, Segment, Segmentation, SegmentRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_segmentations(db):
    customers = Customer.objects.bulk_create(
        Customer(external_id=str(i), gender="female", age=20 + i, annual_income=10.0 * i, spending_score=1.0 + i)
        for i in range(6)
    )

    def segmentation(name: str, groups: list[list[int]], *, active: bool = True) -> list[Segment]:
        seg = Segmentation.objects.create(name=name)
        run = SegmentRun.objects.create(
            segmentation=seg, version=1, status=RunStatus.SUCCEEDED, chosen_k=len(groups), finished_at=timezone.now()
        )
        segments = []
        for label, members in enumerate(groups):
            segment = Segment.objects.create(
                run=run, label=label, name=f"{name} {label}", size=len(members), share=len(members) / 6
            )
            Membership.objects.bulk_create(
                Membership(run=run, customer=customers[i], segment=segment, distance=0.1) for i in members
            )
            segments.append(segment)
        if active:
            seg.active_run = run
            seg.save()
        return segments

    return {
        "behaviour": segmentation("Behaviour", [[0, 1, 2], [3, 4, 5]]),
        "demographic": segmentation("Demographic", [[0, 3], [1, 4], [2, 5]]),
        "draft": segmentation("Draft", [[0, 1, 2, 3, 4, 5]], active=False),
    }


def test_the_segment_filter_is_registered_by_segmentation():
    segment_filter = list_filters.list_filter_get("segment")
    assert segment_filter is not None and segment_filter.label == "Segment"


def test_choices_are_grouped_by_segmentation_with_active_runs_only(two_segmentations):
    choices = list_filters.list_filter_get("segment").choices()
    assert [group for group, _ in choices] == ["Behaviour", "Demographic"]
    behaviour = two_segmentations["behaviour"]
    assert choices[0][1] == [(str(behaviour[0].pk), "Behaviour 0 (3)"), (str(behaviour[1].pk), "Behaviour 1 (3)")]


def test_filter_by_a_segment_of_any_segmentation(two_segmentations, viewer_client):
    behaviour = two_segmentations["behaviour"][1]
    demographic = two_segmentations["demographic"][0]
    response = viewer_client.get(f"/customers/?segment={behaviour.pk}")
    assert [c.external_id for c in response.context["customers"]] == ["3", "4", "5"]
    response = viewer_client.get(f"/customers/?segment={demographic.pk}&min.age=22")
    assert [c.external_id for c in response.context["customers"]] == ["3"]
    html = response.content.decode()
    assert '<optgroup label="Behaviour">' in html and '<optgroup label="Demographic">' in html
    assert f'<option value="{demographic.pk}" selected>' in html


def test_the_segment_filter_flows_through_parse_and_list(two_segmentations):
    segment = two_segmentations["demographic"][2]
    query = selectors.customer_query_parse(params=QueryDict(f"segment={segment.pk}&sort=-id"))
    assert query.extra == (("segment", str(segment.pk)),)
    assert [c.external_id for c in selectors.customer_list(query=query)] == ["5", "2"]


@pytest.mark.parametrize("value", ["abc", "999999", "-1", "1.5"])
def test_a_bad_or_inactive_segment_is_dropped_with_a_note(two_segmentations, viewer_client, value):
    response = viewer_client.get(f"/customers/?segment={value}")
    assert response.status_code == 200
    assert len(response.context["customers"]) == 6
    assert any(note.startswith("segment: ") for note in response.context["notes"])


def test_a_segment_of_an_inactive_run_is_not_a_choice(two_segmentations, viewer_client):
    draft = two_segmentations["draft"][0]
    response = viewer_client.get(f"/customers/?segment={draft.pk}")
    assert len(response.context["customers"]) == 6
    assert f"segment: '{draft.pk}' is not one of the segment choices" in response.context["notes"]


def test_member_ids_on_the_segment_page_link_to_the_customer(two_segmentations, viewer_client):
    segment = two_segmentations["behaviour"][0]
    html = viewer_client.get(f"/segments/{segment.pk}/").content.decode()
    for external_id in ("0", "1", "2"):
        assert f'<a href="/customers/id/{external_id}/">{external_id}</a>' in html


def test_a_segment_removed_after_validation_matches_nobody(two_segmentations):
    from segmentation.customer_filters import segment_apply

    segment = two_segmentations["behaviour"][0]
    pk = segment.pk
    segment.delete()
    assert not segment_apply(Customer.objects.all(), str(pk)).exists()
