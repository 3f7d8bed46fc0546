"""Updates in two real browsers: maria publishes a critical update, sam is told live and acknowledges it."""

import pytest
from playwright.sync_api import expect

from accounts import services as accounts_services
from tests.browser.conftest import open_live
from updates.models import Update, UpdateRecipient

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sam(acme):
    return accounts_services.create_member(
        organization=acme,
        username="sam",
        email="sam@example.com",
        password="x-Pass-123456",
        role="staff",
        first_name="Sam",
    )


def test_a_critical_update_reaches_sam_live_and_his_acknowledgement_reaches_maria(
    asgi_live_server, logged_in_page, maria, sam
):
    sam_page = logged_in_page(sam, asgi_live_server)
    open_live(sam_page, f"{asgi_live_server}/updates/")  # Sam reads the feed; nothing is in it yet.
    expect(sam_page.get_by_test_id("feed-empty")).to_be_visible()
    expect(sam_page.get_by_test_id("updates-new")).to_be_hidden()

    maria_page = logged_in_page(maria, asgi_live_server)
    open_live(maria_page, f"{asgi_live_server}/updates/new/")
    maria_page.get_by_label("Title").fill("Gas leak drill at 14:00")
    maria_page.get_by_label("Content").fill("Leave by **gate 2**.")
    maria_page.get_by_label("Priority").select_option("critical")
    maria_page.get_by_test_id("publish").click()
    expect(maria_page.get_by_test_id("update-detail")).to_contain_text("Gas leak drill at 14:00")
    update = Update.objects.get()
    total = update.recipients.count()  # Sam, whoever else the organization holds; the author is not asked.
    assert total >= 1 and update.recipients.filter(user=sam).exists()
    expect(maria_page.get_by_test_id("ack-count")).to_have_text(f"0 of {total} acknowledged")
    expect(maria_page.locator(".conn-state")).to_have_attribute("data-state", "open")

    # Sam's open feed: the notification's toast and the banner that brings the new card in.
    expect(sam_page.locator("#toasts .toast")).to_contain_text("Gas leak drill at 14:00. Please acknowledge.")
    banner = sam_page.get_by_test_id("updates-new")
    expect(banner).to_be_visible()
    banner.click()
    card = sam_page.get_by_test_id("update-card")
    expect(card).to_contain_text("Gas leak drill at 14:00")
    expect(card.locator(".update-content strong")).to_have_text("gate 2")
    expect(banner).to_be_hidden()

    card.get_by_role("link", name="Gas leak drill at 14:00").click()
    expect(sam_page.get_by_test_id("update-detail")).to_be_visible()
    sam_page.get_by_test_id("acknowledge").click()
    expect(sam_page.get_by_test_id("acknowledged")).to_be_visible()

    # Maria's detail page counts it without a reload.
    expect(maria_page.get_by_test_id("ack-count")).to_have_text(f"1 of {total} acknowledged")
    assert UpdateRecipient.objects.get(update=update, user=sam).acknowledged_at is not None

    # Sam comments; maria's open page shows the comment without a reload.
    sam_page.get_by_test_id("comment-form").locator("textarea").fill("Gate 2 is **locked**, use gate 3?")
    sam_page.get_by_test_id("comment-form").get_by_role("button", name="Comment").click()
    expect(sam_page.get_by_test_id("comment")).to_contain_text("Gate 2 is locked")
    expect(maria_page.get_by_test_id("comment")).to_contain_text("Gate 2 is locked, use gate 3?")
    expect(maria_page.get_by_test_id("comment").locator(".entry-text strong")).to_have_text("locked")
