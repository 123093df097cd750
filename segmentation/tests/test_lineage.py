"""Segments keep their identity across re-segmentations (name, colour, edited strategy).

Every run here is a real one (`SegmentRunFactory`: the run service, whose activation calls
`segments_inherit`); groups change between runs because their customers' values change.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from customers.models import Customer
from customers.tests.factories import CENTERS, customer_groups_create
from segmentation.models import Segment, SegmentRun
from segmentation.services.lineage import PALETTE
from segmentation.tests.factories import SegmentationFactory, SegmentRunFactory

FEATURES = ["age", "annual_income", "spending_score"]


def segment_of(run: SegmentRun, members: Sequence[Customer]) -> Segment:
    """The segment of `run` that holds the first of `members`."""
    return run.memberships.select_related("segment").get(customer_id=members[0].pk).segment


def move(customers: Sequence[Customer], center: Sequence[float]) -> None:
    """The customers' values change to `center` (age, income, spending) before the next run."""
    age, income, spending = center
    Customer.objects.filter(pk__in=[c.pk for c in customers]).update(
        age=int(age), annual_income=income, spending_score=spending
    )


@pytest.fixture
def base(db):
    seg = SegmentationFactory(name="default", features=FEATURES)
    groups = customer_groups_create({0: 30, 1: 20, 2: 15, 3: 10})
    first = SegmentRunFactory(segmentation=seg, k=4)
    return seg, groups, first


def test_first_run_gets_lineage_and_distinct_palette_colours(base):
    _seg, _groups, first = base
    segs = list(first.segments.order_by("label"))
    assert all(len(s.lineage) == 32 for s in segs)
    assert len({s.lineage for s in segs}) == 4
    assert [s.color for s in segs] == list(PALETTE[:4])


def test_unchanged_data_keeps_name_colour_and_edited_strategy(base, marketer_user):
    seg, groups, first = base
    edited = segment_of(first, groups[2])
    edited.strategy, edited.strategy_source, edited.strategy_edited_by = "Premium bundle", "override", marketer_user
    edited.save()
    # the same customers segmented again with another seed
    second = SegmentRunFactory(segmentation=seg, k=4, random_state=7)
    for old in first.segments.all():
        new = segment_of(second, [m.customer for m in old.memberships.select_related("customer")[:1]])
        assert (new.lineage, new.name, new.color) == (old.lineage, old.name, old.color)
    carried = segment_of(second, groups[2])
    assert carried.strategy == "Premium bundle" and carried.strategy_source == "carried"
    assert carried.strategy_edited_by == marketer_user
    assert carried.strategy_needs_review is False
    playbook = segment_of(second, groups[0])
    assert playbook.strategy_source == "playbook" and playbook.strategy == segment_of(first, groups[0]).strategy
    # and again: a carried strategy keeps travelling
    third = SegmentRunFactory(segmentation=seg, k=4, random_state=11)
    assert segment_of(third, groups[2]).strategy == "Premium bundle"
    assert segment_of(third, groups[2]).name == edited.name


def test_group_that_changed_a_lot_is_flagged_for_review(base):
    seg, groups, first = base
    edited = segment_of(first, groups[0])
    edited.strategy, edited.strategy_source = "Loyalty points", "override"
    edited.save()
    # most of group 0 moves to group 1: same centre, but only 12 of its 30 customers stay (Jaccard 0.4)
    move(groups[0][12:], CENTERS[1])
    second = SegmentRunFactory(segmentation=seg, k=4)
    s0 = segment_of(second, groups[0][:12])
    assert s0.size == 12
    assert s0.strategy == "Loyalty points" and s0.strategy_source == "carried"
    assert s0.strategy_needs_review is True
    assert segment_of(second, groups[2]).strategy_needs_review is False


def test_new_segment_gets_new_lineage_free_colour_and_unique_name(base):
    seg, groups, first = base
    # five segments for four groups: the engine splits the largest group in two; the half that matches
    # keeps the lineage, the other is new, and its engine name (the same as its sibling's) is made unique
    second = SegmentRunFactory(segmentation=seg, k=5)
    segs = list(second.segments.order_by("label"))
    old_lineages = set(first.segments.values_list("lineage", flat=True))
    new = [s for s in segs if s.lineage not in old_lineages]
    assert len(new) == 1
    assert set(new[0].memberships.values_list("customer_id", flat=True)) < {c.pk for c in groups[0]}
    assert new[0].color == PALETTE[4]
    names = [s.name for s in segs]
    assert len(set(names)) == len(names)
    assert f"{segment_of(first, groups[0]).name} (2)" in names


def test_resegmenting_unchanged_data_through_the_run_service_keeps_identity(db, marketer_user):
    """The real path: request + execute twice on the same customers, the strategy edited in between."""
    from segmentation.services import config, runs
    from segmentation.services.strategies import segment_strategy_update

    customer_groups_create({0: 60, 1: 30, 2: 30, 3: 30})
    seg = config.segmentation_get_or_create_default()

    def run_once():
        run = runs.run_request(segmentation=seg, requested_by=None, trigger="manual", overrides={"k_max": 6})
        runs.run_execute(run_id=run.pk, worker="test:1")
        run.refresh_from_db()
        assert run.status == "succeeded", run.error
        return run

    first = run_once()
    edited = first.segments.order_by("-size").first()
    segment_strategy_update(segment=edited, strategy="Our own plan for this group", user=marketer_user)
    before = {s.lineage: (s.name, s.color, s.size) for s in first.segments.all()}
    second = run_once()
    after = {s.lineage: (s.name, s.color, s.size) for s in second.segments.all()}
    assert after == before
    carried = second.segments.get(lineage=edited.lineage)
    assert carried.strategy == "Our own plan for this group"
    assert carried.strategy_source == "carried" and carried.strategy_needs_review is False
    assert len({c for _n, c, _s in after.values()}) == len(after)
