"""Chat over the socket: delivery to members only, typing, read receipts, refusals, limits and catch-up."""

import json

import pytest
from asgiref.sync import sync_to_async
from django.test import override_settings

from chat import selectors, services
from chat.models import Message
from tests.chat.test_consumer import _connect, receive

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def _open(user):
    communicator, connected, _ = await _connect(user=user)
    assert connected
    assert json.loads(await receive(communicator))["type"] == "hello"
    return communicator


async def _frame(communicator, frame_type: str, timeout: float = 5) -> dict:
    """The next frame of `frame_type`, skipping others (banners, presence, counts)."""
    while True:
        text = await receive(communicator, timeout=timeout)
        if text.startswith("{"):
            frame = json.loads(text)
            if frame["type"] == frame_type:
                return frame


async def _silent(communicator) -> bool:
    """True when nothing but presence frames arrives within a short while."""
    while not await communicator.receive_nothing(timeout=0.3):
        if not (await communicator.receive_from()).startswith('{"type": "presence"'):
            return False
    return True


async def _send(communicator, **frame):
    await communicator.send_to(text_data=json.dumps(frame))


@pytest.fixture
def group(maria, bob, carol):
    return services.create_group(actor=maria, name="Night shift", members=[bob, carol])


async def test_members_receive_a_message_sent_over_the_socket_and_others_do_not(maria, bob, alice, mallory, group):
    sockets = [await _open(person) for person in (maria, bob, alice, mallory)]
    maria_socket, bob_socket, alice_socket, mallory_socket = sockets
    try:
        await _send(maria_socket, type="chat.send", conversation=group.pk, content="Belt **torn**", client_id="c1")
        sent = await _frame(maria_socket, "chat.sent")
        assert sent["client_id"] == "c1"
        for socket in (maria_socket, bob_socket):
            frame = await _frame(socket, "chat.message")
            assert frame["id"] == sent["id"] and frame["conversation"] == group.pk
            assert "<strong>torn</strong>" in frame["html"]
        assert await _silent(alice_socket)
        assert await _silent(mallory_socket)
        assert await sync_to_async(Message.objects.filter(pk=sent["id"], content="Belt **torn**").exists)()
    finally:
        for socket in sockets:
            await socket.disconnect()


async def test_a_socket_follows_conversations_the_person_joins_while_connected(maria, carol):
    carol_socket = await _open(carol)
    try:
        channel = await sync_to_async(services.create_channel)(actor=maria, name="quality")
        await sync_to_async(services.join_channel)(user=carol, conversation=channel)
        assert (await _frame(carol_socket, "chat.joined"))["conversation"] == channel.pk
        await sync_to_async(services.send_message)(sender=maria, conversation=channel, content="Audit at 3")
        assert (await _frame(carol_socket, "chat.message"))["conversation"] == channel.pk
    finally:
        await carol_socket.disconnect()


async def test_it_refuses_to_send_into_a_conversation_the_person_is_not_in(alice, mallory, group):
    sockets = [await _open(alice), await _open(mallory)]
    try:
        for socket in sockets:
            await _send(socket, type="chat.send", conversation=group.pk, content="let me in", client_id=9)
            error = await _frame(socket, "error")
            assert "not in it" in error["error"] and error["client_id"] == 9
        assert not await sync_to_async(Message.objects.exists)()
    finally:
        for socket in sockets:
            await socket.disconnect()


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ({"type": "chat.send", "conversation": "one", "content": "x"}, "integer"),
        ({"type": "chat.send", "content": "x"}, "integer"),
        ({"type": "chat.send", "conversation": None, "content": 5}, "integer"),
        ({"type": "chat.send", "content": "", "conversation": "GROUP"}, "Write something"),
        ({"type": "chat.send", "content": "x" * 10_001, "conversation": "GROUP"}, "too long"),
        ({"type": "chat.send", "content": 7, "conversation": "GROUP"}, "must be text"),
        ({"type": "chat.read", "conversation": "GROUP", "up_to": -3}, "integer"),
        ({"type": "chat.sync"}, "integer"),
    ],
)
async def test_it_answers_bad_chat_frames_with_a_reason_and_stores_nothing(maria, group, frame, reason):
    frame = {key: (group.pk if value == "GROUP" else value) for key, value in frame.items()}
    socket = await _open(maria)
    try:
        await _send(socket, **frame)
        assert reason in (await _frame(socket, "error"))["error"]
        assert not await sync_to_async(Message.objects.exists)()
        await _send(socket, type="ping", id=1)
        assert (await _frame(socket, "pong"))["id"] == 1
    finally:
        await socket.disconnect()


