"""The marketer's workbench end to end, in the browser only (issue "marketer's workbench", done-when):

a Marketer creates a "Behaviour" segmentation on chosen columns and previews it; an Admin runs it from the
dashboard (a real worker); the Marketer filters the customer list to one segment plus a column range, saves it
as an audience, attaches a campaign, chooses the export columns and downloads a CSV for Excel that keeps the
accents and the ids' leading zeros.
"""

from __future__ import annotations

import csv
import io

import pytest

from campaigns.models import Audience, Campaign
from customers.models import AttributeKind, Customer, CustomerAttribute
from customers.tests.factories import customer_groups_create
from segmentation.models import RunStatus, Segment, Segmentation

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
WAIT_MS = 180_000


def _customers() -> None:
    """150 customers in four groups, ids with leading zeros ("000001"), an e-mail and a city with accents."""
    customer_groups_create({0: 45, 1: 40, 2: 35, 3: 30}, prefix="0")
    CustomerAttribute.objects.create(key="email", label="E-mail", kind=AttributeKind.TEXT)
    CustomerAttribute.objects.create(key="city", label="City", kind=AttributeKind.TEXT)
    customers = list(Customer.objects.all())
    for c in customers:
        c.attributes = {"email": f"c{c.external_id}@example.com", "city": "Montréal · Québec"}
    Customer.objects.bulk_update(customers, ["attributes"])


def _login(chromium, live_server, user) -> tuple:
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-" + user.username)
    page.click("form button[type=submit]")
    page.wait_for_load_state("load")
    return context, page


def test_marketer_segments_filters_saves_audience_and_exports_for_excel(
    chromium, live_server, marketer_user, admin_user, celery_worker
):
    _customers()
    errors: list[str] = []
    m_context, page = _login(chromium, live_server, marketer_user)
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # 1. The Marketer creates "Behaviour" on two chosen columns and previews it before saving.
    page.get_by_label("Main").get_by_role("link", name="Segmentations").click()
    page.get_by_role("link", name="New segmentation").click()
    page.wait_for_load_state("load")
    page.get_by_label("Name", exact=True).fill("Behaviour")
    page.get_by_label("Annual income (k$)").check()
    page.get_by_label("Spending score (1–100)").check()
    page.get_by_role("button", name="Preview").click()
    page.locator(".preview-sizes li").first.wait_for(timeout=60_000)
    assert page.locator(".preview-sizes li").count() >= 2
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_load_state("load")
    behaviour = Segmentation.objects.get(name="Behaviour")
    assert page.get_by_text("ask an Admin").first.is_visible()  # she may not run it

    # 2. The Admin runs it from the dashboard; the real worker computes it.
    a_context, admin_page = _login(chromium, live_server, admin_user)
    card = admin_page.locator("section", has=admin_page.get_by_role("heading", name="Behaviour"))
    card.get_by_role("button", name="Run now").click()
    admin_page.wait_for_load_state("load")
    try:
        admin_page.wait_for_selector(".run-progress", state="detached", timeout=WAIT_MS)
    except Exception as exc:
        raise AssertionError(f"run not finished; worker log:\n{celery_worker.log()}") from exc
    behaviour.refresh_from_db()
    assert behaviour.active_run is not None and behaviour.active_run.status == RunStatus.SUCCEEDED
    a_context.close()

    # 3. The Marketer filters the customer list to one segment of Behaviour plus an income range.
    segment = Segment.objects.filter(run=behaviour.active_run).order_by("-size").first()
    page.get_by_label("Main").get_by_role("link", name="Customers", exact=True).click()
    page.wait_for_load_state("load")
    page.select_option("#f-segment", value=str(segment.pk))
    page.get_by_text("Filter by any column").click()
    page.fill("#f-min-annual_income", "1")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_load_state("load")
    shown = page.locator("table tbody tr").count()
    assert 0 < shown <= segment.size

    # 4. ... saves the filtered set as a static audience ...
    page.locator("#save-audience-link").click()
    page.wait_for_load_state("load")
    page.get_by_label("Name").fill("Behaviour best")
    page.get_by_role("button", name="Save audience").click()
    page.wait_for_load_state("load")
    audience = Audience.objects.get(name="Behaviour best")
    assert audience.size == segment.size

    # 5. ... attaches a campaign to it ...
    page.goto(f"{live_server.url}/campaigns/new/?audience={audience.pk}")
    page.get_by_label("Name").fill("Spring Rentrée")
    page.get_by_label("Offer").fill("Café offert · 10 %")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_load_state("load")
    campaign = Campaign.objects.get(name="Spring Rentrée")
    assert campaign.audience_id == audience.pk

    # 6. ... chooses the export columns and downloads the CSV for Excel.
    page.get_by_text("Choose the columns").click()
    for box in page.locator("input[name=columns]").all():
        box.set_checked(box.get_attribute("value") in {"external_id", "email", "city", "campaign_name", "offer"})
    page.get_by_role("button", name="Save columns").click()
    page.wait_for_load_state("load")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV for Excel").click()
    raw = open(download_info.value.path(), "rb").read()
    assert raw.startswith("\ufeff".encode()), raw[:20]  # UTF-8 with a byte-order mark: accents right in Excel
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    header = rows[0]
    assert sorted(header) == ["campaign_name", "city", "email", "external_id", "offer"]
    records = [dict(zip(header, r, strict=True)) for r in rows[1:]]
    members = set(audience.members.values_list("customer__external_id", flat=True))
    assert {r["external_id"] for r in records} == {f'="{i}"' for i in members}  # Excel keeps "000001" as text
    assert all(r["city"] == "Montréal · Québec" and r["offer"] == "Café offert · 10 %" for r in records)
    assert all(r["campaign_name"] == "Spring Rentrée" and r["email"].endswith("@example.com") for r in records)
    assert errors == []
    m_context.close()
