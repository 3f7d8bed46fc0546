"""Chat pages: the conversation screen, actions over htmx and plain posts, role limits and the organization boundary."""

import pytest
from django.urls import reverse

from chat import selectors, services
from chat.models import Conversation, Membership, Message

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_it_shows_a_conversation_with_its_history(client_for, maria, bob, crew):
    services.send_message(sender=bob, conversation=crew, content="Press 4 is **leaking** again")
    page = client_for(maria).get(reverse("chat:conversation", args=[crew.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "<strong>leaking</strong>" in html and 'data-testid="chat-room"' in html
    assert 'data-testid="composer"' in html


def test_it_sends_a_message_over_htmx_and_a_plain_post(client_for, maria, crew):
    client = client_for(maria)
    url = reverse("chat:messages", args=[crew.pk])
    assert client.post(url, {"content": "Over htmx"}, **HTMX).status_code == 204
    assert client.post(url, {"content": "Without JavaScript"}).status_code == 302
    assert list(crew.messages.values_list("content", flat=True)) == ["Over htmx", "Without JavaScript"]


def test_it_refuses_an_empty_message_with_a_reason_and_stores_nothing(client_for, maria, crew):
    response = client_for(maria).post(reverse("chat:messages", args=[crew.pk]), {"content": "  "}, **HTMX)
    assert response.status_code == 400 and "Write something" in response.content.decode()
    assert not crew.messages.exists()


def test_it_hides_other_organizations_and_groups_one_is_not_in(client_for, maria, alice, mallory, crew):
    assert client_for(mallory).get(reverse("chat:conversation", args=[crew.pk])).status_code == 404
    assert client_for(alice).get(reverse("chat:conversation", args=[crew.pk])).status_code == 404
    message = services.send_message(sender=maria, conversation=crew, content="secret")
    assert client_for(alice).get(reverse("chat:thread", args=[message.pk])).status_code == 404
    assert client_for(mallory).post(reverse("chat:react", args=[message.pk]), {"emoji": "👍"}).status_code == 404
    assert client_for(alice).get(reverse("chat:attachment", args=[message.pk])).status_code == 404


def test_channels_are_readable_before_joining_and_joinable(client_for, maria, carol, general):
    services.send_message(sender=maria, conversation=general, content="Welcome")
    client = client_for(carol)
    page = client.get(reverse("chat:conversation", args=[general.pk])).content.decode()
    assert "Welcome" in page and 'data-testid="join"' in page and 'data-testid="composer"' not in page
    assert client.post(reverse("chat:messages", args=[general.pk]), {"content": "hi"}, **HTMX).status_code == 403
    client.post(reverse("chat:join", args=[general.pk]))
    assert Membership.objects.filter(conversation=general, user=carol).exists()


def test_it_opens_one_direct_conversation_per_pair(client_for, maria, bob):
    first = client_for(maria).get(reverse("chat:direct", args=[bob.pk]))
    second = client_for(bob).get(reverse("chat:direct", args=[maria.pk]))
    assert first.url == second.url
    assert Conversation.objects.filter(kind="direct").count() == 1


def test_it_refuses_a_direct_conversation_with_an_outsider(client_for, maria, mallory):
    assert client_for(maria).get(reverse("chat:direct", args=[mallory.pk])).status_code == 404


def test_only_the_sender_edits_and_the_sender_or_an_admin_deletes(client_for, maria, bob, alice, crew):
    message = services.send_message(sender=bob, conversation=crew, content="draft")
    edit = reverse("chat:edit", args=[message.pk])
    assert client_for(maria).post(edit, {"content": "x"}, **HTMX).status_code == 403
    assert client_for(bob).post(edit, {"content": "final"}, **HTMX).status_code == 204
    message.refresh_from_db()
    assert message.content == "final" and message.edited_at is not None
    assert client_for(maria).post(reverse("chat:delete", args=[message.pk]), **HTMX).status_code == 403
    services.add_members(actor=maria, conversation=crew, people=[alice])
    assert client_for(alice).post(reverse("chat:delete", args=[message.pk]), **HTMX).status_code == 204
    message.refresh_from_db()
    assert message.is_deleted and message.content == ""
    page = client_for(maria).get(reverse("chat:conversation", args=[crew.pk])).content.decode()
    assert "This message was deleted." in page and "final" not in page


def test_it_creates_groups_and_channels_from_the_sidebar(client_for, maria, bob, carol):
    client = client_for(maria)
    response = client.post(reverse("chat:new-group"), {"name": "Line 2", "members": [bob.pk, carol.pk]})
    group = Conversation.objects.get(name="Line 2")
    assert response.url == reverse("chat:conversation", args=[group.pk])
    assert set(group.members.values_list("username", flat=True)) == {"maria", "bob", "carol"}
    client.post(reverse("chat:new-channel"), {"name": "quality"})
    duplicate = client.post(reverse("chat:new-channel"), {"name": "Quality"})
    assert duplicate.status_code == 400 and "already a channel" in duplicate.content.decode()


def test_it_paginates_history_with_a_load_older_button(client_for, maria, crew):
    for n in range(60):
        text = f"m{n}"
        Message.objects.create(
            organization=crew.organization, conversation=crew, sender=maria, content=text, content_html=f"<p>{text}</p>"
        )
    client = client_for(maria)
    page = client.get(reverse("chat:conversation", args=[crew.pk])).content.decode()
    assert "m59" in page and "m9<" not in page and 'data-testid="load-older"' in page
    first_shown = selectors.messages_page(conversation=crew).items[0].pk
    older = client.get(reverse("chat:messages", args=[crew.pk]), {"before": first_shown}, **HTMX).content.decode()
    assert "m0<" in older and "m9<" in older and "m10<" not in older and "load-older" not in older


def test_the_conversation_page_runs_a_fixed_number_of_queries(
    client_for, maria, bob, crew, django_assert_max_num_queries
):
    client = client_for(maria)
    client.get(reverse("chat:conversation", args=[crew.pk]))
    for n in range(30):
        message = services.send_message(sender=bob, conversation=crew, content=f"note {n} @maria")
        services.toggle_reaction(user=maria, message=message, emoji="👍")
    with django_assert_max_num_queries(25):
        assert client.get(reverse("chat:conversation", args=[crew.pk])).status_code == 200


def test_it_searches_only_what_the_person_can_see(client_for, maria, bob, alice, crew, general):
    services.send_message(sender=bob, conversation=crew, content="hydraulic pump seal")
    services.send_message(sender=maria, conversation=general, content="hydraulic oil order")
    page = client_for(alice).get(reverse("chat:search"), {"q": "hydraulic"}).content.decode()
    assert "oil order" in page and "pump seal" not in page
    page = client_for(bob).get(reverse("chat:search"), {"q": "hydraulic"}).content.decode()
    assert "oil order" in page and "pump seal" in page


@pytest.mark.parametrize("field", ["content", "name"])
def test_markup_in_every_field_renders_as_text(client_for, maria, bob, crew, field):
    attack = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    if field == "content":
        services.send_message(sender=bob, conversation=crew, content=attack + " [x](javascript:alert(3))")
        page = client_for(maria).get(reverse("chat:conversation", args=[crew.pk])).content.decode()
    else:
        group = services.create_group(actor=bob, name=attack[:80], members=[maria])
        page = client_for(maria).get(reverse("chat:conversation", args=[group.pk])).content.decode()
    assert "<script>alert(2)" not in page and "<img src=x" not in page and 'href="javascript:' not in page
    assert "&lt;script&gt;" in page


def test_managers_put_up_banners_and_staff_may_not(client_for, maria, carol, bob):
    url = reverse("chat:system-messages")
    assert client_for(carol).get(url).status_code == 403
    client = client_for(maria)
    assert client.post(url, {"title": "", "message_type": "info", "is_broadcast": "on"}).status_code == 400
    assert client.post(url, {"title": "Nobody", "message_type": "info"}).status_code == 400
    response = client.post(url, {"title": "Canteen closed", "message_type": "warning", "is_broadcast": "on"})
    assert response.status_code == 302
    banner = selectors.system_messages_for(user=carol).get()
    page = client_for(carol).get(reverse("chat:banners")).content.decode()
    assert "Canteen closed" in page
    assert client_for(carol).post(reverse("chat:dismiss-system-message", args=[banner.pk]), **HTMX).status_code == 204
    assert "Canteen closed" not in client_for(carol).get(reverse("chat:banners")).content.decode()
    assert client_for(carol).post(reverse("chat:expire-system-message", args=[banner.pk])).status_code == 302
    assert selectors.system_messages_for(user=bob).exists()  # Staff cannot take it down.
    client.post(reverse("chat:expire-system-message", args=[banner.pk]))
    assert not selectors.system_messages_for(user=bob).exists()


def test_another_organizations_banner_is_a_404(client_for, maria, mallory):
    banner = services.create_system_message(
        actor=maria, organization=maria.organization, title="Internal", is_broadcast=True
    )
    assert client_for(mallory).post(reverse("chat:dismiss-system-message", args=[banner.pk])).status_code == 404


def test_the_notifications_page_marks_read_and_keeps_the_preference(client_for, maria, bob, crew):
    services.send_message(sender=maria, conversation=crew, content="@bob first")
    services.send_message(sender=maria, conversation=crew, content="@bob second")
    client = client_for(bob)
    page = client.get(reverse("notifications")).content.decode()
    assert page.count('data-testid="notification"') == 2 and "Unread (2)" in page
    first = bob.notifications.order_by("id").first()
    client.post(reverse("notifications-read"), {"ids": [first.pk]})
    assert bob.notifications.unread().count() == 1
    assert client.post(reverse("notifications-read"), {"ids": ["x", "999999"]}).status_code == 302
    client.post(reverse("notifications-read-all"))
    assert bob.notifications.unread().count() == 0
    client.post(reverse("notification-preferences"), {"chat_notifications": "all"})
    bob.profile.refresh_from_db()
    assert bob.profile.chat_notifications == "all"
    client.post(reverse("notification-preferences"), {"chat_notifications": "loud"})
    bob.profile.refresh_from_db()
    assert bob.profile.chat_notifications == "all"


def test_nobody_marks_someone_elses_notifications_read(client_for, maria, bob, carol, crew):
    services.send_message(sender=maria, conversation=crew, content="@bob look")
    notification = bob.notifications.get()
    client_for(carol).post(reverse("notifications-read"), {"ids": [notification.pk]})
    notification.refresh_from_db()
    assert notification.unread


def test_markup_in_file_names_topics_and_banners_renders_as_text(client_for, maria, bob, crew):
    from tests.accounts.images import upload

    attack = '"><img src=x onerror=alert(1)>'
    services.send_message(sender=bob, conversation=crew, upload=upload(b"data", f"{attack}.txt", "text/plain"))
    channel = services.create_channel(actor=maria, name="ops", topic=attack)
    services.create_system_message(
        actor=maria, organization=maria.organization, title=attack, content=attack, is_broadcast=True
    )
    client = client_for(maria)
    pages = [
        client.get(reverse("chat:conversation", args=[crew.pk])).content.decode(),
        client.get(reverse("chat:conversation", args=[channel.pk])).content.decode(),
        client.get(reverse("chat:banners")).content.decode(),
        client.get(reverse("chat:system-messages")).content.decode(),
    ]
    for page in pages:
        assert "<img src=x" not in page
    assert all("&lt;img src=x" in page for page in pages)


# The app layout: the "New messages" divider, the panes' controls, counts that mean something


def _divider_position(html: str) -> int:
    return html.index('data-testid="new-messages-divider"')


def test_it_puts_the_new_messages_divider_before_the_first_unread_message(client_for, maria, bob, crew):
    first = services.send_message(sender=bob, conversation=crew, content="read already")
    services.mark_read(user=maria, conversation=crew, up_to=first.pk)
    services.send_message(sender=maria, conversation=crew, content="my own reply")
    unread = services.send_message(sender=bob, conversation=crew, content="first unread")
    services.send_message(sender=bob, conversation=crew, content="second unread")
    html = client_for(maria).get(reverse("chat:conversation", args=[crew.pk])).content.decode()
    assert html.count('data-testid="new-messages-divider"') == 1
    assert html.index("my own reply") < _divider_position(html) < html.index(f'id="message-{unread.pk}"')
    # Bob's first unread is Maria's reply: his own messages never are.
    html = client_for(bob).get(reverse("chat:conversation", args=[crew.pk])).content.decode()
    assert html.index(f'id="message-{first.pk}"') < _divider_position(html) < html.index("my own reply")


def test_the_divider_opens_the_page_when_the_unread_go_back_further(client_for, maria, bob, crew):
    for n in range(55):
        Message.objects.create(
            organization=crew.organization, conversation=crew, sender=bob, content=f"m{n}", content_html=f"<p>m{n}</p>"
        )
    html = client_for(maria).get(reverse("chat:conversation", args=[crew.pk])).content.decode()
    first_shown = selectors.messages_page(conversation=crew).items[0].pk
    assert _divider_position(html) < html.index(f'id="message-{first_shown}"')
    assert _divider_position(html) > html.index('data-testid="load-older"')


def test_the_room_has_its_pane_controls_and_the_jump_and_pill(client_for, maria, crew):
    html = client_for(maria).get(reverse("chat:conversation", args=[crew.pk])).content.decode()
    for test_id in ("chat-layout", "back-to-conversations", "show-members", "back-to-messages", "jump-latest"):
        assert f'data-testid="{test_id}"' in html
    assert 'data-testid="new-messages-pill"' in html and 'data-pane="room"' in html
    assert "css/chat.css" in html and "js/chat.js" in html


def test_channels_to_join_show_a_member_count_only_when_there_are_members(client_for, maria, bob, carol):
    empty = services.get_or_create_channel(organization=maria.organization, key="machine:1", name="machine-Press")
    busy = services.create_channel(actor=bob, name="quality")
    services.join_channel(user=carol, conversation=busy)
    html = client_for(maria).get(reverse("chat:index") + "?list=1").content.decode()
    joinable = html[html.index("Channels to join") : html.index('sidebar-head">People')]
    assert "#machine-Press</span></a>" in joinable and "#quality</span> " in joinable
    assert ">2 members<" in joinable and ">0<" not in joinable and "0 member" not in joinable
    assert empty.pk and busy.pk


def test_reactions_and_the_palette_render_as_images_named_by_the_emoji(client_for, maria, bob, crew):
    message = services.send_message(sender=bob, conversation=crew, content="Done")
    services.toggle_reaction(user=maria, message=message, emoji="👍")
    services.toggle_reaction(user=bob, message=message, emoji="★")  # Not on the sheet: its character.
    html = client_for(maria).get(reverse("chat:conversation", args=[crew.pk])).content.decode()
    reactions = html[html.index(f'id="reactions-{message.pk}"') :]
    reactions = reactions[: reactions.index("</div>")]
    assert '<span class="emoji emoji-img" role="img" aria-label="👍"' in reactions
    assert '<span class="emoji emoji-text">★</span>' in reactions
    assert html.count('class="emoji-btn"') == 8 and 'aria-label="React 👍"' in html


# Banners: the most important one shows, "+N more" opens the rest, dismissals stay


def _banner(maria, title, level="info", **extra):
    return services.create_system_message(
        actor=maria, organization=maria.organization, title=title, message_type=level, is_broadcast=True, **extra
    )


def test_banners_come_most_severe_first_then_newest_with_a_count_of_the_rest(client_for, maria, carol):
    old_info = _banner(maria, "Old info")
    warning = _banner(maria, "Press 4 slow", "warning")
    error = _banner(maria, "Line 3 stopped", "error")
    new_info = _banner(maria, "Canteen closes at 14:00")
    success = _banner(maria, "Audit passed", "success")
    expected = [error, warning, new_info, old_info, success]
    assert list(selectors.system_messages_for(user=carol)) == expected
    html = client_for(carol).get(reverse("chat:banners")).content.decode()
    positions = [html.index(f'id="system-message-{banner.pk}"') for banner in expected]
    assert positions == sorted(positions)
    assert 'data-testid="banners-more"' in html and ">+4 more</button>" in html
    assert f'id="system-message-{error.pk}"' in html and 'data-rank="0"' in html
    # Every page brings them, not only the socket: the page does not jump when they arrive.
    page = client_for(carol).get(reverse("chat:search")).content.decode()
    box = page[page.index('id="system-banners"') :]
    assert box.index(f'id="system-message-{error.pk}"') < box.index('id="flash-messages"')
    assert ">+4 more</button>" in box


def test_one_banner_has_no_more_button_and_none_has_an_empty_box(client_for, maria, carol):
    client = client_for(carol)
    assert (
        'id="system-banners" data-dedupe aria-live="polite"></div>'
        in client.get(reverse("chat:search")).content.decode()
    )
    _banner(maria, "Only one")
    html = client.get(reverse("chat:banners")).content.decode()
    assert "Only one" in html and "banners-more" not in html


def test_a_dismissed_banner_stays_away_on_every_page_for_that_person_only(client_for, maria, bob, carol):
    first, second = _banner(maria, "First"), _banner(maria, "Second", "warning")
    client = client_for(carol)
    assert client.post(reverse("chat:dismiss-system-message", args=[second.pk]), **HTMX).status_code == 204
    for url in (reverse("chat:banners"), reverse("chat:search"), reverse("notifications")):
        html = client.get(url).content.decode()
        assert f'id="system-message-{first.pk}"' in html and f'id="system-message-{second.pk}"' not in html
        assert "banners-more" not in html
    assert ">+1 more</button>" in client_for(bob).get(reverse("chat:banners")).content.decode()


def test_banners_rendered_with_the_page_carry_a_working_token_for_plain_posts(client_for, maria, carol):
    banner = _banner(maria, "Plain")
    client = client_for(carol)
    client.handler.enforce_csrf_checks = True
    html = client.get(reverse("chat:search")).content.decode()
    box = html[html.index('id="system-banners"') :]
    token = box.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    assert token
    response = client.post(reverse("chat:dismiss-system-message", args=[banner.pk]), {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert not selectors.system_messages_for(user=carol).exists()
