"""Headless Chromium (Debian's `chromium` package) driven by Playwright against the real server.

CI installs the browser; where it is missing the tests fail saying so rather than skip, so a green
run always means the page was really exercised.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support.stack_fixtures import ApiServer
from tests.support.waiting import OUTCOME_TIMEOUT_S

# Debian's /usr/bin/chromium is a shell wrapper; the binary behind it starts the same browser.
CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "chromium", "chromium-browser")
# Actions and expect() alike wait on what the page shows, as long as any outcome may take: expect()'s
# own default (5 s) would be a guess of how fast the worker answers.
TIMEOUT_MS = OUTCOME_TIMEOUT_S * 1000
expect.set_options(timeout=TIMEOUT_MS)


def _chromium() -> str:
    configured = os.environ.get("QUEUEBOT_TEST_CHROMIUM")
    for candidate in (configured, *CHROMIUM_CANDIDATES):
        if candidate and (found := shutil.which(candidate)):
            return found
    raise RuntimeError(
        "no Chromium found: install Debian's chromium package (.ci/run does) or set "
        "QUEUEBOT_TEST_CHROMIUM to a Chromium binary"
    )


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        # No sandbox: CI runs as root in a container, where Chromium's sandbox cannot start.
        browser = playwright.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, api_server: ApiServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context (no cookies) on the web page, not signed in."""
    context = browser.new_context(base_url=api_server.base_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # The server's Content-Security-Policy: whatever the page does must stay within it.
    page.on(
        "console",
        lambda message: errors.append(message.text) if "Content Security Policy" in message.text else None,
    )
    page.goto("/")
    yield page
    # QUEUEBOT_TEST_SCREENSHOTS=folder keeps each test's last view, to look at what the page showed.
    screenshots = os.environ.get("QUEUEBOT_TEST_SCREENSHOTS")
    if screenshots:
        Path(screenshots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(screenshots) / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert errors == [], f"the page's scripts failed or broke its security policy: {errors}"


@pytest.fixture
def signed_in(page: Page) -> Page:
    page.get_by_label("API token").fill("test-token")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Chat").wait_for()
    return page