async def test_typing_reaches_the_other_members_only(maria, bob, group):
    maria_socket, bob_socket = await _open(maria), await _open(bob)
    try:
        await _send(maria_socket, type="chat.typing", conversation=group.pk)
        typing = await _frame(bob_socket, "chat.typing")
        assert typing["user"] == maria.pk and typing["name"] == "Maria" and typing["conversation"] == group.pk
        assert await _silent(maria_socket)
    finally:
        await maria_socket.disconnect()
        await bob_socket.disconnect()


async def test_read_receipts_in_a_direct_conversation(maria, bob):
    direct = await sync_to_async(services.get_or_create_direct)(user=maria, other=bob)
    message = await sync_to_async(services.send_message)(sender=maria, conversation=direct, content="Seen this?")
    maria_socket, bob_socket = await _open(maria), await _open(bob)
    try:
        await _send(bob_socket, type="chat.read", conversation=direct.pk, up_to=message.pk)
        seen = await _frame(maria_socket, "chat.read")
        assert seen == {"type": "chat.read", "conversation": direct.pk, "user": bob.pk, "up_to": message.pk}
        unread = await _frame(bob_socket, "chat.unread")
        assert unread["unread"] == 0 and unread["total"] == 0
    finally:
        await maria_socket.disconnect()
        await bob_socket.disconnect()


async def test_a_flood_of_frames_is_refused_without_closing_the_socket(maria, settings):
    settings.WS_FRAME_BURST, settings.WS_FRAME_RATE = 5, 0.01  # No refill while the test runs, however slow.
    socket = await _open(maria)
    try:
        for n in range(8):
            await _send(socket, type="ping", id=n)
        replies = [json.loads(await receive(socket)) for _ in range(8)]
        assert [reply["type"] for reply in replies].count("pong") == 5
        assert any("slow down" in reply.get("error", "") for reply in replies)
    finally:
        await socket.disconnect()


async def test_the_send_rate_limit_applies_per_person(maria, group):
    socket = await _open(maria)
    try:
        with override_settings(CHAT_RATE_LIMIT=3, CHAT_RATE_WINDOW=3600):  # No window ends mid-test.
            for n in range(4):
                await _send(socket, type="chat.send", conversation=group.pk, content=f"m{n}")
            errors = []
            for _ in range(4):
                frame = json.loads(await receive(socket))
                while frame["type"] not in ("chat.sent", "error"):
                    frame = json.loads(await receive(socket))
                errors.append(frame.get("error", ""))
        assert sum("too fast" in error for error in errors) == 1
        assert await sync_to_async(Message.objects.count)() == 3
    finally:
        await socket.disconnect()


async def test_it_catches_up_exactly_the_messages_missed_while_disconnected(maria, bob, group):
    bob_socket = await _open(bob)
    first = await sync_to_async(services.send_message)(sender=maria, conversation=group, content="before")
    assert (await _frame(bob_socket, "chat.message"))["id"] == first.pk
    await bob_socket.disconnect()

    with override_settings(CHAT_RATE_LIMIT=1000):
        missed = [
            (await sync_to_async(services.send_message)(sender=maria, conversation=group, content=f"missed {n}")).pk
            for n in range(50)
        ]

    bob_socket = await _open(bob)
    try:
        await _send(bob_socket, type="chat.sync", after=first.pk)
        received = []
        while True:
            frame = json.loads(await receive(bob_socket))
            if frame["type"] == "chat.counts":
                break
            if frame["type"] == "chat.message":
                received.append(frame["id"])
        assert received == missed  # Each once, in order, nothing else.
        assert frame["counts"] == {str(group.pk): 51} and frame["total"] == 51 and frame["last"] == missed[-1]
    finally:
        await bob_socket.disconnect()


async def test_counts_on_request_agree_with_the_database(maria, bob, group):
    await sync_to_async(services.send_message)(sender=maria, conversation=group, content="one")
    socket = await _open(bob)
    try:
        await _send(socket, type="chat.counts")
        counts = await _frame(socket, "chat.counts")
        assert counts["counts"] == {str(group.pk): 1}
        expected = await sync_to_async(selectors.unread_counts_for)(user_id=bob.pk)
        assert counts["total"] == selectors.total_of(expected) == 1
    finally:
        await socket.disconnect()


async def test_a_page_catches_up_on_its_own_conversation_only(maria, bob, group):
    other = await sync_to_async(services.get_or_create_direct)(user=maria, other=bob)
    for conversation in (group, other):
        await sync_to_async(services.send_message)(sender=maria, conversation=conversation, content="while away")
    socket = await _open(bob)
    try:
        await _send(socket, type="chat.sync", after=0, conversation=group.pk)
        received = []
        while (frame := json.loads(await receive(socket)))["type"] != "chat.counts":
            if frame["type"] == "chat.message":
                received.append(frame["conversation"])
        assert received == [group.pk]
        assert frame["counts"] == {str(group.pk): 1, str(other.pk): 1} and frame["complete"] is True
    finally:
        await socket.disconnect()
