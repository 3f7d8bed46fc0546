"""Presence in real browsers: the coalesced frames turn dots online and away, and "unknown" greys them."""

import re

import pytest
from playwright.sync_api import expect

from chat import services
from tests.browser.conftest import open_live

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_maria_sees_tom_come_online_and_go_away_live(asgi_live_server, logged_in_page, maria, tom):
    direct = services.get_or_create_direct(user=maria, other=tom)
    maria_page = logged_in_page(maria, asgi_live_server)
    open_live(maria_page, f"{asgi_live_server}/chat/{direct.pk}/")
    dots = maria_page.locator(f'[data-presence-user="{tom.pk}"]')
    expect(dots.first).not_to_have_class(re.compile(r"\bonline\b"))
    expect(dots.first).to_have_attribute("title", "Away")

    tom_page = logged_in_page(tom, asgi_live_server)
    open_live(tom_page, f"{asgi_live_server}/activities/")
    for index in range(dots.count()):  # The sidebar's dot and the member list's.
        expect(dots.nth(index)).to_have_class(re.compile(r"\bonline\b"), timeout=5_000)
        expect(dots.nth(index)).to_have_attribute("title", "Online")

    tom_page.close()
    expect(dots.first).not_to_have_class(re.compile(r"\bonline\b"), timeout=5_000)
    expect(dots.first).to_have_attribute("title", "Away")

    # While the server cannot know (Redis down), it says so and every dot shows it.
    maria_page.evaluate(
        """() => document.dispatchEvent(new CustomEvent("nexus:presence",
        { detail: { type: "presence", unknown: true } }))"""
    )
    expect(dots.first).to_have_class(re.compile(r"\bunknown\b"))
    expect(dots.first).to_have_attribute("title", "Presence unknown")
