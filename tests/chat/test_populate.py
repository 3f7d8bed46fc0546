"""The demo data commands `populate_chats` and `populate_system_messages`."""

from datetime import timedelta

import pytest
from django.core.management.base import CommandError
from django.db.models import F
from django.utils import timezone
from notifications.models import Notification

from accounts.models import Organization, User
from chat import selectors
from chat.management.commands import populate_chats
from chat.models import Conversation, Membership, Message, Reaction, SystemMessage
from tests.commands import run_command

pytestmark = pytest.mark.django_db

ACME_CHANNELS = {"general", "maintenance", "quality", "shift-handover"}
ACME_GROUPS = {"Line 2 crew", "Audit prep"}
ACME_DIRECTS = {("maria", "tom"), ("tina", "tom"), ("sam", "sue"), ("alice", "maria")}


def _run(name: str, **options) -> str:
    return run_command(name, **options)


def _acme() -> Organization:
    return Organization.objects.get(slug="acme")


def _scripted_count(slug: str) -> int:
    """How many scripted messages the organization gets: lines whose people are all there."""
    usernames = {"acme": {"alice", "maria", "tom", "tina", "sam", "sue"}, "globex": {"mallory"}}[slug]
    admins = {"acme": "alice", "globex": "mallory"}
    channel_members = {
        spec["key"]: usernames if spec["members"] == populate_chats.EVERYONE else usernames & set(spec["members"])
        for spec in populate_chats.CHANNELS
    }

    def fits(line, members) -> bool:
        speaker = admins[slug] if line.speaker == populate_chats.ADMIN else line.speaker
        mentioned = {name.lower() for name in populate_chats.mentioned_usernames(line.text)}
        return (speaker is None or speaker in members) and mentioned <= usernames

    def count(lines, members) -> int:
        return sum(1 + sum(fits(reply, members) for reply in line.replies) for line in lines if fits(line, members))

    total = sum(count(spec["lines"], channel_members[spec["key"]]) for spec in populate_chats.CHANNELS)
    for spec in populate_chats.GROUPS:
        if {spec["owner"], *spec["members"]} <= usernames:
            total += count(spec["lines"], usernames)
    for spec in populate_chats.DIRECTS:
        if set(spec["people"]) <= usernames:
            total += count(spec["lines"], usernames)
    return total


def _chat_snapshot() -> dict:
    return {
        "conversations": list(
            Conversation.objects.order_by("pk").values_list(
                "pk", "organization__slug", "kind", "name", "topic", "key", "last_message_at", "is_archived"
            )
        ),
        "memberships": list(
            Membership.objects.order_by("pk").values_list(
                "pk", "conversation_id", "user__username", "role", "last_read_message_id", "last_read_at"
            )
        ),
        "messages": list(
            Message.objects.order_by("pk").values_list(
                "pk",
                "conversation_id",
                "sender__username",
                "type",
                "content",
                "content_html",
                "parent_id",
                "reply_count",
                "last_reply_at",
                "created_at",
            )
        ),
        "mentions": sorted(Message.mentions.through.objects.values_list("message_id", "user_id")),
        "reactions": list(Reaction.objects.order_by("pk").values_list("pk", "message_id", "user_id", "emoji")),
        "notifications": list(Notification.objects.order_by("pk").values_list("pk", "recipient_id", "timestamp")),
    }


# populate_chats


