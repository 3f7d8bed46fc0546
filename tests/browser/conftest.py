"""Playwright driving Debian's Chromium (/usr/bin/chromium); no downloaded browsers.

Browser tests are skipped with a reason when Chromium is not installed, except
under NEXUS_REQUIRE_BROWSER=1 (CI sets it), where a missing browser fails.
"""

import os
import shutil

import pytest

CHROMIUM = os.environ.get("NEXUS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        message = f"Chromium not found at {CHROMIUM}; install Debian's chromium package."
        if os.environ.get("NEXUS_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    # Playwright's sync API runs an event loop in this thread; Django must still
    # let the test (synchronous code) use the database.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def logged_in_page(browser):
    """`logged_in_page(user, base_url)`: a page in its own browser context with `user`'s session."""
    from django.test import Client

    contexts = []

    def make(user, base_url):
        client = Client()
        client.force_login(user, backend="accounts.backends.ModelBackend")
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url}])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def tom(acme):
    from accounts import services as accounts_services

    return accounts_services.create_member(
        organization=acme,
        username="tom",
        email="tom@example.com",
        password="x-Pass-123456",
        role="technician",
        first_name="Tom",
    )


def open_live(page, url):
    """Open `url` and wait until its socket is open, so that live changes after this reach the page."""
    from playwright.sync_api import expect

    page.goto(url)
    expect(page.locator(".conn-state")).to_have_attribute("data-state", "open")
