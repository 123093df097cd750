"""The segmentation editor in headless Chromium: a Marketer creates, previews and saves a segmentation."""

from __future__ import annotations

import pytest

from core.models import Activity
from customers.tests.factories import customer_groups_create
from segmentation.models import Segmentation, SegmentRun

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_marketer_creates_previews_and_saves_behaviour_but_cannot_run(tab, marketer_user):
    customer_groups_create({0: 60, 1: 35, 2: 30, 3: 25})
    page = tab.page
    tab.login(marketer_user.username, "pw-" + marketer_user.username)
    page.get_by_label("Main").get_by_role("link", name="Segmentations").click()
    page.wait_for_load_state("load")
    page.get_by_role("link", name="New segmentation").click()
    page.wait_for_load_state("load")
    assert page.url.endswith("/segmentations/new/")
    assert page.get_by_text("Running needs the ‘Can start a re-segmentation’ permission; ask an Admin.").is_visible()
    assert page.get_by_role("button", name="Save and run").count() == 0

    page.get_by_label("Name", exact=True).fill("Behaviour")
    page.get_by_label("Annual income (k$)").check()
    page.get_by_label("Spending score (1–100)").check()
    assert page.locator("svg.hist rect").count() > 10  # every column's small histogram
    page.get_by_role("button", name="Preview").click()
    sizes = page.locator(".preview-sizes li")
    sizes.first.wait_for(timeout=60_000)
    assert sizes.count() >= 2
    assert page.get_by_text("On a sample of 150 of 150 customers").is_visible()
    assert page.locator(".preview-k tr.chosen").count() == 1
    assert page.url.endswith("/segmentations/new/")  # shown in place, nothing saved
    assert not Segmentation.objects.filter(name="Behaviour").exists()
    tab.shot("01-preview")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    tab.shot("01-preview-phone")
    page.set_viewport_size({"width": 1280, "height": 800})

    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_load_state("load")
    assert page.url.endswith("/segmentations/")
    assert page.get_by_text("“Behaviour” saved.").is_visible()
    seg = Segmentation.objects.get(name="Behaviour")
    assert seg.features == ["annual_income", "spending_score"]
    assert Activity.objects.filter(verb="segmentation.created", actor=marketer_user).count() == 1
    assert page.get_by_text("ask an Admin").first.is_visible()
    tab.shot("02-list")

    tab.go("/")
    card = page.locator("section", has=page.get_by_role("heading", name="Behaviour"))
    assert card.get_by_text("This segmentation has no run yet.").is_visible()
    assert page.get_by_role("button", name="Run now").count() == 0
    assert not SegmentRun.objects.exists()
    tab.shot("03-dashboard")
    assert tab.errors == []
