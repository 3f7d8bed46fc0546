"""Chat in two real browsers: maria and tom talk live, with the unread badge and the typing indicator."""

import pytest
from playwright.sync_api import expect

from chat import services
from chat.models import Message
from tests.browser.conftest import open_live

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_maria_and_tom_chat_live_with_unread_badge_and_typing(asgi_live_server, logged_in_page, maria, tom):
    direct = services.get_or_create_direct(user=maria, other=tom)
    crew = services.create_group(actor=maria, name="Line 2 crew", members=[tom])
    room = f"{asgi_live_server}/chat/{direct.pk}/"

    tom_page = logged_in_page(tom, asgi_live_server)
    open_live(tom_page, f"{asgi_live_server}/activities/")  # Tom is elsewhere in the hub.
    maria_page = logged_in_page(maria, asgi_live_server)
    open_live(maria_page, room)

    composer = maria_page.get_by_test_id("composer-input")
    composer.fill("Can you check **press 4**?")
    composer.press("Enter")
    expect(maria_page.get_by_test_id("message-list")).to_contain_text("Can you check press 4?")
    # Tom's nav badge counts it without a reload.
    expect(tom_page.get_by_test_id("chat-unread")).to_have_attribute("data-count", "1")

    open_live(tom_page, room)
    expect(tom_page.get_by_test_id("message-list").locator(".msg-body strong")).to_have_text("press 4")
    # Reading it clears his badge, and Maria sees that he has seen it.
    expect(tom_page.get_by_test_id("chat-unread")).to_have_attribute("data-count", "0")
    expect(maria_page.get_by_test_id("seen")).to_be_visible()

    tom_input = tom_page.get_by_test_id("composer-input")
    tom_input.press_sequentially("On my way")
    expect(maria_page.get_by_test_id("typing")).to_have_text("Tom is typing…")
    tom_input.press("Enter")
    expect(maria_page.get_by_test_id("message-list")).to_contain_text("On my way")
    expect(maria_page.get_by_test_id("typing")).to_have_text("")
    expect(maria_page.get_by_test_id("message-list").get_by_text("On my way")).to_have_count(1)

    # A message in another conversation counts on its sidebar entry and in the total.
    open_live(tom_page, f"{asgi_live_server}/chat/{crew.pk}/")
    tom_page.get_by_test_id("composer-input").fill("Belt replaced")
    tom_page.get_by_test_id("send").click()
    expect(tom_page.get_by_test_id("message-list")).to_contain_text("Belt replaced")
    crew_link = maria_page.locator(f'.conv-link[data-conversation="{crew.pk}"]')
    expect(crew_link.get_by_test_id("conversation-unread")).to_have_attribute("data-count", "1")
    expect(maria_page.get_by_test_id("chat-unread")).to_have_attribute("data-count", "1")
    assert Message.objects.filter(conversation=direct).count() == 2
    assert Message.objects.filter(conversation=crew).count() == 1


def test_messages_sent_while_the_socket_was_down_appear_after_reconnecting(
    asgi_live_server, logged_in_page, maria, tom
):
    direct = services.get_or_create_direct(user=maria, other=tom)
    page = logged_in_page(tom, asgi_live_server)
    open_live(page, f"{asgi_live_server}/chat/{direct.pk}/")
    # Drop the connection, then go offline (the page waits for the network before reconnecting);
    # send while Tom is away. Closing first keeps the close handshake off the offline network.
    page.evaluate("() => window.Nexus.socket().close()")
    page.context.set_offline(True)
    expect(page.locator(".conn-state")).to_have_attribute("data-state", "closed")
    for n in range(3):
        services.send_message(sender=maria, conversation=direct, content=f"While you were away {n}")
    page.context.set_offline(False)
    expect(page.locator(".conn-state")).to_have_attribute("data-state", "open", timeout=15000)
    expect(page.get_by_test_id("message-list")).to_contain_text("While you were away 2")
    for n in range(3):
        expect(page.get_by_test_id("message-list").get_by_text(f"While you were away {n}")).to_have_count(1)
