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


def test_group_that_changed_is_continued_with_its_strategy_flagged_for_review(base):
    seg, groups, first = base
    edited = segment_of(first, groups[0])
    edited.strategy, edited.strategy_source = "Loyalty points", "override"
    edited.save()
    # 8 of group 0's 30 customers move to group 1: 22 stay (Jaccard 22/30 = 0.73, the same group, changed)
    move(groups[0][22:], CENTERS[1])
    second = SegmentRunFactory(segmentation=seg, k=4)
    s0 = segment_of(second, groups[0][:22])
    assert s0.size == 22 and s0.lineage == edited.lineage
    assert s0.strategy == "Loyalty points" and s0.strategy_source == "carried"
    assert s0.strategy_needs_review is True
    assert segment_of(second, groups[2]).strategy_needs_review is False


def test_a_group_that_lost_most_of_its_customers_is_a_new_segment(base):
    seg, groups, first = base
    edited = segment_of(first, groups[0])
    edited.strategy, edited.strategy_source = "Loyalty points", "override"
    edited.save()
    # most of group 0 moves to group 1: same centre, but only 12 of its 30 customers stay (Jaccard 0.4)
    move(groups[0][12:], CENTERS[1])
    second = SegmentRunFactory(segmentation=seg, k=4)
    s0 = segment_of(second, groups[0][:12])
    assert s0.size == 12 and s0.lineage != edited.lineage
    assert s0.strategy_source == "playbook" and s0.strategy != "Loyalty points"
    # group 1 gained 18 customers but kept its 20 (Jaccard 20/38 = 0.53): still the same group
    assert segment_of(second, groups[1]).lineage == segment_of(first, groups[1]).lineage


def test_new_segment_gets_new_lineage_free_colour_and_its_own_engine_name(base):
    seg, groups, first = base
    # five segments for four groups: the engine splits the largest group in two; the half that matches
    # keeps the lineage, the other is new; both are named from their own profiles in this run
    second = SegmentRunFactory(segmentation=seg, k=5)
    segs = list(second.segments.order_by("label"))
    old_lineages = set(first.segments.values_list("lineage", flat=True))
    new = [s for s in segs if s.lineage not in old_lineages]
    assert len(new) == 1
    assert set(new[0].memberships.values_list("customer_id", flat=True)) < {c.pk for c in groups[0]}
    assert new[0].color == PALETTE[4]
    names = [s.name for s in segs]
    assert len(set(names)) == len(names)
    assert names == second.model["names"]  # engine names are never carried
    assert all(s.name_source == "engine" for s in segs)


def test_a_name_a_person_typed_follows_the_group_and_an_engine_name_does_not(base):
    seg, groups, first = base
    typed = segment_of(first, groups[1])
    typed.name, typed.name_source = "Our VIPs", "person"
    typed.save()
    second = SegmentRunFactory(segmentation=seg, k=4, random_state=7)
    assert segment_of(second, groups[1]).name == "Our VIPs"
    assert segment_of(second, groups[1]).name_source == "person"
    # the group joins group 0 (30 customers): 20 of 50 is not the same group, the typed name stays behind
    move(groups[1], CENTERS[0])
    third = SegmentRunFactory(segmentation=seg, k=3)
    assert "Our VIPs" not in set(third.segments.values_list("name", flat=True))
    assert list(third.segments.order_by("label").values_list("name", flat=True)) == third.model["names"]


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


def _groups(run: SegmentRun) -> dict[frozenset[int], Segment]:
    """Each segment of `run` by its members (customer ids)."""
    out = {}
    for s in run.segments.all():
        out[frozenset(s.memberships.values_list("customer_id", flat=True))] = s
    return out


def test_mall_sequence_of_column_changes_ends_with_the_first_names_on_the_same_groups(db, mall_csv):
    """The issue's sequence: income + spending -> age + income + spending -> k 3–5 -> back (k 2–10)."""
    from customers.tests.factories import customers_import_file

    customers_import_file(mall_csv)
    seg = SegmentationFactory(name="Mall", features=["annual_income", "spending_score"])
    first = SegmentRunFactory(segmentation=seg)
    assert first.params["roles"] == {"annual_income": "capacity", "spending_score": "monetary"}
    assert first.params["units"] == {"annual_income": "k$", "spending_score": "1–100"}
    seg.features = ["age", "annual_income", "spending_score"]
    seg.save()
    with_age = SegmentRunFactory(segmentation=seg)
    assert with_age.params["roles"]["age"] == "demographic"
    seg.k_min, seg.k_max = 3, 5
    seg.save()
    SegmentRunFactory(segmentation=seg)
    seg.features, seg.k_min, seg.k_max = ["annual_income", "spending_score"], 2, 10
    seg.save()
    last = SegmentRunFactory(segmentation=seg)

    assert last.chosen_k == first.chosen_k == 5
    before, after = _groups(first), _groups(last)
    assert set(after) == set(before)  # the same five groups of customers
    assert {m: s.name for m, s in after.items()} == {m: s.name for m, s in before.items()}
    assert sorted(s.size for s in after.values()) == [22, 23, 35, 39, 81]
    average = last.segments.get(name="Average income · Average spending")
    assert average.centroid["annual_income"] == pytest.approx(55.3, abs=0.5)
    assert average.centroid["spending_score"] == pytest.approx(49.5, abs=0.5)
    assert last.segments.get(name="Low income · High spending").centroid["annual_income"] < 30
    # every run's names are its own engine's names
    for run in SegmentRun.objects.filter(segmentation=seg):
        assert list(run.segments.order_by("label").values_list("name", flat=True)) == run.model["names"]