def test_it_creates_the_demo_conversations_of_acme(demo_people):
    output = _run("populate_chats", count=0)
    acme = Conversation.objects.filter(organization=_acme())
    assert set(acme.filter(kind=Conversation.Kind.CHANNEL).values_list("name", flat=True)) == ACME_CHANNELS
    assert set(acme.filter(kind=Conversation.Kind.CHANNEL).values_list("key", flat=True)) == {
        f"demo:{name}" for name in ACME_CHANNELS
    }
    assert set(acme.filter(kind=Conversation.Kind.GROUP).values_list("name", flat=True)) == ACME_GROUPS
    directs = {
        tuple(sorted(conversation.members.values_list("username", flat=True)))
        for conversation in acme.filter(kind=Conversation.Kind.DIRECT)
    }
    assert directs == ACME_DIRECTS
    line_2 = acme.get(name="Line 2 crew")
    assert set(line_2.members.values_list("username", flat=True)) == {"maria", "tom", "tina", "sam"}
    assert line_2.memberships.get(role=Membership.Role.OWNER).user.username == "maria"
    general = acme.get(name="general")
    assert general.members.count() == 6
    # #quality is not everyone's: it is there to join.
    alice = User.objects.get(username="alice")
    assert "quality" in set(selectors.channels_to_join(user=alice).values_list("name", flat=True))
    # Globex has its channels with its one person, and no conversation with Acme's.
    globex = Conversation.objects.filter(organization__slug="globex")
    assert set(globex.values_list("name", flat=True)) == ACME_CHANNELS
    assert set(Membership.objects.filter(conversation__in=globex).values_list("user__username", flat=True)) == {
        "mallory"
    }
    assert "14 conversations and" in output


def test_it_writes_realistic_factory_talk(demo_people):
    _run("populate_chats", count=0)
    acme = Message.objects.filter(organization=_acme())
    assert acme.count() == _scripted_count("acme")
    assert Message.objects.filter(organization__slug="globex").count() == _scripted_count("globex")
    maintenance = acme.filter(conversation__name="maintenance")
    system = maintenance.filter(type=Message.Type.SYSTEM)
    assert system.count() >= 2
    assert not system.filter(sender__isnull=False).exists()
    # Threads, markdown, mentions and reactions, all as the services write them.
    fault = system.get(content__contains="press P-300")
    assert fault.reply_count == 2 == fault.replies.count()
    assert fault.last_reply_at == fault.replies.order_by("-id").first().created_at
    assert acme.filter(content_html__contains="<strong>").exists()
    assert acme.filter(content_html__contains="<ul>").exists()
    assert acme.filter(content_html__contains="<ol>").exists()
    assert acme.filter(content_html__contains="<code>").exists()
    assert {"sue", "tom", "tina", "maria", "sam"} <= set(
        Message.mentions.through.objects.values_list("user__username", flat=True)
    )
    tom = User.objects.get(username="tom")
    assert Notification.objects.filter(recipient=tom, verb="mentioned you").exists()
    welcome = acme.get(content__startswith="Welcome to **Nexus**")
    assert welcome.sender.username == "alice"
    assert set(welcome.reactions.values_list("user__username", "emoji")) == {
        ("maria", "👍"),
        ("sam", "🎉"),
        ("sue", "👍"),
    }
    assert Message.objects.get(organization__slug="globex", content__startswith="Welcome").sender.username == (
        "mallory"
    )


def test_it_leaves_some_messages_unread(demo_people):
    _run("populate_chats")
    totals = {}
    for username in ["alice", "maria", "tom", "tina", "sam", "sue"]:
        counts = selectors.unread_counts_for(user_id=User.objects.get(username=username).pk)
        totals[username] = selectors.total_of(counts)
        read_everything = sum(1 for unread, _ in counts.values() if unread == 0)
        assert read_everything >= 1
    assert any(totals.values())
    assert max(totals.values()) < Message.objects.filter(organization=_acme()).count() // 4


def test_it_sends_messages_in_chronological_order_over_a_few_days(demo_people):
    before = timezone.now()
    _run("populate_chats")
    messages = list(Message.objects.order_by("pk").values_list("created_at", "parent__created_at"))
    times = [created for created, _ in messages]
    assert times == sorted(times)
    assert times[-1] <= timezone.now()
    assert before - times[0] > timedelta(days=3)
    assert all(parent is None or parent < created for created, parent in messages)
    for conversation in Conversation.objects.exclude(last_message_at=None):
        assert conversation.last_message_at == conversation.messages.order_by("-id").first().created_at
    mentions = Notification.objects.filter(verb="mentioned you")
    for notification in mentions:
        assert notification.timestamp == Message.objects.get(pk=notification.target_object_id).created_at


