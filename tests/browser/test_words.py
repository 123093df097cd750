"""Words and way-finding in headless Chromium: the API docs render Markdown and fit a phone, the navigation
and the error pages fit 390 px."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def _overflow(page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")


@pytest.mark.parametrize("viewport", [PHONE, {"width": 1440, "height": 900}])
def test_api_docs_render_markdown_and_fit_the_screen(tab, viewer_user, viewport):
    page = tab.page
    page.set_viewport_size(viewport)
    tab.login(viewer_user.username, "pw-" + viewer_user.username)
    tab.go("/api/docs/")
    page.wait_for_selector(".info .description code")
    intro = page.locator(".info .description")
    assert "`" not in intro.inner_text()  # the Markdown's code spans are <code>, not literal backticks
    assert "Authorization: Token <key>" in page.locator(".info .description code").all_inner_texts()
    blocks = page.locator(".opblock .opblock-summary-control")
    assert blocks.count() >= 5
    for i in range(blocks.count()):  # every operation open: descriptions, parameters and examples shown
        blocks.nth(i).click()
    page.wait_for_timeout(500)
    assert page.locator(".opblock.is-open").count() == blocks.count()
    for description in page.locator(".opblock-description-wrapper").all_inner_texts():
        assert "`" not in description
    scroll, client = _overflow(page)
    assert scroll <= client, f"the docs are {scroll} px wide in a {client} px window"
    tab.shot(f"api-docs-{viewport['width']}")
    assert tab.errors == []


def test_navigation_and_error_pages_fit_a_phone(tab, viewer_user):
    page = tab.page
    page.set_viewport_size(PHONE)
    tab.login(viewer_user.username, "pw-" + viewer_user.username)
    for path, status, heading in (
        ("/runs/", 200, "Runs"),
        ("/no-such-page/", 404, "This page does not exist"),
        ("/activity/", 403, "You may not open this page"),
    ):
        response = tab.go(path)
        assert response.status == status
        assert page.get_by_role("heading", name=heading).is_visible()
        nav = page.get_by_role("navigation", name="Main")
        for name in ("Dashboard", "Customers", "Runs", "Campaigns", "API docs"):
            link = nav.get_by_role("link", name=name, exact=True)
            assert link.is_visible()
            box = link.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], name
        assert nav.get_by_role("link", name="Activity").count() == 0
        scroll, client = _overflow(page)
        assert scroll <= client, f"{path} is {scroll} px wide at {client} px"
        tab.shot(f"phone{path.replace('/', '-')}")
