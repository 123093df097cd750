"""Headless Chromium for the browser journeys (Debian's /usr/bin/chromium; Playwright never downloads one).

Outside CI the tests skip with a reason when Chromium or Playwright is missing; in CI (env CI set) they fail.
Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test are safe here.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = os.environ.get("SEGMENTA_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-unsafe-swiftshader",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts" / "screenshots"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        _unavailable(f"no Chromium at {CHROMIUM} (install Debian's chromium package)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
    yield browser
    browser.close()
    pw.stop()


class Tab:
    """A page with its console errors collected, plus helpers for the journeys."""

    def __init__(self, page, base_url: str, name: str) -> None:
        self.page = page
        self.base = base_url
        self.name = name
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))

    def _console(self, msg) -> None:
        # The browser's own favicon probe is not a page error (the app serves no favicon).
        if msg.type == "error" and not (msg.location or {}).get("url", "").endswith("/favicon.ico"):
            self.errors.append(f"console: {msg.text} at {(msg.location or {}).get('url', '')}")

    def go(self, path: str):
        return self.page.goto(self.base + path, wait_until="load")

    def shot(self, label: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{self.name}-{label}.png"), full_page=True)

    def login(self, username: str, password: str) -> None:
        self.go("/accounts/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        self.page.click("form button[type=submit], form input[type=submit]")
        self.page.wait_for_load_state("load")


@pytest.fixture
def tab(chromium, live_server, request):
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield Tab(page, live_server.url, request.node.name)
    context.close()
