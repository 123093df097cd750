"""New customers join an active RFM run's groups between runs: scored with the run's stored cut points and
placed in their group's segment by the same path KMeans assignment uses (after an import or recompute)."""

from __future__ import annotations

import pandas as pd
import pytest
from django.utils import timezone

from customers.models import Customer
from customers.orders.behaviour import behaviour_compute
from customers.orders.models import Order
from segmentation import receivers
from segmentation.ml.rfm import RFM_GROUPS, rfm_groups, rfm_scores
from segmentation.models import Membership, Method
from segmentation.services.memberships import memberships_assign_new
from segmentation.tasks import assign_new_customers
from segmentation.tests.factories import SegmentationFactory
from segmentation.tests.test_rfm_runs import _run, behaviour  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def test_an_rfm_run_stores_its_cut_points_as_its_model(behaviour):  # noqa: F811
    run = _run(SegmentationFactory(name="RFM", method=Method.RFM, features=["annual_income"]))
    assert run.model["method"] == "rfm" and run.model["cuts"] == run.evidence["rfm"]["cuts"]
    assert set(run.model["labels"].values()) == set(run.segments.values_list("label", flat=True))


def test_new_customers_get_their_groups_segment_between_runs(behaviour):  # noqa: F811
    seg = SegmentationFactory(name="RFM", method=Method.RFM, features=["annual_income"])
    run = _run(seg)
    sizes = dict(run.segments.values_list("name", "size"))
    new = [
        Customer(external_id="NEW-champ", attributes={"recency": 0, "frequency": 50, "monetary": 9000}),
        Customer(external_id="NEW-lost", attributes={"recency": 364, "frequency": 1, "monetary": 5}),
        Customer(external_id="NEW-none", attributes={}),
    ]
    Customer.objects.bulk_create(new)
    placed = memberships_assign_new(segmentation=seg)
    assert placed == 2
    got = {
        m.customer.external_id: m
        for m in Membership.objects.filter(run=run, customer__external_id__startswith="NEW").select_related(
            "customer", "segment"
        )
    }
    assert set(got) == {"NEW-champ", "NEW-lost"} and not any(m.fitted for m in got.values())
    cuts = run.model["cuts"]
    frame = pd.DataFrame(
        [{"recency": 0, "frequency": 50, "monetary": 9000}, {"recency": 364, "frequency": 1, "monetary": 5}]
    )
    expected = [RFM_GROUPS[g].name for g in rfm_groups(rfm_scores(frame, cuts))]
    assert [got["NEW-champ"].segment.name, got["NEW-lost"].segment.name] == expected
    assert expected[0] == "Champions"
    after = dict(run.segments.values_list("name", "size"))
    assert after[expected[0]] == sizes[expected[0]] + 1  # recounted
    assert assign_new_customers() == 0  # the task's path: nothing left to place


def test_a_behaviour_recompute_queues_the_assignment(monkeypatch, django_capture_on_commit_callbacks):
    queued: list[bool] = []
    monkeypatch.setattr(receivers, "_queue_assignment", lambda: queued.append(True))
    customer = Customer.objects.create(external_id="FIRST")
    Order.objects.create(order_id="X1", customer=customer, ordered_at=timezone.now(), amount=10)
    with django_capture_on_commit_callbacks(execute=True):
        behaviour_compute()
    assert queued == [True]
