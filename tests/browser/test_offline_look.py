"""What a plant PC without internet (and without an emoji font) sees: the 3D model's placeholder instead of a blank
card, icons from the vendored sprite, and dates whose relative text keeps up with the clock."""

import re
import zoneinfo
from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from activities import services as activity_services
from activities.models import ActivityType
from machines import selectors as machine_selectors
from machines.models import Machine, MachineType
from nexus.dates import date_text, relative_text
from tests.browser.conftest import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MODEL_ID = "9fa6d94f4e3342a0b8adfd922e8c1901"
# A 1x1 transparent PNG: what the probe of sketchfab.com gets when the plant is online.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


VIEWER = "<!doctype html><title>viewer</title><p>3D viewer</p>"


@pytest.fixture
def roller(acme):
    kind = MachineType.objects.create(organization=acme, name="Roller", model_id=MODEL_ID)
    return Machine.objects.create(organization=acme, name="Coil roller R-100", machine_type=kind, pos_x=0, pos_y=0)


@pytest.fixture
def internet(monkeypatch):
    """`internet(False)`: the hub's server cannot reach sketchfab.com (the live server runs in this process)."""

    def set_reachable(reachable: bool) -> None:
        monkeypatch.setattr(machine_selectors, "sketchfab_reachable", lambda: reachable)

    return set_reachable


def _offline(page) -> list[str]:
    """Every request of the browser to Sketchfab fails, as on a plant network without internet; returns the URLs
    tried."""
    tried: list[str] = []

    def refuse(route):
        tried.append(route.request.url)
        route.abort("internetdisconnected")

    page.route(re.compile(r"^https://([a-z0-9-]+\.)*sketchfab\.com/"), refuse)
    return tried


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_it_shows_a_placeholder_with_the_link_when_sketchfab_cannot_be_reached(
    live_server, logged_in_page, maria, roller, internet, viewport
):
    internet(False)
    page = logged_in_page(maria, live_server.url, viewport=viewport)
    tried = _offline(page)
    page.goto(f"{live_server.url}/machines/{roller.pk}/")

    embed = page.get_by_test_id("model-embed")
    expect(embed).to_have_attribute("data-state", "offline")
    placeholder = page.get_by_test_id("model-placeholder")
    expect(placeholder).to_be_visible()
    expect(placeholder).to_contain_text("The 3D model needs internet access")
    link = placeholder.get_by_role("link", name="Open on Sketchfab")
    expect(link).to_have_attribute("href", f"https://sketchfab.com/models/{MODEL_ID}")
    expect(page.locator("[data-testid=model-3d] iframe")).to_have_count(0)
    assert tried == []  # The browser was spared a request that fails (and an error in its console).
    box = placeholder.bounding_box()
    assert box and box["height"] > 150 and box["width"] > 250

    # The rest of the page is unaffected: its other cards are there and its links work.
    expect(page.get_by_test_id("flows")).to_be_visible()
    page.get_by_test_id("report-fault").click()
    expect(page.get_by_label("Description")).to_be_visible()


def test_it_swaps_in_the_viewer_when_sketchfab_answers(live_server, logged_in_page, maria, roller, internet):
    internet(True)
    page = logged_in_page(maria, live_server.url)
    page.route("https://sketchfab.com/favicon.ico*", lambda route: route.fulfill(body=PIXEL, content_type="image/png"))
    page.route(
        f"https://sketchfab.com/models/{MODEL_ID}/embed",
        lambda route: route.fulfill(body=VIEWER, content_type="text/html"),
    )
    page.goto(f"{live_server.url}/machines/{roller.pk}/")

    embed = page.get_by_test_id("model-embed")
    expect(embed).to_have_attribute("data-state", "loaded")
    frame = embed.locator("iframe")
    expect(frame).to_have_attribute("src", f"https://sketchfab.com/models/{MODEL_ID}/embed")
    expect(frame).to_have_attribute("title", "Roller: 3D model")
    expect(page.frame_locator("[data-testid=model-embed] iframe").locator("p")).to_have_text("3D viewer")
    expect(page.get_by_test_id("model-placeholder")).to_have_count(0)
    expect(page.locator(".model-link")).to_be_visible()


def test_it_stays_on_the_placeholder_when_only_the_server_reaches_sketchfab(
    live_server, logged_in_page, maria, roller, internet, console_errors
):
    internet(True)
    page = logged_in_page(maria, live_server.url)
    tried = _offline(page)
    # The browser's own check fails here, and Chromium reports that failed image in the console.
    console_errors.allow(r"Failed to load resource: net::ERR_INTERNET_DISCONNECTED")
    page.goto(f"{live_server.url}/machines/{roller.pk}/")
    expect(page.get_by_test_id("model-embed")).to_have_attribute("data-state", "offline")
    expect(page.get_by_test_id("model-placeholder")).to_be_visible()
    assert [url.split("?")[0] for url in tried] == ["https://sketchfab.com/favicon.ico"]


