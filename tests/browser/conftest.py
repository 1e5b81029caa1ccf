"""Chromium through Playwright for browser tests.

Debian's /usr/bin/chromium is used (Playwright cannot download its own here).
Without it the browser tests are skipped — except in CI (CI=true), where a
missing browser must fail the run rather than pass it silently.
"""

import os
import re
from pathlib import Path

import pytest

# Playwright's sync API runs an asyncio loop in the test thread; Django then
# refuses ORM calls from "async" code unless told that this is safe (it is:
# the test thread is plain synchronous code).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        if _in_ci():
            pytest.fail(f"{CHROMIUM} is missing; CI must run the browser tests.")
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                             headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


# What tests.conftest.make_account gives every account it creates.
PASSWORD = "Secret-pass-123"


def log_in(page, base_url: str, email: str, password: str = PASSWORD) -> None:
    """Log in through the back office's login form and land on its index."""
    from playwright.sync_api import expect

    page.goto(f"{base_url}/admin/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit], input[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/$"))
