"""Updates in two real browsers: maria publishes a critical update, sam is told live and acknowledges it."""

import pytest
from playwright.sync_api import expect

from accounts import services as accounts_services
from tests.browser.conftest import DESKTOP, PHONE, open_live
from tests.updates.media import wav_bytes
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


def _critical_update(author, title="Evacuation drill at 14:00"):
    from updates import services

    return services.create_update(author=author, draft=services.Draft(title=title, priority="critical"), publish=True)


def test_an_acknowledgement_moves_the_count_and_both_lists_on_every_open_receipts_page(
    asgi_live_server, logged_in_page, maria, alice, sam
):
    update = _critical_update(maria)
    url = f"{asgi_live_server}/updates/{update.pk}/"
    # The author watches the update and has the feed open in another tab; an admin it reached watches it too.
    author = logged_in_page(maria, asgi_live_server)
    authors_feed = author.context.new_page()
    admin = logged_in_page(alice, asgi_live_server)
    for page in (author, admin):
        open_live(page, url)
        expect(page.get_by_test_id("receipts")).to_have_attribute("data-subscribed", "true")
        expect(page.get_by_test_id("ack-count")).to_have_text("0 of 2 acknowledged")
        expect(page.get_by_test_id("acknowledged-list")).to_have_text("Nobody yet.")
        expect(page.get_by_test_id("pending-list")).to_contain_text("Sam")
        expect(page.get_by_test_id("remind")).to_be_visible()
    open_live(authors_feed, f"{asgi_live_server}/updates/")

    sam_page = logged_in_page(sam, asgi_live_server)
    open_live(sam_page, url)
    sam_page.get_by_test_id("acknowledge").click()
    expect(sam_page.get_by_test_id("acknowledged")).to_be_visible()

    for page in (author, admin):  # No reload: the count and both lists move together.
        expect(page.get_by_test_id("ack-count")).to_have_text("1 of 2 acknowledged")
        expect(page.get_by_test_id("acknowledged-list")).to_contain_text("Sam")
        expect(page.get_by_test_id("pending-list")).not_to_contain_text("Sam")
        expect(page.get_by_test_id("pending-list")).to_contain_text("Alice")

    # The last one to acknowledge empties "Not yet", and the reminder goes with it.
    admin_as_recipient = admin.context.new_page()
    admin_as_recipient.goto(url)
    admin_as_recipient.get_by_test_id("acknowledge").click()
    expect(admin_as_recipient.get_by_test_id("acknowledged")).to_be_visible()
    expect(author.get_by_test_id("ack-count")).to_have_text("2 of 2 acknowledged")
    expect(author.get_by_test_id("pending-list")).to_have_text("Everyone has acknowledged.")
    expect(author.get_by_test_id("remind")).to_be_hidden()
    # The feed tab got nothing it has no place for (the console_errors fixture fails the test on any htmx error).
    expect(authors_feed.get_by_test_id("update-feed")).to_contain_text("Evacuation drill at 14:00")