def test_it_changes_nothing_when_run_twice(demo_people):
    first_output = _run("populate_chats", count=30)
    first = _chat_snapshot()
    second_output = _run("populate_chats", count=30, seed=1)
    assert _chat_snapshot() == first
    scripted = _scripted_count("acme") + _scripted_count("globex")
    assert f"14 conversations and {scripted + 30} messages created, 0 conversations" in first_output
    assert f"0 conversations and 0 messages created, 14 conversations and {scripted + 30} messages" in (second_output)
    assert f"\r{scripted + 30}/{scripted + 30}" in first_output


def test_it_finds_its_messages_again_on_a_later_day(demo_people, monkeypatch):
    _run("populate_chats", count=60)
    first = _chat_snapshot()
    later = timezone.now() + timedelta(days=1, hours=7)
    monkeypatch.setattr(timezone, "now", lambda: later)
    output = _run("populate_chats", count=60)
    assert _chat_snapshot() == first
    assert "0 conversations and 0 messages created" in output


def test_it_scales_the_generated_messages_with_count(demo_people):
    _run("populate_chats", count=10, organization="acme")
    first = list(Message.objects.order_by("pk").values_list("pk", "content", "created_at"))
    assert len(first) == _scripted_count("acme") + 10
    output = _run("populate_chats", count=50, organization="acme")
    after = list(Message.objects.order_by("pk").values_list("pk", "content", "created_at"))
    assert "40 messages created" in output
    assert len(after) == _scripted_count("acme") + 50
    assert after[: len(first)] == first
    # The extra messages come after the earlier ones, in id and in time.
    assert [row[2] for row in after] == sorted(row[2] for row in after)
    generated = Message.objects.exclude(content__in=[row[1] for row in first[: _scripted_count("acme")]])
    assert generated.exclude(parent=None).exists()
    assert set(generated.values_list("conversation__kind", flat=True)) == set(Conversation.Kind.values)


def test_it_keeps_every_message_in_its_organization(demo_people):
    _run("populate_chats")
    for message in Message.objects.select_related("conversation", "sender", "parent"):
        assert message.conversation.organization_id == message.organization_id
        if message.sender is not None:
            assert message.sender.organization_id == message.organization_id
            assert message.conversation.memberships.filter(user=message.sender).exists()
        if message.parent is not None:
            assert message.parent.conversation_id == message.conversation_id
    assert not Membership.objects.exclude(user__organization=F("conversation__organization")).exists()
    assert not Reaction.objects.exclude(user__organization=F("message__organization")).exists()
    assert not Message.mentions.through.objects.exclude(user__organization=F("message__organization")).exists()
    globex = Message.objects.filter(organization__slug="globex")
    assert set(globex.values_list("sender__username", flat=True)) <= {"mallory", None}
    assert not globex.filter(content__contains="@tom").exists()


def test_it_generates_the_same_messages_for_the_same_seed(demo_people):
    def messages():
        return list(
            Message.objects.order_by("pk").values_list(
                "conversation__name", "conversation__key", "sender__username", "content", "parent__content"
            )
        )

    _run("populate_chats", count=20, seed=3, organization="acme")
    first = messages()
    unread = {
        username: selectors.total_of(selectors.unread_counts_for(user_id=User.objects.get(username=username).pk))
        for username in ["alice", "maria", "tom", "tina", "sam", "sue"]
    }
    Conversation.objects.all().delete()
    _run("populate_chats", count=20, seed=3, organization="acme")
    assert [row[0] for row in messages()] == [row[0] for row in first]
    assert [row[2:] for row in messages()] == [row[2:] for row in first]
    assert unread == {
        username: selectors.total_of(selectors.unread_counts_for(user_id=User.objects.get(username=username).pk))
        for username in unread
    }
    Conversation.objects.all().delete()
    _run("populate_chats", count=20, seed=4, organization="acme")
    assert [row[2:] for row in messages()] != [row[2:] for row in first]


