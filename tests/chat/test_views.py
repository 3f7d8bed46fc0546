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
