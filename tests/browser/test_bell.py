"""The bell's dropdown in a real browser: open it, see notifications arrive live, mark read, on desktop and phone."""

import os

import pytest
from notifications.models import Notification
from playwright.sync_api import expect

from chat import services
from chat.models import Message
from tests.browser.conftest import PHONE, open_live

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# NEXUS_SHOTS=/some/dir saves screenshots of the open panel there, to look at.
SHOTS = os.environ.get("NEXUS_SHOTS", "")


def _shot(page, name: str) -> None:
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"))


def test_the_bell_shows_notifications_live_and_marks_them_all_read(asgi_live_server, logged_in_page, maria, tom):
    direct = services.get_or_create_direct(user=maria, other=tom)
    page = logged_in_page(tom, asgi_live_server)
    open_live(page, f"{asgi_live_server}/")
    other_tab = logged_in_page(tom, asgi_live_server)
    open_live(other_tab, f"{asgi_live_server}/activities/")

    services.send_message(sender=maria, conversation=direct, content="Press 4 is leaking oil")
    services.send_message(sender=maria, conversation=direct, content="Can you bring the **spill kit**?")
    count = page.get_by_test_id("notification-count")
    expect(count).to_have_attribute("data-count", "2")

    bell = page.get_by_test_id("bell")
    panel = page.get_by_test_id("bell-panel")
    expect(bell).to_have_attribute("aria-expanded", "false")
    expect(panel).to_be_hidden()
    bell.click()
    expect(bell).to_have_attribute("aria-expanded", "true")
    items = panel.get_by_test_id("bell-item")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("Maria sent a message")
    expect(items.first).to_contain_text("in a direct message: Can you bring the **spill kit**?")
    expect(items.first).to_have_class("bell-item unread")
    # Focus moves into the panel, so the keyboard can go on from there.
    expect(panel.locator(".bell-link").first).to_be_focused()
    _shot(page, "bell-desktop")

    # A notification that arrives while the panel is open appears in it, and the count moves.
    services.send_message(sender=maria, conversation=direct, content="Never mind, found one")
    expect(items).to_have_count(3)
    expect(items.first).to_contain_text("Never mind, found one")
    expect(count).to_have_attribute("data-count", "3")

    panel.get_by_test_id("bell-mark-all-read").click()
    expect(count).to_have_attribute("data-count", "0")
    expect(panel.locator(".bell-item.unread")).to_have_count(0)
    expect(panel.get_by_test_id("bell-mark-all-read")).to_be_disabled()
    assert not Notification.objects.filter(recipient=tom, unread=True).exists()
    # Tom's other tab hears it too.
    expect(other_tab.get_by_test_id("notification-count")).to_have_attribute("data-count", "0")

    # Escape closes the panel and gives the focus back to the bell; a click outside closes it too.
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(bell).to_be_focused()
    expect(bell).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    expect(panel).to_be_visible()
    page.locator("main").click(position={"x": 5, "y": 5})
    expect(panel).to_be_hidden()


def test_opening_a_notification_marks_it_read_and_follows_its_link(asgi_live_server, logged_in_page, maria, tom):
    direct = services.get_or_create_direct(user=maria, other=tom)
    services.send_message(sender=maria, conversation=direct, content="First")
    services.send_message(sender=maria, conversation=direct, content="Second")
    page = logged_in_page(tom, asgi_live_server)
    open_live(page, f"{asgi_live_server}/activities/")
    expect(page.get_by_test_id("notification-count")).to_have_attribute("data-count", "2")

    page.get_by_test_id("bell").click()
    page.get_by_test_id("bell-item").filter(has_text="First").locator(".bell-link").click()

    first_message = Message.objects.filter(conversation=direct).order_by("id")[0]
    expect(page).to_have_url(f"{asgi_live_server}/chat/{direct.pk}/#message-{first_message.pk}")
    first, second = Notification.objects.filter(recipient=tom).order_by("id")
    assert not first.unread and second.unread
    expect(page.get_by_test_id("notification-count")).to_have_attribute("data-count", "1")

    # The dot marks one read without leaving the page.
    page.get_by_test_id("bell").click()
    page.get_by_test_id("bell-mark-read").click()
    expect(page.get_by_test_id("notification-count")).to_have_attribute("data-count", "0")
    expect(page.get_by_test_id("bell-panel").locator(".bell-item.unread")).to_have_count(0)


def test_on_a_phone_the_panel_spans_the_screen(asgi_live_server, logged_in_page, maria, tom):
    direct = services.get_or_create_direct(user=maria, other=tom)
    for text in ("Belt on line 2 is slipping", "Spare belts are in bay 3", "Can you take it?"):
        services.send_message(sender=maria, conversation=direct, content=text)
    page = logged_in_page(tom, asgi_live_server, viewport=PHONE)
    open_live(page, f"{asgi_live_server}/")

    page.get_by_test_id("bell").click()
    panel = page.get_by_test_id("bell-panel")
    expect(panel.get_by_test_id("bell-item")).to_have_count(3)
    box = panel.bounding_box()
    assert box["x"] == 0 and box["width"] == PHONE["width"]
    bell_box = page.get_by_test_id("bell").bounding_box()
    assert box["y"] >= bell_box["y"] + bell_box["height"]  # below the top bar, not over the bell
    _shot(page, "bell-phone")
    expect(panel.get_by_test_id("bell-see-all")).to_be_visible()
    panel.get_by_test_id("bell-see-all").click()
    expect(page).to_have_url(f"{asgi_live_server}/notifications/")
