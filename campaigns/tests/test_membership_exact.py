"""Membership is exact: demo customers (Mall columns) + a Personality-like file (its own columns only).

A run on the Personality columns has exactly the complete Personality customers as members, no demo
customer is in any segment, and a campaign audience is exactly the sum of its segments' sizes.
Runs on SQLite and on PostgreSQL (DATABASE_URL).
"""

from __future__ import annotations

import csv
import io

import pytest

from campaigns.export import audience_csv_reference, audience_export_stream, legacy_columns
from campaigns.selectors import (
    campaign_audience,
    campaign_audience_counts,
    campaign_audience_features,
    campaign_audience_rows,
)
from campaigns.tests.factories import CampaignFactory
from customers.models import Customer
from customers.tests.factories import customer_groups_create
from segmentation.models import Membership, Segment
from segmentation.services import memberships
from segmentation.tests import factories
from segmentation.tests.factories import SegmentationFactory, SegmentRunFactory
from tests.synth import PERSONALITY_MISSING_INCOME, PERSONALITY_ROWS

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_and_personality(tmp_path):
    return factories.demo_and_personality(tmp_path)


def test_members_are_exactly_the_complete_personality_customers(demo_and_personality, marketer_user):
    features = demo_and_personality
    run = SegmentRunFactory(segmentation=SegmentationFactory(name="Personality"), features=features, k=4)

    members = Membership.objects.filter(run=run)
    assert Customer.objects.count() == 2000 + PERSONALITY_ROWS
    assert run.rows_used == PERSONALITY_ROWS - PERSONALITY_MISSING_INCOME == members.count()
    assert not members.filter(customer__external_id__startswith="DEMO-").exists()
    assert run.rows_dropped == 2000 + PERSONALITY_MISSING_INCOME
    assert run.excluded == {"missing all 4 features": 2000, f"missing {features[0]}": PERSONALITY_MISSING_INCOME} or (
        features[0] == "annual_income"  # before issue 9's import: demo customers have the income column
        and run.excluded == {"missing 3 of 4 features": 2000, "missing annual_income": PERSONALITY_MISSING_INCOME}
    )
    sizes = list(Segment.objects.filter(run=run).values_list("size", flat=True))
    assert sum(sizes) == members.count()

    # Nobody is placed afterwards by imputation, and the audience is exactly its segments' members.
    assert memberships.memberships_assign_new() == 0
    chosen = list(Segment.objects.filter(run=run).order_by("label")[:2])
    campaign = CampaignFactory(actor=marketer_user, segments=chosen)
    counts = campaign_audience_counts(campaign=campaign)
    assert counts["total"] == campaign_audience(campaign=campaign).count() == sum(s.size for s in chosen)
    assert not campaign_audience(campaign=campaign).filter(customer__external_id__startswith="DEMO-").exists()


def test_new_customers_are_assigned_only_with_the_run_features(demo_and_personality):
    features = demo_and_personality
    run = SegmentRunFactory(segmentation=SegmentationFactory(name="Personality"), features=features, k=3)
    before = Membership.objects.filter(run=run).count()
    customer_groups_create({0: 30}, prefix="LATE-")  # Mall columns only: never members of this run
    attrs = {"mnt_wines": 300, "mnt_meat_products": 200, "num_store_purchases": 6}
    full = Customer.objects.create(external_id="NEW-1", attributes=attrs)
    if features[0] == "income":
        full.attributes["income"] = 60_000
    else:
        full.annual_income = 60_000
    full.save()
    Customer.objects.create(external_id="NEW-2", attributes={"mnt_wines": 10})  # 1 of 4

    assert memberships.memberships_assign_new() == 1
    assert Membership.objects.filter(run=run, customer=full, fitted=False).exists()
    assert sum(Segment.objects.filter(run=run).values_list("size", flat=True)) == before + 1


def test_audience_export_holds_the_members_with_the_run_columns(demo_and_personality, marketer_user):
    features = demo_and_personality
    run = SegmentRunFactory(segmentation=SegmentationFactory(name="Personality"), features=features, k=4)
    chosen = list(Segment.objects.filter(run=run).order_by("label")[1:3])
    campaign = CampaignFactory(actor=marketer_user, segments=chosen)

    streamed = b"".join(
        audience_export_stream(
            actor=marketer_user,
            campaign=campaign,
            columns=legacy_columns(campaign=campaign),
            format="csv",
            block_rows=100,
        )
    ).decode()
    extra = campaign_audience_features(campaign=campaign)
    assert streamed == audience_csv_reference(campaign_audience_rows(campaign=campaign), features=extra)
    rows = list(csv.DictReader(io.StringIO(streamed)))
    assert len(rows) == sum(s.size for s in chosen)
    assert {"mnt_wines", "num_store_purchases"} <= set(rows[0]) and rows[0]["mnt_wines"].isdigit()
    assert not any(r["external_id"].startswith("DEMO-") for r in rows)
