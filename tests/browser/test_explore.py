"""Explore in headless Chromium: a Marketer filters the customer list to one segment plus a column range, shows
an imported column and downloads the filtered customers as a CSV; the overview draws its charts, also at 390 px."""

from __future__ import annotations

import pytest

from customers.models import AttributeKind, Customer, CustomerAttribute
from customers.tests.factories import customer_groups_create
from segmentation.models import Membership, Segment
from segmentation.tests.factories import SegmentationFactory, SegmentRunFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def segmented(admin_user):
    seg = SegmentationFactory(name="Behaviour", features=["age", "annual_income", "spending_score"])
    customer_groups_create({0: 60, 1: 35, 2: 30, 3: 25})
    CustomerAttribute.objects.create(key="channel", label="Channel", kind=AttributeKind.TEXT)
    for i, customer in enumerate(Customer.objects.order_by("pk")):
        customer.attributes = {"channel": "web" if i % 3 else "shop"}
        customer.save(update_fields=["attributes"])
    return SegmentRunFactory(segmentation=seg, requested_by=admin_user, k=4)


def test_marketer_filters_by_segment_and_range_and_exports(tab, marketer_user, segmented):
    page = tab.page
    segment = Segment.objects.filter(run=segmented).order_by("label").first()
    members = Membership.objects.filter(segment=segment).values("customer_id")
    floor = 40
    expected = Customer.objects.filter(pk__in=members, annual_income__gte=floor).count()
    assert expected > 0

    tab.login(marketer_user.username, "pw-" + marketer_user.username)
    tab.go("/customers/")
    page.select_option("#f-segment", str(segment.pk))
    page.click("#column-filters summary")
    page.fill("#f-min-annual_income", str(floor))
    page.click("#column-chooser summary")
    page.check("input[name=cols][value=channel]")
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state("load")
    assert f"segment={segment.pk}" in page.url and f"min.annual_income={floor}" in page.url
    assert "max.annual_income" not in page.url  # empty filters stay out of the address
    assert page.locator("#customer-table tbody tr").count() == min(expected, 50)
    assert page.locator('#customer-table th[data-key="channel"]').count() == 1
    tab.shot("01-filtered")

    with page.expect_download() as download:
        page.click("#export-link")
    data = open(download.value.path(), "rb").read()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Customer ID,Gender") and len(lines) == expected + 1
    assert tab.errors == []


def test_overview_draws_its_charts_at_both_widths(tab, viewer_user, segmented):
    page = tab.page
    tab.login(viewer_user.username, "pw-" + viewer_user.username)
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        tab.go("/customers/overview/?column=channel")
        page.wait_for_selector("#chart-correlation .main-svg")
        assert page.locator(".js-plotly-plot").count() == 4  # age groups, channel, correlations, scatter matrix
        assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
        assert "Age (years) and" in page.inner_text("#strongest-pairs")
        tab.shot(f"overview-{width}")
    assert tab.errors == []
