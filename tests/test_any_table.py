"""Issue 9 acceptance: true on any customer table, not only on the Mall file ("Done when").

The tables are synthetic (`tests/synth.py`), shaped like the Customer Personality and Wholesale data;
everything runs through the product's real doors: the import service and command, `seed_demo`, the run
service (`SegmentRunFactory`: run_request + run_execute in this process) and the campaign selectors.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from campaigns import selectors as campaign_selectors
from campaigns import services as campaign_services
from customers.imports.columns import header_snake_case
from customers.imports.service import customer_import
from customers.management.commands.seed_demo import demo_customers_seed
from customers.models import Customer, CustomerAttribute
from segmentation.models import Membership, PlaybookRule, Segment, SegmentRun
from segmentation.services import config
from segmentation.services.memberships import memberships_assign_new
from segmentation.tests.factories import SegmentationFactory, SegmentRunFactory
from tests.synth import (
    PERSONALITY_MISSING_INCOME,
    PERSONALITY_ROWS,
    PERSONALITY_SPEND,
    WHOLESALE_COLUMNS,
    WHOLESALE_SPEND,
    personality_like,
    wholesale_like,
    write_csv,
    write_tsv,
)

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


PERSONALITY_FEATURES = [
    "income",
    *(header_snake_case(c) for c in PERSONALITY_SPEND),
    *(
        header_snake_case(c)
        for c in ("NumDealsPurchases", "NumWebPurchases", "NumCatalogPurchases", "NumStorePurchases")
    ),
    "recency",
]
MNT_KEYS = [header_snake_case(c) for c in PERSONALITY_SPEND]
WHOLESALE_KEYS = [header_snake_case(c) for c in WHOLESALE_SPEND]


@pytest.fixture
def personality_tsv(tmp_path: Path) -> Path:
    return write_tsv(personality_like(PERSONALITY_ROWS, seed=2240), tmp_path / "marketing_campaign.tsv")


@pytest.fixture
def wholesale_csv(tmp_path: Path) -> Path:
    return write_csv(wholesale_like(440, seed=440), tmp_path / "Wholesale customers data.csv")


def _personality_run(personality_tsv: Path, admin_user, *, missing: str = "drop", k: int = 4) -> SegmentRun:
    customer_import(file=personality_tsv, user=admin_user)
    segmentation = SegmentationFactory(name="Personality", features=PERSONALITY_FEATURES, missing_policy=missing)
    return SegmentRunFactory(segmentation=segmentation, k=k)


def _members(run: SegmentRun):
    return Membership.objects.filter(run=run)


def _highest(run: SegmentRun, keys: list[str]) -> Segment:
    """The segment with the highest total of `keys` (profile means) per customer."""
    return max(run.segments.all(), key=lambda s: sum(s.profile[key]["mean"] for key in keys))


# --- Demo (2,000) + Personality-like: membership is exact, audiences are the segments' members ----------


@pytest.mark.parametrize("missing", ["drop", "median"])
def test_demo_and_personality_run_has_only_the_rows_with_its_columns(personality_tsv, admin_user, missing):
    demo_customers_seed(n=2000, seed=7, reset=False)
    run = _personality_run(personality_tsv, admin_user, missing=missing)

    members = _members(run)
    complete = PERSONALITY_ROWS - PERSONALITY_MISSING_INCOME  # the rows without Income are incomplete
    if missing == "drop":
        assert members.count() == complete
    else:  # imputation only for customers with most of the run's features (the 24 have 11 of 12)
        assert complete <= members.count() <= PERSONALITY_ROWS
    assert not members.filter(customer__external_id__startswith="DEMO-").exists()
    assert sum(run.segments.values_list("size", flat=True)) == members.count()

    campaign = campaign_services.campaign_create(actor=admin_user, name="Everyone", segments=list(run.segments.all()))
    counts = campaign_selectors.campaign_audience_counts(campaign=campaign)
    assert counts["total"] == sum(s.size for s in run.segments.all()) == members.count()
    audience = campaign_selectors.campaign_audience(campaign=campaign)
    assert not audience.filter(customer__external_id__startswith="DEMO-").exists()


def test_new_demo_customers_are_not_assigned_to_a_run_whose_columns_they_lack(personality_tsv, admin_user):
    run = _personality_run(personality_tsv, admin_user)
    before = _members(run).count()
    demo_customers_seed(n=200, seed=7, reset=False)  # arrive after the run
    memberships_assign_new(segmentation=run.segmentation)
    assert _members(run).count() == before
    assert not _members(run).filter(customer__external_id__startswith="DEMO-").exists()


def test_demo_customers_are_not_members_of_an_imputing_run_on_attribute_columns(personality_tsv, admin_user):
    """Today's shape of the bug, on today's columns: Income lands in annual_income, demo customers have it."""
    demo_customers_seed(n=2000, seed=7, reset=False)
    customer_import(file=personality_tsv, user=admin_user)
    features = ["mnt_wines", "mnt_meat_products", "num_store_purchases", "recency"]
    segmentation = SegmentationFactory(name="Spend", features=features, missing_policy="median")
    run = SegmentRunFactory(segmentation=segmentation, k=3)
    assert not _members(run).filter(customer__external_id__startswith="DEMO-").exists()
    assert _members(run).count() == PERSONALITY_ROWS


# --- Personality-like: Income in dollars everywhere, the highest spenders are high value --------------


def test_personality_income_is_kept_in_dollars(personality_tsv, admin_user, admin_client):
    frame = personality_like(PERSONALITY_ROWS, seed=2240)
    customer_import(file=personality_tsv, user=admin_user)
    income = CustomerAttribute.objects.get(key="income")
    assert (income.unit, income.role) == ("$", "capacity")
    assert not Customer.objects.filter(annual_income__isnull=False).exists()  # never in the k$ field

    row = frame[frame["Income"].notna() & (frame["Income"] < 600_000)].iloc[0]
    customer = Customer.objects.get(external_id=str(row["ID"]))
    assert customer.attributes["income"] == int(row["Income"])
    html = admin_client.get(reverse("customers:detail", args=[customer.external_id])).content.decode()
    assert f"{int(row['Income']):,}" in html
    assert not re.search(r"\d\s*k\$", html) and "e+0" not in html

    segmentation = SegmentationFactory(name="Personality", features=PERSONALITY_FEATURES)
    run = SegmentRunFactory(segmentation=segmentation, k=4)
    assert run.params["units"]["income"] == "$"
    for segment in run.segments.all():
        page = admin_client.get(reverse("segmentation:segment-detail", args=[segment.pk]))
        assert page.status_code == 200
        html = page.content.decode()
        assert not re.search(r"\d\s*k\$", html) and "e+0" not in html, segment.name


def test_personality_highest_spending_segment_is_high_value(personality_tsv, admin_user):
    run = _personality_run(personality_tsv, admin_user)
    top = _highest(run, MNT_KEYS)
    assert "high_value" in top.flags
    others = [s for s in run.segments.all() if s.pk != top.pk]
    assert all("high_value" not in s.flags for s in others if _total(s, MNT_KEYS) < 0.5 * _total(top, MNT_KEYS))


def _total(segment: Segment, keys: list[str]) -> float:
    return sum(segment.profile[key]["mean"] for key in keys)


# --- Wholesale-like: no id column, numbered rows, the highest spenders are high value ----------------


def test_wholesale_imports_unchanged_with_row_numbers(wholesale_csv):
    frame = wholesale_like(440, seed=440)
    call_command("import_customers", str(wholesale_csv), "--number-rows")
    assert Customer.objects.count() == 440
    keys = [header_snake_case(c) for c in WHOLESALE_COLUMNS]
    stored = sorted(tuple(c.attributes[k] for k in keys) for c in Customer.objects.all())
    assert stored == sorted(tuple(int(v) for v in row) for row in frame.itertuples(index=False))

    # Numbering again gives the same ids: a re-import updates, it does not duplicate.
    call_command("import_customers", str(wholesale_csv), "--number-rows")
    assert Customer.objects.count() == 440


def test_wholesale_highest_spend_segment_is_high_value(wholesale_csv, admin_user):
    result = customer_import(file=wholesale_csv, user=admin_user, number_rows=True)
    assert result.added == 440
    roles = dict(CustomerAttribute.objects.filter(key__in=WHOLESALE_KEYS).values_list("key", "role"))
    assert roles == dict.fromkeys(WHOLESALE_KEYS, "monetary")
    segmentation = SegmentationFactory(name="Wholesale", features=WHOLESALE_KEYS)
    run = SegmentRunFactory(segmentation=segmentation)
    assert _members(run).count() == 440
    assert "high_value" in _highest(run, WHOLESALE_KEYS).flags


# --- Mall: exactly as today -------------------------------------------------------------------------


MALL_TODAY = [
    (81, "Average income · Average spending", ["mainstream"]),
    (39, "High income · High spending", ["high_value"]),
    (35, "High income · Low spending", ["upsell"]),
    (23, "Low income · Low spending", ["budget"]),
    (22, "Low income · High spending", ["aspirational"]),
]


@pytest.mark.datasets
def test_mall_is_unchanged(mall_csv, admin_user):
    customer_import(file=mall_csv, user=admin_user)
    run = SegmentRunFactory(segmentation=config.segmentation_get_or_create_default())
    assert run.chosen_k == 5
    segments = list(run.segments.order_by("-size"))
    assert [(s.size, s.name, s.flags) for s in segments] == MALL_TODAY
    for segment in segments:
        (flag,) = segment.flags
        rule = PlaybookRule.objects.filter(flags=[flag], active=True).order_by("priority").first()
        assert rule is not None and segment.strategy == rule.actions, segment.name
        assert segment.strategy_source == "playbook"
