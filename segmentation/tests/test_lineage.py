"""Segments keep their identity across re-segmentations (name, colour, edited strategy)."""

from __future__ import annotations

import pytest

from segmentation.models import Segmentation
from segmentation.services.lineage import PALETTE, segments_inherit
from segmentation.tests.test_pages import customers_make, make_run


@pytest.fixture
def base(db):
    seg = Segmentation.objects.create(name="default")
    groups = customers_make({0: 30, 1: 20, 2: 15, 3: 10})
    first = make_run(
        seg,
        groups,
        names={
            0: "Average",
            1: "High income · High spending",
            2: "High income · Low spending",
            3: "Young · High spending",
        },
    )
    segments_inherit(run=first, previous=None)
    return seg, groups, first


def test_first_run_gets_lineage_and_distinct_palette_colours(base):
    _seg, _groups, first = base
    segs = list(first.segments.order_by("label"))
    assert all(len(s.lineage) == 32 for s in segs)
    assert len({s.lineage for s in segs}) == 4
    assert [s.color for s in segs] == list(PALETTE[:4])


def test_unchanged_data_keeps_name_colour_and_edited_strategy(base, marketer_user):
    seg, groups, first = base
    edited = first.segments.get(label=2)
    edited.strategy, edited.strategy_source, edited.strategy_edited_by = "Premium bundle", "override", marketer_user
    edited.save()
    # the engine labels the same groups differently and names them its own way
    perm = {0: 2, 1: 0, 2: 3, 3: 1}
    second = make_run(
        seg,
        {perm[k]: v for k, v in groups.items()},
        activate=False,
        names={0: "Engine name A", 1: "Engine name B", 2: "Engine name C", 3: "Engine name D"},
    )
    segments_inherit(run=second, previous=first)
    for old in first.segments.all():
        new = second.segments.get(label=perm[old.label])
        assert (new.lineage, new.name, new.color) == (old.lineage, old.name, old.color)
    carried = second.segments.get(label=perm[2])
    assert carried.strategy == "Premium bundle" and carried.strategy_source == "carried"
    assert carried.strategy_edited_by == marketer_user
    assert carried.strategy_needs_review is False
    playbook = second.segments.get(label=perm[0])
    assert playbook.strategy_source == "playbook" and playbook.strategy == f"Playbook for group {perm[0]}"
    # and again: a carried strategy keeps travelling
    third = make_run(seg, groups, activate=False)
    segments_inherit(run=third, previous=second)
    assert third.segments.get(label=2).strategy == "Premium bundle"
    assert third.segments.get(label=2).name == "High income · Low spending"


def test_group_that_changed_a_lot_is_flagged_for_review(base):
    seg, groups, first = base
    edited = first.segments.get(label=0)
    edited.strategy, edited.strategy_source = "Loyalty points", "override"
    edited.save()
    # most of group 0 moves to group 1: same centre, but only 12 of its 30 customers stay (Jaccard 0.4)
    changed = {0: groups[0][:12], 1: groups[1] + groups[0][12:], 2: groups[2], 3: groups[3]}
    second = make_run(seg, changed, activate=False)
    segments_inherit(run=second, previous=first)
    s0 = second.segments.get(label=0)
    assert s0.strategy == "Loyalty points" and s0.strategy_source == "carried"
    assert s0.strategy_needs_review is True
    assert second.segments.get(label=2).strategy_needs_review is False


def test_new_segment_gets_new_lineage_free_colour_and_unique_name(base):
    seg, groups, first = base
    # split group 0 in two: one half keeps the lineage, the other is new
    split = {0: groups[0], 1: groups[1], 2: groups[2], 3: groups[3][:5], 4: groups[3][5:]}
    second = make_run(
        seg, split, activate=False, names={0: "Average", 1: "x", 2: "y", 3: "z", 4: "Young · High spending"}
    )
    segments_inherit(run=second, previous=first)
    segs = list(second.segments.order_by("label"))
    old_lineages = set(first.segments.values_list("lineage", flat=True))
    new = [s for s in segs if s.lineage not in old_lineages]
    assert len(new) == 1
    assert new[0].color == PALETTE[4]
    names = [s.name for s in segs]
    assert len(set(names)) == len(names)
    assert "Young · High spending (2)" in names


def test_resegmenting_unchanged_data_through_the_run_service_keeps_identity(db, marketer_user):
    """The real path: request + execute twice on the same customers, the strategy edited in between."""
    from segmentation.services import config, runs
    from segmentation.services.strategies import segment_strategy_update

    customers_make({0: 60, 1: 30, 2: 30, 3: 30})
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