def test_it_loads_the_viewer_anyway_when_asked(live_server, logged_in_page, maria, roller, internet):
    internet(False)
    page = logged_in_page(maria, live_server.url)
    _offline(page)
    page.goto(f"{live_server.url}/machines/{roller.pk}/")
    expect(page.get_by_test_id("model-embed")).to_have_attribute("data-state", "offline")
    page.get_by_role("button", name="Try loading it here").click()
    expect(page.locator("[data-testid=model-embed] iframe")).to_have_count(1)


def test_the_icons_come_from_the_vendored_sprite(live_server, logged_in_page, maria, roller, internet):
    internet(False)
    page = logged_in_page(maria, live_server.url, viewport=PHONE)
    with page.expect_response(re.compile(r"/static/vendor/lucide/sprite\.svg")) as sprite:
        page.goto(f"{live_server.url}/machines/{roller.pk}/")
    assert sprite.value.status == 200
    assert sprite.value.headers["content-type"].startswith("image/svg+xml")
    menu = page.locator(".nav-toggle-label svg.icon use")
    expect(menu).to_have_attribute("href", re.compile(r"sprite\.svg#menu$"))
    drawn = page.locator(".nav-toggle-label svg.icon").bounding_box()
    assert drawn and drawn["width"] >= 16 and drawn["height"] >= 16


def test_relative_times_keep_up_with_the_clock(live_server, logged_in_page, maria):
    now = timezone.now()
    activity = activity_services.create_activity(
        organization=maria.organization,
        actor=maria,
        title="Check the coolant level",
        type=ActivityType.MAINTENANCE,
        start_time=now - timedelta(hours=1),
        end_time=now + timedelta(minutes=30),
        priority="medium",
    )
    page = logged_in_page(maria, live_server.url)
    page.clock.install(time=now)
    page.goto(f"{live_server.url}/activities/{activity.pk}/")
    created = page.locator("[data-testid=activity-header] time").filter(has_text="just now").first
    expect(created).to_be_visible()
    iso = created.get_attribute("datetime")
    title = created.get_attribute("title")
    assert title and re.fullmatch(r"\w{3} \d{1,2} \w{3} \d{4}, \d{2}:\d{2} CET", title), title

    page.clock.fast_forward("03:00")
    expect(page.locator(f'[data-testid=activity-header] time[datetime="{iso}"]').first).to_have_text("3 min ago")
    # The same rules as nexus/dates.py, in the organization's zone (Berlin) whatever the browser's.
    now = "new Date('2026-12-03T14:00:00Z')"
    cases = {
        f"relativeText(new Date('2026-12-02T13:05:00Z'), {now})": "yesterday 14:05",
        f"relativeText(new Date('2025-12-02T13:05:00Z'), {now})": "2 Dec 2025",
        f"relativeText(new Date('2026-12-03T16:00:00Z'), {now})": "in 2 h",
        "dateText('2026-12-04', new Date('2026-12-03T23:30:00Z'))": "today",
    }
    for call, text in cases.items():
        assert page.evaluate(f"window.nexusDates.{call}") == text, call


def test_the_page_writes_times_with_the_same_rules_as_the_server(live_server, logged_in_page, maria):
    """nexus.js's Dates and nexus/dates.py, over the boundaries, in the organization's zone (Berlin)."""
    page = logged_in_page(maria, live_server.url)
    page.goto(f"{live_server.url}/activities/")
    now = datetime(2026, 12, 3, 23, 30, tzinfo=UTC)  # 00:30 on 4 Dec in Berlin, 23:30 on 3 Dec in UTC
    offsets = [0, 59, 60, 61, 3599, 3600, 3661, 1800 + 60, 2400, 5400, 9000, 86_400, 86_400 + 1800, 200_000, 3e7]
    moments = [now - timedelta(seconds=s) for s in offsets] + [now + timedelta(seconds=s) for s in offsets]
    days = [date(2026, 12, day) for day in (2, 3, 4, 5, 24)] + [date(2027, 1, 1), date(2025, 12, 4)]
    with timezone.override(zoneinfo.ZoneInfo("Europe/Berlin")):
        expected = [relative_text(moment, now=now) for moment in moments]
        expected += [date_text(day, today=now.astimezone(timezone.get_current_timezone()).date()) for day in days]
    written = page.evaluate(
        """([moments, days, now]) => moments.map((m) => window.nexusDates.relativeText(new Date(m), new Date(now)))
             .concat(days.map((d) => window.nexusDates.dateText(d, new Date(now))))""",
        [[moment.isoformat() for moment in moments], [day.isoformat() for day in days], now.isoformat()],
    )
    assert written == expected
