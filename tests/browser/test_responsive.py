"""Every page a user can reach fits a phone (390 px) and a desktop (1440 px): no horizontal scroll of the page.

Wide tables scroll inside their own `.table-wrap`; charts follow their box's width. An Admin (who sees every
page) visits each one at both widths; the page's charts are drawn first (static/js/charts.js marks them
`data-drawn`). Screenshots go to a temporary folder (SEGMENTA_SCREENSHOTS to keep them elsewhere).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from campaigns.tests.factories import CampaignFactory
from customers.imports.service import customer_import
from customers.models import Customer, ImportJob
from segmentation.tests.factories import SegmentationFactory, SegmentRunFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WIDTHS = ((390, 844), (1440, 900))
HEADER = "CustomerID,Genre,Age,Annual Income (k$),Spending Score (1-100)\n"
CENTERS = ((25, 25, 80), (45, 85, 15), (35, 85, 85), (55, 40, 45))


def _customer_file(folder: Path) -> Path:
    """200 customers in four groups, ids long enough to crowd a table, and one row that is rejected."""
    lines = [HEADER]
    for i in range(200):
        age, income, spending = CENTERS[i % 4]
        lines.append(
            f"CUSTOMER-{i:06d},{'Female' if i % 2 else 'Male'},{age + i % 7},{income + i % 9},{spending - i % 11}\n"
        )
    lines.append("CUSTOMER-BAD,Female,not-an-age,50,50\n")
    path = folder / "customers-for-screens.csv"
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.fixture
def every_page(tmp_path, admin_user) -> dict[str, str]:
    """A database where every page has something to show; name -> path."""
    customer_import(file=_customer_file(tmp_path), file_name="customers-for-screens.csv", skip_invalid=True)
    segmentation = SegmentationFactory(name="Default")
    first = SegmentRunFactory(segmentation=segmentation, k=4)
    run = SegmentRunFactory(segmentation=segmentation, k=4, random_state=7)
    segment = run.segments.order_by("-size").first()
    campaign = CampaignFactory(actor=admin_user, segments=[segment], name="Spring offer for the biggest segment")
    job = ImportJob.objects.order_by("-pk").first()
    customer = Customer.objects.order_by("external_id").first()
    return {
        "login": "/accounts/login/",
        "dashboard": "/",
        "customers": "/customers/",
        "customer": f"/customers/id/{customer.external_id}/",
        "overview": "/customers/overview/",
        "imports": "/customers/imports/",
        "import": "/customers/import/",
        "import-detail": f"/customers/imports/{job.pk}/",
        "run": f"/runs/{run.pk}/",
        "run-history": f"/segmentations/{segmentation.pk}/runs/",
        "compare": f"/runs/compare/?a={first.pk}&b={run.pk}",
        "segment": f"/segments/{segment.pk}/",
        "campaigns": "/campaigns/",
        "campaign": f"/campaigns/{campaign.pk}/",
        "campaign-new": "/campaigns/new/",
        "playbook": "/campaigns/playbook/",
        "activity": "/activity/",
        "api-docs": "/api/docs/",
        "segmentations": "/segmentations/",
        "segmentation-new": "/segmentations/new/",
        "segmentation-edit": f"/segmentations/{segmentation.pk}/edit/",
        "runs": "/runs/",
        "audiences": "/campaigns/audiences/",
        "audience-new": "/campaigns/audiences/new/?gender=female",
        "tokens": "/account/tokens/",
        "order-import": "/customers/orders/import/",
    }


OVERFLOW = """() => {
  const root = document.documentElement;
  const wide = [...document.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().right > root.clientWidth + 1 && !e.closest(".table-wrap, .chart"))
    .slice(0, 5)
    .map((e) => `${e.tagName.toLowerCase()}${e.id ? "#" + e.id : ""}.${[...e.classList].join(".")}`);
  return {scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, wide};
}"""


def _charts_drawn(page) -> None:
    """Wait until every chart of the page is drawn (charts.js draws the rest when the browser is idle)."""
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-chart]')].every((el) => el.dataset.drawn)", timeout=60_000
    )


def test_every_page_fits_a_phone_and_a_desktop(chromium, live_server, admin_user, every_page):
    shots = Path(os.environ.get("SEGMENTA_SCREENSHOTS") or tempfile.mkdtemp(prefix="segmenta-screens-"))
    shots.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    errors: list[str] = []
    for width, height in WIDTHS:
        context = chromium.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.on("pageerror", lambda exc, page=page: errors.append(f"{page.url}: {exc}"))
        page.goto(live_server.url + every_page["login"], wait_until="load")
        assert page.evaluate(OVERFLOW)["scrollWidth"] <= width
        page.screenshot(path=str(shots / f"login-{width}.png"), full_page=True)
        page.fill("#id_username", admin_user.username)
        page.fill("#id_password", "pw-" + admin_user.username)
        page.click("form button[type=submit]")
        page.wait_for_load_state("load")
        for name, path in every_page.items():
            if name == "login":
                continue
            response = page.goto(live_server.url + path, wait_until="load")
            assert response is not None and response.status == 200, (name, path, response and response.status)
            _charts_drawn(page)
            found = page.evaluate(OVERFLOW)
            if found["scrollWidth"] > found["clientWidth"]:
                problems.append(f"{name} at {width} px: page {found['scrollWidth']} px wide; {found['wide']}")
            page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
        context.close()
    assert problems == [], "\n".join(problems)
    assert errors == []
    assert {p.name for p in shots.glob("*-390.png")} >= {f"{name}-390.png" for name in every_page}


def test_charts_at_a_phone_width_put_the_legend_below_the_plot(chromium, live_server, admin_user, every_page):
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(live_server.url + "/accounts/login/", wait_until="load")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", "pw-" + admin_user.username)
    page.click("form button[type=submit]")
    page.wait_for_load_state("load")
    page.goto(live_server.url + every_page["run"], wait_until="load")
    _charts_drawn(page)
    scatter = page.locator("#chart-scatter2d")
    plot = scatter.locator(".nsewdrag").first.bounding_box()
    legend = scatter.locator(".legend").first.bounding_box()
    assert legend["y"] >= plot["y"] + plot["height"]  # below the plot, not over it
    assert plot["width"] >= 250  # the plot keeps most of the phone's width
    box = scatter.bounding_box()
    assert box["x"] + box["width"] <= 390
    context.close()
