"""Chat in two real browsers: maria and tom talk live, with the unread badge and the typing indicator."""

import pytest
from playwright.sync_api import expect

from chat import services
from chat.models import Message, Reaction
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


# The app layout


def _history(conversation, sender, count: int, start: int = 0) -> list[Message]:
    """`count` messages in the conversation, fast (no broadcasts: nobody is watching yet)."""
    return Message.objects.bulk_create(
        Message(
            organization=conversation.organization,
            conversation=conversation,
            sender=sender,
            content=f"Line {n}",
            content_html=f"<p>Line {n}: the press runs, the belt turns, the shift goes on.</p>",
        )
        for n in range(start, start + count)
    )


def _watch_console(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def _in_viewport(page, locator) -> bool:
    box = locator.bounding_box()
    size = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= size["height"] + 0.5


def _room_scroll(page) -> dict:
    return page.get_by_test_id("room-body").evaluate(
        "el => ({top: el.scrollTop, height: el.scrollHeight, client: el.clientHeight,"
        " fromBottom: el.scrollHeight - el.scrollTop - el.clientHeight})"
    )


def test_the_message_pane_scrolls_alone_with_the_composer_in_view(asgi_live_server, logged_in_page, maria, tom):
    direct = services.get_or_create_direct(user=maria, other=tom)
    _history(direct, tom, 80)
    services.mark_read(user=maria, conversation=direct)
    page = logged_in_page(maria, asgi_live_server)
    page.set_viewport_size({"width": 1366, "height": 900})
    errors = _watch_console(page)
    open_live(page, f"{asgi_live_server}/chat/{direct.pk}/")
    composer = page.get_by_test_id("composer-input")
    expect(page.get_by_test_id("message-list")).to_contain_text("Line 79")
    # The page does not scroll; the message pane does, and it opened at the newest message.
    assert page.evaluate("() => document.scrollingElement.scrollHeight <= window.innerHeight")
    scroll = _room_scroll(page)
    assert scroll["height"] > scroll["client"] * 2 and scroll["fromBottom"] < 5
    assert _in_viewport(page, composer) and _in_viewport(page, page.locator("#message-list > .msg").last)
    page.get_by_test_id("room-body").evaluate("el => { el.scrollTop = 0; }")
    page.mouse.wheel(0, -2000)
    assert page.evaluate("() => window.scrollY") == 0
    assert _in_viewport(page, composer) and _in_viewport(page, page.get_by_test_id("room-title"))
    # The sidebar and the member list are panes of their own beside it.
    for pane in ("chat-sidebar", "thread-panel"):
        assert _in_viewport(page, page.get_by_test_id(pane))
    assert errors == []


def test_on_a_phone_one_pane_shows_at_a_time_with_back_buttons(asgi_live_server, logged_in_page, maria, tom):
    direct = services.get_or_create_direct(user=maria, other=tom)
    root = services.send_message(sender=tom, conversation=direct, content="Belt on line 2 is squeaking")
    services.send_message(sender=maria, conversation=direct, content="On it", parent=root)
    page = logged_in_page(maria, asgi_live_server)
    page.set_viewport_size({"width": 390, "height": 844})
    errors = _watch_console(page)
    open_live(page, f"{asgi_live_server}/chat/{direct.pk}/")
    room, sidebar = page.get_by_test_id("chat-room"), page.get_by_test_id("chat-sidebar")
    side = page.get_by_test_id("chat-side")
    expect(room).to_be_visible()
    expect(sidebar).to_be_hidden()
    expect(side).to_be_hidden()
    assert _in_viewport(page, page.get_by_test_id("composer-input"))
    assert page.evaluate("() => document.scrollingElement.scrollHeight <= window.innerHeight")

    page.get_by_test_id("back-to-conversations").click()
    expect(sidebar).to_be_visible()
    expect(room).to_be_hidden()
    page.go_back()  # The phone's back button comes back to the messages, not out of the chat.
    expect(room).to_be_visible()
    expect(sidebar).to_be_hidden()

    page.get_by_test_id("show-members").click()
    expect(side).to_be_visible()
    expect(page.get_by_test_id("member-list")).to_contain_text("Tom")
    expect(room).to_be_hidden()
    page.get_by_test_id("back-to-messages").click()
    expect(room).to_be_visible()
    expect(side).to_be_hidden()

    # A thread takes the screen, and closing it comes back to the messages.
    page.get_by_test_id("reply-in-thread").first.click()
    expect(page.get_by_test_id("thread")).to_be_visible()
    expect(room).to_be_hidden()
    expect(page.get_by_test_id("thread-replies")).to_contain_text("On it")
    page.get_by_label("Close thread").click()
    expect(room).to_be_visible()
    expect(page.get_by_test_id("thread")).to_have_count(0)
    assert errors == []


def test_jump_to_latest_appears_when_scrolled_up_and_takes_the_reader_down(
    asgi_live_server, logged_in_page, maria, tom
):
    direct = services.get_or_create_direct(user=maria, other=tom)
    _history(direct, tom, 60)
    services.mark_read(user=maria, conversation=direct)
    page = logged_in_page(maria, asgi_live_server)
    open_live(page, f"{asgi_live_server}/chat/{direct.pk}/")
    jump = page.get_by_test_id("jump-latest")
    expect(jump).to_be_hidden()
    page.get_by_test_id("room-body").evaluate("el => { el.scrollTop = 0; }")
    expect(jump).to_be_visible()
    assert _in_viewport(page, jump)
    jump.click()
    expect(jump).to_be_hidden()
    assert _room_scroll(page)["fromBottom"] < 5


def test_new_messages_get_a_divider_on_opening_and_a_pill_while_scrolled_up(
    asgi_live_server, logged_in_page, maria, tom
):
    direct = services.get_or_create_direct(user=maria, other=tom)
    seen = _history(direct, tom, 30)
    services.mark_read(user=maria, conversation=direct, up_to=seen[-1].pk)
    unread = _history(direct, tom, 30, start=30)
    page = logged_in_page(maria, asgi_live_server)
    open_live(page, f"{asgi_live_server}/chat/{direct.pk}/")
    divider = page.get_by_test_id("new-messages-divider")
    expect(divider).to_have_count(1)
    # Thirty unread are more than a screen: the reader starts at the first of them, just below the divider.
    assert _in_viewport(page, divider)
    next_message = divider.evaluate("el => el.nextElementSibling.id")
    assert next_message == f"message-{unread[0].pk}"
    pill = page.get_by_test_id("new-messages-pill")
    expect(pill).to_be_hidden()

    # Read to the bottom, scroll back up; what arrives now is counted on the pill.
    page.get_by_test_id("jump-latest").click()
    page.get_by_test_id("room-body").evaluate("el => { el.scrollTop = 0; }")
    expect(page.get_by_test_id("jump-latest")).to_be_visible()
    tom_page = logged_in_page(tom, asgi_live_server)
    open_live(tom_page, f"{asgi_live_server}/chat/{direct.pk}/")
    tom_page.get_by_test_id("composer-input").fill("Compressor C-3 tripped")
    tom_page.get_by_test_id("composer-input").press("Enter")
    expect(pill).to_be_visible()
    expect(pill).to_have_text("1 new message")
    tom_page.get_by_test_id("composer-input").fill("Restarted it")
    tom_page.get_by_test_id("composer-input").press("Enter")
    expect(pill).to_have_text("2 new messages")
    first = Message.objects.get(conversation=direct, content="Compressor C-3 tripped")
    # The divider moved to the first of them (the ones before were read).
    expect(divider).to_have_count(1)
    assert divider.evaluate("el => el.nextElementSibling.id") == f"message-{first.pk}"
    pill.click()
    expect(pill).to_be_hidden()
    assert _in_viewport(page, page.locator(f"#message-{first.pk}"))


def test_reactions_render_as_images_from_the_vendored_sheet(asgi_live_server, logged_in_page, maria, tom):
    direct = services.get_or_create_direct(user=maria, other=tom)
    message = services.send_message(sender=tom, conversation=direct, content="Press 4 is back up")
    services.toggle_reaction(user=tom, message=message, emoji="🎉")
    page = logged_in_page(maria, asgi_live_server)
    errors = _watch_console(page)
    open_live(page, f"{asgi_live_server}/chat/{direct.pk}/")
    party = page.get_by_test_id("reaction").first.get_by_role("img", name="🎉")
    expect(party).to_be_visible()
    style = party.evaluate(
        "el => { const s = getComputedStyle(el); return [s.backgroundImage, s.width, s.backgroundPosition]; }"
    )
    assert "emoji-datasource-twitter/sheet-32" in style[0] and style[1] == "18px"
    # The sheet itself loaded (a broken image would have no size).
    size = page.evaluate(
        """url => new Promise(done => { const image = new Image(); image.onload = () => done(image.naturalWidth);
        image.onerror = () => done(0); image.src = url; })""",
        style[0][5:-2],
    )
    assert size > 2000
    # The palette shows the images too; picking one adds it live, as an image named by its emoji.
    page.locator(".react-picker summary").first.click()
    palette = page.locator(".react-choices").first
    expect(palette.get_by_role("img")).to_have_count(8)
    palette.get_by_role("button", name="React 👍").click()
    expect(page.get_by_test_id("reaction").get_by_role("img", name="👍")).to_be_visible()
    assert Reaction.objects.filter(message=message, user=maria, emoji="👍").exists()
    assert errors == []


# Banners


def test_banners_show_the_most_important_one_and_expand_and_dismissals_survive_reloads(
    asgi_live_server, logged_in_page, maria, tom
):
    def banner(title, level="info"):
        return services.create_system_message(
            actor=maria, organization=maria.organization, title=title, message_type=level, is_broadcast=True
        )

    welcome = banner("Welcome to the hub")
    shutdown = banner("Power shutdown Sunday", "warning")
    banner("Canteen closes at 14:00")
    page = logged_in_page(tom, asgi_live_server)
    errors = _watch_console(page)
    open_live(page, f"{asgi_live_server}/activities/")
    banners = page.get_by_test_id("system-banner")
    more = page.get_by_test_id("banners-more")
    expect(banners).to_have_count(3)
    expect(banners.first).to_contain_text("Power shutdown Sunday")
    expect(page.locator("[data-testid=system-banner]:visible")).to_have_count(1)
    expect(more).to_have_text("+2 more")
    more.click()
    expect(page.locator("[data-testid=system-banner]:visible")).to_have_count(3)
    expect(more).to_have_text("Show fewer")
    more.click()
    expect(page.locator("[data-testid=system-banner]:visible")).to_have_count(1)

    # A more severe banner arriving live takes the front; the count follows.
    maria_page = logged_in_page(maria, asgi_live_server)
    maria_page.goto(f"{asgi_live_server}/chat/system/")
    form = maria_page.get_by_test_id("system-message-form")
    form.locator("input[name=title]").fill("Line 3 stopped")
    form.locator("select[name=message_type]").select_option("error")
    form.locator("input[name=is_broadcast]").check()
    form.locator("button[type=submit]").click()
    expect(maria_page.locator(".alert-success")).to_contain_text("The message is up")
    expect(banners.first).to_contain_text("Line 3 stopped")
    expect(more).to_have_text("+3 more")
    expect(page.locator("[data-testid=system-banner]:visible")).to_have_count(1)

    more.click()
    page.locator(f"#system-message-{shutdown.pk}").get_by_test_id("dismiss-banner").click()
    expect(page.locator(f"#system-message-{shutdown.pk}")).to_have_count(0)
    page.locator(f"#system-message-{welcome.pk}").get_by_test_id("dismiss-banner").click()
    expect(page.locator(f"#system-message-{welcome.pk}")).to_have_count(0)
    expect(banners).to_have_count(2)
    # Remembered on the server: after a reload, and on another page, they stay away.
    for url in (f"{asgi_live_server}/activities/", f"{asgi_live_server}/chat/"):
        open_live(page, url)
        expect(banners).to_have_count(2)
        expect(banners.first).to_contain_text("Line 3 stopped")
        expect(more).to_have_text("+1 more")
        expect(page.locator(f"#system-message-{shutdown.pk}")).to_have_count(0)
    # Only for Tom: Maria still has them.
    open_live(maria_page, f"{asgi_live_server}/activities/")
    expect(maria_page.get_by_test_id("banners-more")).to_have_text("+3 more")
    assert errors == []


def _wait_until(page, condition, seconds: float = 5) -> None:
    for _ in range(int(seconds * 10)):
        if condition():
            return
        page.wait_for_timeout(100)
    assert condition()


def _unread(user, conversation) -> int:
    from chat import selectors

    return selectors.unread_count(user=user, conversation=conversation)


def test_on_a_phone_messages_behind_the_members_pane_stay_unread_until_the_messages_show(
    asgi_live_server, logged_in_page, maria, tom
):
    direct = services.get_or_create_direct(user=maria, other=tom)
    _history(direct, tom, 3)
    page = logged_in_page(maria, asgi_live_server, viewport={"width": 390, "height": 844})
    # Opened straight on the members pane (a reload there, a shared link): the messages are not on screen.
    open_live(page, f"{asgi_live_server}/chat/{direct.pk}/#members")
    expect(page.get_by_test_id("chat-side")).to_be_visible()
    expect(page.get_by_test_id("chat-room")).to_be_hidden()
    page.wait_for_timeout(1200)  # Longer than the page waits before it sends a read mark.
    assert _unread(maria, direct) == 3

    # Back to the messages: now they are read.
    page.get_by_test_id("back-to-messages").click()
    expect(page.get_by_test_id("chat-room")).to_be_visible()
    _wait_until(page, lambda: _unread(maria, direct) == 0)

    # A message that arrives while the members pane is open is not read either, until the messages show again.
    page.get_by_test_id("show-members").click()
    expect(page.get_by_test_id("chat-side")).to_be_visible()
    tom_page = logged_in_page(tom, asgi_live_server)
    open_live(tom_page, f"{asgi_live_server}/chat/{direct.pk}/")
    tom_page.get_by_test_id("composer-input").fill("Are you there?")
    tom_page.get_by_test_id("composer-input").press("Enter")
    expect(page.get_by_test_id("message-list")).to_contain_text("Are you there?")
    page.wait_for_timeout(1200)
    assert _unread(maria, direct) == 1
    page.get_by_test_id("back-to-messages").click()
    _wait_until(page, lambda: _unread(maria, direct) == 0)
