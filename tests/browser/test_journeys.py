"""User journeys in headless Chromium against the live server (and, for re-segmentation, a real worker)."""

from __future__ import annotations

import csv
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest

from customers.models import Customer
from customers.tests.factories import customer_groups_create
from segmentation.models import RunStatus, SegmentRun
from segmentation.tests.factories import SegmentationFactory, SegmentRunFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHART = ".js-plotly-plot"
WAIT_MS = int(os.environ.get("SEGMENTA_BROWSER_RUN_WAIT_MS", "180000"))


def _planted_csv() -> Path:
    """A small customer file in the seed notebook's layout with four planted groups."""
    rng = np.random.default_rng(7)
    path = Path(tempfile.mkdtemp(prefix="segmenta-browser-")) / "customers.csv"
    centers = [(45, 55, 50, 60), (32, 87, 82, 30), (41, 88, 17, 30), (25, 26, 79, 30)]
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["CustomerID", "Genre", "Age", "Annual Income (k$)", "Spending Score (1-100)"])
        i = 0
        for age, inc, sp, n in centers:
            for _ in range(n):
                i += 1
                w.writerow(
                    [
                        i,
                        "Female" if i % 2 else "Male",
                        int(np.clip(rng.normal(age, 3), 18, 80)),
                        round(float(max(1, rng.normal(inc, 4))), 1),
                        int(np.clip(rng.normal(sp, 4), 1, 100)),
                    ]
                )
    return path


def _import_customers(tab) -> None:
    """Import the planted file the way a user does: nav -> Imports -> Import customers -> upload -> outcome."""
    page = tab.page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Imports", exact=True).click()
    page.wait_for_load_state("load")
    page.get_by_role("link", name="Import customers").click()
    page.wait_for_load_state("load")
    assert re.search(r"/customers/import/$", page.url), page.url
    page.set_input_files("#import-form input[type=file]", str(_planted_csv()))
    tab.shot("01-import-form")
    page.locator("#import-form").get_by_role("button", name="Import").click()
    page.wait_for_load_state("load")
    # The upload lands on the import's outcome page, which counts what was added.
    assert re.search(r"/customers/imports/\d+/$", page.url), (page.url, page.content()[:2000])
    assert page.get_by_text(re.compile(r"Imported customers\.csv: 150 added, 0 updated, 0 rejected")).is_visible()
    assert page.locator("#rows-added").inner_text() == "150"
    tab.shot("01-import-done")
    assert Customer.objects.count() == 150


def _charts_rendered(tab, minimum: int = 4) -> int:
    # A function, not an expression string: the page's Content-Security-Policy forbids eval (Playwright would use it).
    tab.page.wait_for_function(
        "([selector, n]) => document.querySelectorAll(selector).length >= n", arg=[CHART, minimum], timeout=60_000
    )
    return tab.page.locator(CHART).count()


@pytest.mark.worker
@pytest.mark.slow
def test_admin_imports_resegments_reads_and_edits(tab, admin_user, celery_worker):
    page = tab.page
    tab.login(admin_user.username, "pw-" + admin_user.username)
    assert page.url.rstrip("/") == tab.base  # landing page after login is the dashboard
    _import_customers(tab)

    tab.go("/")
    assert page.get_by_text("No segments yet").first.is_visible()
    page.get_by_role("button", name="Run now").first.click()
    page.wait_for_load_state("load")
    run = SegmentRun.objects.order_by("-pk").first()
    assert run is not None and page.url.endswith(f"/runs/{run.pk}/")
    tab.shot("02-run-queued")
    # The banner polls /runs/<id>/status.json and reloads the page when the worker finishes.
    try:
        page.wait_for_selector(".run-progress", state="detached", timeout=WAIT_MS)
    except Exception as exc:
        run.refresh_from_db()
        raise AssertionError(f"run still {run.status} ({run.stage}); worker log:\n{celery_worker.log()}") from exc
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, (run.status, run.error, celery_worker.log())

    tab.go("/")
    cards = page.locator(".segment-card")
    assert cards.count() == run.chosen_k >= 2
    assert page.get_by_text(re.compile(r"from \d+ customers")).first.is_visible()
    assert page.locator(".run-failed").count() == 0
    tab.shot("03-dashboard")

    page.get_by_role("link", name="Evidence and charts").click()
    page.wait_for_load_state("load")
    assert _charts_rendered(tab) >= 4
    page.wait_for_timeout(500)
    tab.shot("04-run-page")
    assert tab.errors == []

    page.locator("table a[href^='/segments/']").first.click()
    page.wait_for_load_state("load")
    page.fill("textarea[name=strategy]", "Invite to the spring preview with a 10 % voucher")
    page.get_by_role("button", name="Save strategy").click()
    page.wait_for_load_state("load")
    assert page.locator(".strategy-text").inner_text().startswith("Invite to the spring preview")
    assert page.get_by_text("Source: Edited by a person").is_visible()
    tab.shot("05-segment-edited")
    assert tab.errors == []


@pytest.fixture
def demo_run(admin_user):
    """A run made by the run service on four planted groups of 60/35/30/25 customers (labels by size)."""
    seg = SegmentationFactory(name="Default", features=["age", "annual_income", "spending_score"])
    customer_groups_create({0: 60, 1: 35, 2: 30, 3: 25})
    return SegmentRunFactory(segmentation=seg, requested_by=admin_user, k=4)


def test_viewer_reads_everything_without_edit_controls(tab, viewer_user, demo_run):
    page = tab.page
    tab.login(viewer_user.username, "pw-" + viewer_user.username)
    tab.go("/")
    assert page.locator(".segment-card").count() == 4
    assert page.get_by_role("button", name="Re-segment now").count() == 0
    tab.shot("01-dashboard")
    page.set_viewport_size({"width": 390, "height": 844})
    tab.shot("01-dashboard-phone")
    page.set_viewport_size({"width": 1280, "height": 800})

    tab.go(f"/runs/{demo_run.pk}/")
    assert _charts_rendered(tab) >= 4
    page.wait_for_timeout(500)
    tab.shot("02-run-page")

    segment = demo_run.segments.get(label=1)
    tab.go(f"/segments/{segment.pk}/")
    assert page.get_by_role("heading", name=segment.name).is_visible()
    assert page.locator("textarea[name=strategy]").count() == 0
    assert page.get_by_text("What explains this segment").is_visible()
    tab.shot("03-segment")

    SegmentRunFactory(segmentation=demo_run.segmentation, k=4, random_state=7)  # the same groups, segmented again
    tab.go(f"/segmentations/{demo_run.segmentation_id}/runs/")
    assert page.locator("table.runs tbody tr").count() == 2
    tab.shot("04-history")
    page.get_by_role("button", name="Compare").click()
    page.wait_for_load_state("load")
    assert page.locator(".ari").inner_text() == "1.000"
    assert _charts_rendered(tab, minimum=1) == 1
    tab.shot("05-compare")
    assert tab.errors == []


def test_anonymous_is_sent_to_login(tab, demo_run):
    for path in ("/", f"/runs/{demo_run.pk}/", f"/segments/{demo_run.segments.first().pk}/"):
        tab.go(path)
        assert "/accounts/login/" in tab.page.url
    assert tab.page.locator("#id_username").is_visible()
    tab.shot("login")
