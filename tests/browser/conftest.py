"""Playwright driving Debian's Chromium (/usr/bin/chromium); no downloaded browsers.

Browser tests are skipped with a reason when Chromium is not installed, except
under NEXUS_REQUIRE_BROWSER=1 (CI sets it), where a missing browser fails.

Every page the fixtures open fails its test on any console error, uncaught
exception or htmx error event (such as `htmx:oobErrorNoTarget`, a live fragment
the page has no place for). A test that provokes one on purpose says so with
`console_errors.allow(pattern)`.
"""

import os
import re
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


DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}

# htmx reports its errors as events on the page (htmx 2 names them; each also sets detail.error); the page
# turns them into console errors so that one listener sees everything.
_REPORT_HTMX_ERRORS = """
(() => {
  const names = ["htmx:oobErrorNoTarget", "htmx:targetError", "htmx:swapError", "htmx:onLoadError",
                 "htmx:sendError", "htmx:historyCacheError", "htmx:evalDisallowedError", "htmx:invalidPath"];
  for (const name of names) {
    document.addEventListener(name, (event) => {
      const detail = event.detail || {};
      console.error(name + " " + String(detail.target || (detail.pathInfo && detail.pathInfo.requestPath) || ""));
    });
  }
})();
"""


class ConsoleErrors:
    """Console errors, uncaught exceptions and htmx errors of the test's pages; the test fails on any not allowed."""

    def __init__(self):
        self.seen: list[str] = []
        self.allowed: list[re.Pattern] = []

    def allow(self, pattern: str) -> None:
        """Let errors matching `pattern` (a regular expression) pass: the test provokes them on purpose."""
        self.allowed.append(re.compile(pattern))

    def watch(self, context) -> None:
        """Every page of the browser context, including pages a test opens in it later."""
        context.on("console", lambda message: message.type == "error" and self._add(message))
        context.on(
            "weberror",
            lambda error: self.seen.append(f"{error.page.url if error.page else ''} uncaught: {error.error}"),
        )

    def _add(self, message) -> None:
        where = message.page.url if message.page else ""
        self.seen.append(f"{where} console: {message.text}")

    def unexpected(self) -> list[str]:
        return [text for text in self.seen if not any(pattern.search(text) for pattern in self.allowed)]


@pytest.fixture
def console_errors(request):
    errors = ConsoleErrors()
    if "live_server" in request.fixturenames:
        # pytest-django's live server speaks only HTTP (WSGI): a page's socket is refused there by design.
        errors.allow(r"WebSocket connection to '[^']*/ws/(\?[^']*)?' failed")
    yield errors
    unexpected = errors.unexpected()
    if unexpected:
        pytest.fail("The pages logged errors:\n" + "\n".join(unexpected), pytrace=False)


def _new_page(browser, console_errors, *, viewport=None, cookies=()):
    context = browser.new_context(viewport=viewport or DESKTOP)
    if cookies:
        context.add_cookies(list(cookies))
    context.add_init_script(_REPORT_HTMX_ERRORS)
    console_errors.watch(context)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


@pytest.fixture
def page(browser, console_errors):
    context, page = _new_page(browser, console_errors)
    yield page
    context.close()


@pytest.fixture
def logged_in_page(browser, console_errors):
    """`logged_in_page(user, base_url, viewport=None)`: a page in its own browser context with `user`'s session
    (1366x900 unless `viewport` says otherwise, e.g. PHONE)."""
    from django.test import Client

    contexts = []

    def make(user, base_url, viewport=None):
        client = Client()
        client.force_login(user, backend="accounts.backends.ModelBackend")
        cookie = {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url}
        context, page = _new_page(browser, console_errors, viewport=viewport, cookies=[cookie])
        contexts.append(context)
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
