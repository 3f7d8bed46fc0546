"""Chat services: what each action stores, broadcasts and notifies, and what it refuses."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from notifications.models import Notification

from accounts.models import UserProfile
from chat import selectors, services
from chat.models import Conversation, Message, Reaction
from nexus.realtime import organization_group, user_group
from tests.accounts.images import huge_png, png_upload, upload

pytestmark = pytest.mark.django_db


def _frames(broadcasts, group=None):
    """The JSON frames sent (to `group`, or anywhere), decoded."""
    return [json.loads(event["text"]) for name, event in broadcasts if "text" in event and group in (None, name)]


def _notified(user) -> list[str]:
    return list(Notification.objects.filter(recipient=user).values_list("description", flat=True))


def test_it_broadcasts_a_message_once_to_the_conversation_after_commit(
    maria, bob, crew, broadcasts, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = services.send_message(sender=maria, conversation=crew, content="Shift starts *now*")
    assert broadcasts == []  # Nothing leaves before the commit.
    for callback in callbacks:
        callback()
    frames = _frames(broadcasts, services.conversation_group(crew.pk))
    assert [frame["type"] for frame in frames] == ["chat.message"]
    assert frames[0]["id"] == message.pk and "<em>now</em>" in frames[0]["html"]
    assert selectors.unread_count(user=maria, conversation=crew) == 0  # One's own messages never count.


def test_it_notifies_mentions_and_direct_messages_but_not_group_chatter_by_default(
    maria, bob, carol, crew, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.send_message(sender=maria, conversation=crew, content="@bob can you look at press 4?")
        services.send_message(sender=maria, conversation=crew, content="Nobody in particular")
        direct = services.get_or_create_direct(user=maria, other=carol)
        services.send_message(sender=maria, conversation=direct, content="Your badge is ready")
    assert _notified(bob) == ["Maria mentioned you in Night shift: @bob can you look at press 4?"]
    assert _notified(carol) == ["Maria in a direct message: Your badge is ready"]
    assert _notified(maria) == []


def test_people_who_chose_all_hear_every_message_unless_muted(maria, bob, carol, crew):
    services.set_chat_notifications(user=carol, level=UserProfile.ChatNotifications.ALL)
    services.send_message(sender=maria, conversation=crew, content="Everyone: coffee")
    assert len(_notified(carol)) == 1 and _notified(bob) == []
    services.set_muted(user=carol, conversation=crew, muted=True)
    services.send_message(sender=maria, conversation=crew, content="More chatter")
    services.send_message(sender=maria, conversation=crew, content="@carol but this one matters")
    assert len(_notified(carol)) == 2 and "matters" in _notified(carol)[0]
    with pytest.raises(ValidationError):
        services.set_chat_notifications(user=carol, level="sometimes")


def test_mentions_of_people_elsewhere_are_plain_text(maria, crew, mallory):
    message = services.send_message(sender=maria, conversation=crew, content="ask @mallory and @nobody")
    assert 'class="mention"' not in message.content_html
    assert not message.mentions.exists() and _notified(mallory) == []


def test_threads_are_one_level_deep_and_count_replies(maria, bob, crew):
    root = services.send_message(sender=maria, conversation=crew, content="Root")
    reply = services.send_message(sender=bob, conversation=crew, content="Reply", parent=root)
    nested = services.send_message(sender=maria, conversation=crew, content="Nested", parent=reply)
    assert nested.parent_id == root.pk
    root.refresh_from_db()
    assert root.reply_count == 2 and root.last_reply_at is not None
    assert selectors.thread_of(message=reply) == (root, [reply, nested])


@pytest.mark.parametrize(
    ("content", "reason"), [("", "Write something"), ("   \n ", "Write something"), ("x" * 10_001, "too long")]
)
def test_it_refuses_bad_messages_and_stores_nothing(maria, crew, content, reason):
    with pytest.raises(ValidationError, match=reason):
        services.send_message(sender=maria, conversation=crew, content=content)
    assert not Message.objects.exists()


def test_only_members_send_and_only_within_their_organization(maria, alice, mallory, crew, general):
    for outsider in (alice, mallory):
        with pytest.raises(PermissionDenied):
            services.send_message(sender=outsider, conversation=crew, content="hi")
    with pytest.raises(PermissionDenied):
        services.join_channel(user=mallory, conversation=general)
    with pytest.raises(ValidationError):
        services.create_group(actor=maria, name="Mixed", members=[mallory])
    assert not Message.objects.exists()


def test_it_keeps_an_image_with_a_thumbnail_and_refuses_what_is_not_one(maria, crew, settings):
    message = services.send_message(sender=maria, conversation=crew, content="", upload=png_upload(size=(1200, 800)))
    assert message.type == Message.Type.IMAGE and message.attachment and message.thumbnail
    assert message.attachment_name == "picture.png" and message.attachment_size > 0
    with pytest.raises(ValidationError, match="not a readable image"):
        services.send_message(sender=maria, conversation=crew, upload=upload(b"<svg onload=alert(1)>", "x.png"))
    with pytest.raises(ValidationError, match="too many pixels"):
        settings.CHAT_MAX_IMAGE_PIXELS = 1000
        services.send_message(sender=maria, conversation=crew, upload=upload(huge_png(100, 100), "big.png"))
    settings.CHAT_MAX_UPLOAD_BYTES = 10
    with pytest.raises(ValidationError, match="too large"):
        services.send_message(sender=maria, conversation=crew, upload=upload(b"x" * 11, "notes.txt", "text/plain"))
    assert Message.objects.count() == 1


def test_a_file_is_kept_as_a_download(maria, crew):
    message = services.send_message(
        sender=maria,
        conversation=crew,
        content="The manual",
        upload=upload(b"%PDF-1.4 ...", "manual.pdf", "application/pdf"),
    )
    assert message.type == Message.Type.FILE and message.attachment_type == "application/pdf"


def test_editing_marks_the_message_and_notifies_new_mentions_only(maria, bob, carol, crew, broadcasts):
    message = services.send_message(sender=maria, conversation=crew, content="@bob please")
    services.edit_message(actor=maria, message=message, content="@bob and @carol please")
    message.refresh_from_db()
    assert message.edited_at is not None and set(message.mentions.values_list("username", flat=True)) == {
        "bob",
        "carol",
    }
    assert len(_notified(bob)) == 1 and len(_notified(carol)) == 1
    with pytest.raises(PermissionDenied):
        services.edit_message(actor=bob, message=message, content="hijack")


def test_editing_never_tells_every_message_listeners_again(maria, bob, carol, crew):
    services.set_chat_notifications(user=carol, level=UserProfile.ChatNotifications.ALL)
    message = services.send_message(sender=maria, conversation=crew, content="Shift notes")
    services.edit_message(actor=maria, message=message, content="Shift notes for @bob")
    assert _notified(carol) == ["Maria in Night shift: Shift notes"]
    assert _notified(bob) == ["Maria mentioned you in Night shift: Shift notes for @bob"]


def test_a_batch_over_many_conversations_costs_the_same_queries_as_one_conversation(
    maria, bob, carol, alice, crew, django_assert_max_num_queries
):
    """Memberships, ordering and bell listeners are one statement each for the whole batch."""
    groups = [services.create_group(actor=maria, name=f"Line {n}", members=[bob, carol]) for n in range(6)]
    direct = services.get_or_create_direct(user=maria, other=alice)
    services.send_messages(posts=[services.Post(maria, crew, "warm-up")])  # Loads the sender's profile once.
    posts = [services.Post(maria, conversation, f"to {conversation.pk}") for conversation in [*groups, crew]]
    with django_assert_max_num_queries(6):  # memberships, insert, ordering, listeners, savepoint and release
        results = services.send_messages(posts=posts)
    assert all(isinstance(result, Message) for result in results)
    conversation_ids = [result.conversation_id for result in results]
    orders = dict(Conversation.objects.filter(pk__in=conversation_ids).values_list("pk", "last_message_at"))
    assert orders == {result.conversation_id: result.created_at for result in results}

    services.set_chat_notifications(user=carol, level=UserProfile.ChatNotifications.ALL)
    services.send_messages(posts=[services.Post(maria, conversation, "again") for conversation in [*groups, direct]])
    assert len(_notified(carol)) == 6  # The six lines, not maria's direct conversation with alice.
    assert _notified(alice) == ["Maria in a direct message: again"]
    assert _notified(bob) == []


def test_deleting_keeps_a_marker_and_drops_it_from_unread_counts(maria, bob, alice, crew):
    message = services.send_message(sender=maria, conversation=crew, content="oops", upload=png_upload())
    services.toggle_reaction(user=bob, message=message, emoji="👍")
    assert selectors.unread_count(user=bob, conversation=crew) == 1
    with pytest.raises(PermissionDenied):
        services.delete_message(actor=bob, message=message)
    services.delete_message(actor=maria, message=message)
    message.refresh_from_db()
    assert message.is_deleted and message.content == "" and not message.attachment and not Reaction.objects.exists()
    assert selectors.unread_count(user=bob, conversation=crew) == 0


def test_administrators_may_delete_anyones_message(maria, alice, crew):
    message = services.send_message(sender=maria, conversation=crew, content="off topic")
    services.delete_message(actor=alice, message=message)
    message.refresh_from_db()
    assert message.is_deleted


def test_reactions_toggle_and_refuse_text(maria, bob, crew, broadcasts):
    message = services.send_message(sender=maria, conversation=crew, content="Done")
    assert services.toggle_reaction(user=bob, message=message, emoji="✅") is True
    assert selectors.reaction_summary(message=message) == [
        {"emoji": "✅", "count": 1, "users": [bob.pk], "names": ["Bob"]}
    ]
    assert services.toggle_reaction(user=bob, message=message, emoji="✅") is False
    for bad in ("", "lol", "<b>", "👍 👍"):
        with pytest.raises(ValidationError):
            services.toggle_reaction(user=bob, message=message, emoji=bad)
    assert not Reaction.objects.exists()


def test_reading_only_moves_forward_and_tells_the_readers_tabs(
    maria, bob, crew, broadcasts, django_capture_on_commit_callbacks
):
    first = services.send_message(sender=maria, conversation=crew, content="one")
    second = services.send_message(sender=maria, conversation=crew, content="two")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.mark_read(user=bob, conversation=crew, up_to=second.pk) == 0
    assert services.mark_read(user=bob, conversation=crew, up_to=first.pk) == 0  # An old tab cannot undo it.
    assert _frames(broadcasts, user_group(bob.pk))[-1] == {
        "type": "chat.unread",
        "conversation": crew.pk,
        "unread": 0,
        "total": 0,
    }
    with pytest.raises(ValidationError):
        services.mark_read(user=bob, conversation=crew, up_to=-1)


def test_muted_conversations_stay_out_of_the_total(maria, bob, crew, general):
    services.join_channel(user=bob, conversation=general)
    services.send_message(sender=maria, conversation=crew, content="a")
    services.send_message(sender=maria, conversation=general, content="b")
    services.set_muted(user=bob, conversation=general, muted=True)
    counts = selectors.unread_counts_for(user_id=bob.pk)
    assert counts == {crew.pk: (1, False), general.pk: (1, True)} and selectors.total_of(counts) == 1


def test_new_members_owe_nothing_from_before_they_joined(maria, carol, general):
    services.send_message(sender=maria, conversation=general, content="old news")
    services.join_channel(user=carol, conversation=general)
    assert selectors.unread_count(user=carol, conversation=general) == 0


def test_a_keyed_channel_is_opened_once_and_a_taken_name_gets_a_number(maria, bob, general):
    organization = maria.organization
    first = services.get_or_create_channel(organization=organization, key="machine:7", name="general", members=[bob])
    again = services.get_or_create_channel(organization=organization, key="machine:7", name="other", members=[maria])
    assert first == again and first.name == "general (2)" and first.is_channel
    assert set(first.members.values_list("username", flat=True)) == {"bob", "maria"}
    system = services.post_system_message(conversation=first, content="Spindle temperature **high**")
    assert (
        system.sender is None and system.type == Message.Type.SYSTEM and "<strong>high</strong>" in system.content_html
    )
    assert selectors.unread_count(user=bob, conversation=first) == 1


def test_direct_conversations_are_unique_per_pair_and_stay_two_people(maria, bob, carol):
    direct = services.get_or_create_direct(user=maria, other=bob)
    assert services.get_or_create_direct(user=bob, other=maria) == direct
    assert Conversation.objects.filter(kind="direct").count() == 1
    with pytest.raises(ValidationError):
        services.add_members(actor=maria, conversation=direct, people=[carol])
    note = services.get_or_create_direct(user=maria, other=maria)
    assert note.memberships.count() == 1 and selectors.title_for(note, maria.pk) == "Maria (you)"


def test_system_messages_reach_their_audience_until_dismissed_or_expired(
    maria, bob, carol, broadcasts, django_capture_on_commit_callbacks
):
    organization = maria.organization
    with django_capture_on_commit_callbacks(execute=True):
        everyone = services.create_system_message(
            actor=maria, organization=organization, title="Fire drill at 10", is_broadcast=True
        )
        targeted = services.create_system_message(
            actor=maria,
            organization=organization,
            title="Your forklift licence expires",
            message_type="warning",
            target_users=[bob],
            expires_at=timezone.now() + timedelta(days=2),
        )
    fragments = [(group, event["html"]) for group, event in broadcasts if event["type"] == "hub.fragment"]
    assert fragments[0][0] == organization_group(organization.pk) and "Fire drill at 10" in fragments[0][1]
    assert fragments[1][0] == user_group(bob.pk) and 'hx-swap-oob="beforeend:#system-banners"' in fragments[1][1]
    assert list(selectors.system_messages_for(user=bob)) == [targeted, everyone]
    assert list(selectors.system_messages_for(user=carol)) == [everyone]
    services.dismiss_system_message(user=bob, system_message=everyone)
    assert list(selectors.system_messages_for(user=bob)) == [targeted]
    with pytest.raises(PermissionDenied):
        services.dismiss_system_message(user=carol, system_message=targeted)
    services.expire_system_message(actor=maria, system_message=targeted)
    assert list(selectors.system_messages_for(user=bob)) == []
    # Raising a keyed banner again returns the one that is up.
    first = services.create_system_message(
        organization=organization, title="Line 3 stopped", is_broadcast=True, key="l3"
    )
    again = services.create_system_message(
        organization=organization, title="Line 3 stopped", is_broadcast=True, key="l3"
    )
    assert first == again


def test_system_messages_need_an_audience_a_title_and_a_future_expiry(maria, bob, carol):
    organization = maria.organization
    with pytest.raises(ValidationError, match="Choose who sees it"):
        services.create_system_message(actor=maria, organization=organization, title="To nobody")
    with pytest.raises(ValidationError, match="title"):
        services.create_system_message(actor=maria, organization=organization, title=" ", is_broadcast=True)
    with pytest.raises(ValidationError, match="future"):
        services.create_system_message(
            actor=maria, organization=organization, title="Late", is_broadcast=True, expires_at=timezone.now()
        )
    with pytest.raises(PermissionDenied):
        services.create_system_message(actor=carol, organization=organization, title="Hi", is_broadcast=True)


def test_a_batch_of_sends_refuses_each_bad_one_alone_and_commits_the_rest(
    maria, bob, carol, alice, crew, general, broadcasts, django_capture_on_commit_callbacks
):
    posts = [
        services.Post(maria, crew, "first"),
        services.Post(alice, crew, "not a member"),
        services.Post(bob, crew, ""),
        services.Post(maria, general, "in the channel"),
        services.Post(bob, crew, "@carol second"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        results = services.send_messages(posts=posts)
    assert [type(result).__name__ for result in results] == [
        "Message",
        "PermissionDenied",
        "ValidationError",
        "Message",
        "Message",
    ]
    assert list(crew.messages.values_list("content", flat=True)) == ["first", "@carol second"]
    assert results[0].pk < results[3].pk < results[4].pk
    sent = [
        json.loads(event["text"])["id"] for _group, event in broadcasts if '"chat.message"' in event.get("text", "")
    ]
    assert sent == [results[0].pk, results[3].pk, results[4].pk]
    assert len(_notified(carol)) == 1
    assert selectors.unread_counts_for(user_id=maria.pk)[crew.pk] == (1, False)


def test_a_null_character_refuses_only_its_own_message(maria, bob, crew):
    results = services.send_messages(posts=[services.Post(maria, crew, "bad\x00"), services.Post(bob, crew, "fine")])
    assert isinstance(results[0], ValidationError) and isinstance(results[1], Message)
    assert list(crew.messages.values_list("content", flat=True)) == ["fine"]
