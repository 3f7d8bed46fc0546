"""Checks the page tests share: nothing wider than a phone's screen, and screenshots to look at."""

import os
import tempfile
from pathlib import Path

# Where screenshots go: NEXUS_SHOTS, else the system's temporary directory.
SHOTS = Path(os.environ.get("NEXUS_SHOTS") or Path(tempfile.gettempdir()) / "shots-h6")


def assert_fits_the_width(page) -> None:
    """The page does not scroll sideways: nothing sticks out of the window (a table may scroll in its own box)."""
    sizes = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth,"
        " wide: Array.from(document.querySelectorAll('body *')).filter(el => el.getBoundingClientRect().right"
        " > window.innerWidth + 1 && getComputedStyle(el).position !== 'fixed' && !el.closest('.table-wrap'))"
        ".slice(0, 5).map(el => el.tagName + '.' + el.className)})"
    )
    assert sizes["scroll"] <= sizes["inner"], f"The page is {sizes['scroll']}px wide in {sizes['inner']}px: {sizes}"


def shoot(page, name: str) -> None:
    """A full-page screenshot to look at by eye, named after the page and the window's width."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{page.viewport_size['width']}.png"), full_page=True)


def post_from_page(page, url: str, data: dict) -> int:
    """POST a form from inside the page (its session and CSRF token), as a crafted request would; the status."""
    return page.evaluate(
        """async ([url, data]) => {
          const cookie = document.cookie.split("; ").find((part) => part.startsWith("csrftoken="));
          const headers = document.body.getAttribute("hx-headers");
          const token = cookie ? cookie.slice("csrftoken=".length) : JSON.parse(headers)["X-CSRFToken"];
          const response = await fetch(url, {method: "POST", headers: {"X-CSRFToken": token},
                                             body: new URLSearchParams(data), redirect: "manual"});
          return response.status;
        }""",
        [url, data],
    )