AUDIENCE_PICKERS = {
    "Everyone in the organization": set(),
    "Some roles": {"target_roles"},
    "Some people": {"target_users"},
    "Some roles and some people": {"target_roles", "target_users"},
}


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_form_shows_only_the_pickers_of_the_chosen_audience(
    live_server, logged_in_page, maria, alice, sam, viewport
):
    page = logged_in_page(maria, live_server.url, viewport=viewport)
    page.goto(f"{live_server.url}/updates/new/")
    pickers = {name: page.locator(f'[data-field="{name}"]') for name in ("target_roles", "target_users")}
    for name in pickers:  # "Everyone" is chosen at first: no picker.
        expect(pickers[name]).to_be_hidden()
    for audience, shown in [*AUDIENCE_PICKERS.items(), ("Everyone in the organization", set())]:
        page.get_by_label(audience, exact=True).check()
        for name, picker in pickers.items():
            expect(picker).to_be_visible() if name in shown else expect(picker).to_be_hidden()

    # A picker the server refused is shown with its error, even before the audience changes again.
    page.get_by_label("Title").fill("Shift change")
    page.get_by_label("Some people", exact=True).check()
    page.get_by_test_id("publish").click()
    expect(pickers["target_users"]).to_contain_text("Choose at least one person")
    expect(pickers["target_users"]).to_be_visible()
    expect(pickers["target_roles"]).to_be_hidden()
    assert not Update.objects.exists()

    # Files: a button and the names chosen; the date input is as tall as the text inputs.
    media = page.locator('[data-field="media"]')
    expect(media.get_by_text("Choose files")).to_be_visible()
    expect(media.locator("[data-file-names]")).to_have_text("No files chosen")
    media.locator("input[type=file]").set_input_files(
        [{"name": "noise.wav", "mimeType": "audio/wav", "buffer": wav_bytes()}]
    )
    expect(media.locator("[data-file-names]")).to_have_text("noise.wav")
    heights = [page.locator(selector).bounding_box()["height"] for selector in ("#id_title", "#id_published_at")]
    assert abs(heights[0] - heights[1]) < 1, heights

    # With the people chosen, it goes out to them only.
    # The people picker filters by name, and a click toggles one person without losing the others.
    people = pickers["target_users"]
    people.get_by_test_id("people-filter").fill("ali")
    expect(people.locator("option:not([hidden])")).to_have_text([f"{alice.display_name} (Administrator)"])
    people.get_by_test_id("people-filter").fill("")
    people.get_by_role("option", name=sam.display_name).click()
    people.get_by_role("option", name=alice.display_name).click()
    expect(people).to_contain_text("2 people chosen")
    people.get_by_role("option", name=sam.display_name).click()
    expect(people).to_contain_text("1 person chosen")
    page.get_by_test_id("publish").click()
    expect(page.get_by_test_id("update-detail")).to_contain_text("Shift change")
    assert list(Update.objects.get().recipients.values_list("user__username", flat=True)) == ["alice"]
    audio = page.get_by_test_id("update-audio")
    expect(audio).to_be_visible()
    page.wait_for_function("() => document.querySelector('[data-testid=update-audio]').readyState >= 1")
    assert page.evaluate("() => document.querySelector('[data-testid=update-audio]').duration") > 0.4


# Holds the page's "subscribe" frames until the test lets them go, to stage a change that lands in between.
_HOLD_SUBSCRIPTIONS = """
(() => {
  const send = WebSocket.prototype.send;
  window.heldFrames = [];
  window.releaseFrames = () => { const held = window.heldFrames; window.heldFrames = null; held.forEach((f) => f()); };
  WebSocket.prototype.send = function (data) {
    if (!window.heldFrames || !String(data).includes('"subscribe"')) return send.call(this, data);
    window.heldFrames.push(() => send.call(this, data));
  };
})();
"""


def test_receipts_that_changed_before_the_subscription_was_confirmed_fetch_themselves(
    asgi_live_server, logged_in_page, maria, sam
):
    from updates import services

    update = _critical_update(maria)
    author = logged_in_page(maria, asgi_live_server)
    author.add_init_script(_HOLD_SUBSCRIPTIONS)
    open_live(author, f"{asgi_live_server}/updates/{update.pk}/")
    expect(author.get_by_test_id("acknowledged-list")).to_have_text("Nobody yet.")
    author.wait_for_function("() => window.heldFrames && window.heldFrames.length === 1")

    # Sam acknowledges while the page is not yet following the update: its fragment cannot reach the page.
    services.acknowledge(user=sam, update=update)
    author.wait_for_timeout(500)
    expect(author.get_by_test_id("acknowledged-list")).to_have_text("Nobody yet.")

    author.evaluate("window.releaseFrames()")
    expect(author.get_by_test_id("receipts")).to_have_attribute("data-subscribed", "true")
    expect(author.get_by_test_id("acknowledged-list")).to_contain_text("Sam")
    expect(author.get_by_test_id("ack-count")).to_have_text("1 of 1 acknowledged")