def test_it_lifts_the_rate_limit_only_while_it_runs(demo_people, settings):
    settings.CHAT_RATE_LIMIT = 2
    _run("populate_chats", organization="acme")
    assert settings.CHAT_RATE_LIMIT == 2
    assert Message.objects.filter(sender__username="sam").count() > 2


def test_it_refuses_bad_arguments(demo_people):
    with pytest.raises(CommandError, match="run populate_users first"):
        _run("populate_chats", organization="nowhere")
    with pytest.raises(CommandError, match="must not be negative"):
        _run("populate_chats", count=-1)


# populate_system_messages


def test_it_creates_one_short_demo_banner_in_every_organization(demo_people):
    output = _run("populate_system_messages")
    assert "2 banners created, 0 already there" in output
    acme = SystemMessage.objects.filter(organization=_acme())
    (shutdown,) = acme
    assert shutdown.key == "demo:power-shutdown"
    assert shutdown.is_broadcast and shutdown.message_type == "warning"
    assert len(shutdown.title) + len(shutdown.content) < 80  # One line on a desktop page.
    assert timedelta(days=2) < shutdown.expires_at - timezone.now() < timedelta(days=5)
    assert shutdown.created_by.username == "maria"
    for username in ("maria", "sam"):
        user = User.objects.get(username=username)
        assert list(selectors.system_messages_for(user=user).values_list("key", flat=True)) == ["demo:power-shutdown"]
    # Globex has no maria: its administrator signs the warning.
    globex = SystemMessage.objects.get(organization__slug="globex")
    assert globex.created_by.username == "mallory"


def test_it_takes_down_the_demo_banners_of_earlier_versions(demo_people):
    from chat import services

    maria = User.objects.get(username="maria")
    old = services.create_system_message(
        organization=_acme(), title="Welcome to Nexus", is_broadcast=True, key="demo:welcome"
    )
    output = _run("populate_system_messages")
    assert "1 old demo banners taken down" in output
    assert list(selectors.system_messages_for(user=maria).values_list("key", flat=True)) == ["demo:power-shutdown"]
    old.refresh_from_db()
    taken_down_at = old.expires_at
    assert taken_down_at is not None
    assert "taken down" not in _run("populate_system_messages")
    old.refresh_from_db()
    assert old.expires_at == taken_down_at


def test_it_changes_no_banners_when_run_twice(demo_people):
    _run("populate_system_messages")
    first = list(SystemMessage.objects.order_by("pk").values())
    targets = sorted(SystemMessage.target_users.through.objects.values_list("systemmessage_id", "user_id"))
    output = _run("populate_system_messages", seed=7)
    assert list(SystemMessage.objects.order_by("pk").values()) == first
    assert sorted(SystemMessage.target_users.through.objects.values_list("systemmessage_id", "user_id")) == targets
    assert "0 banners created, 2 already there" in output


# populate_all


def test_it_runs_the_chat_commands_in_populate_all(db):
    from nexus.management.commands.populate_all import POPULATE_COMMANDS

    position = POPULATE_COMMANDS.index("populate_projects")
    assert POPULATE_COMMANDS[position + 1 : position + 3] == ["populate_chats", "populate_system_messages"]
    output = _run("populate_all")
    assert "populate_chats:" in output and "populate_system_messages:" in output
    # Machines open channels of their own (populate_machines runs later); these counts are the chat commands'.
    chat_made = Conversation.objects.filter(organization__slug="acme").exclude(key__startswith="machine:")
    assert chat_made.count() == 10
    assert Message.objects.filter(conversation__in=chat_made).count() == _scripted_count("acme") + 40
    assert SystemMessage.objects.count() == 2  # One demo banner per organization.
    messages = Message.objects.count()
    again = _run("populate_all")
    assert Message.objects.count() == messages
    assert "0 conversations and 0 messages created" in again
