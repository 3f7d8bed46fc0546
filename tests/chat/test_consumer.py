"""The /ws/ socket: who may connect, which groups it joins, and how it answers frames."""

import json
from datetime import timedelta

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client

from nexus.asgi import application
from nexus.realtime import organization_group, send_event_now, user_group

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

ORIGIN = (b"origin", b"http://localhost")


def _session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user, backend="accounts.backends.ModelBackend")
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def receive(communicator, timeout=5) -> str:
    """The next frame that is not someone's presence (people come and go while tests run)."""
    while True:
        text = await communicator.receive_from(timeout=timeout)
        if not text.startswith('{"type": "presence"'):
            return text


async def _connect(user=None, origin=ORIGIN):
    headers = [origin] if origin else []
    if user is not None:
        from asgiref.sync import sync_to_async

        headers.append((b"cookie", await sync_to_async(_session_cookie)(user)))
    communicator = WebsocketCommunicator(application, "/ws/", headers=headers)
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


async def test_it_refuses_an_anonymous_socket():
    communicator, connected, code = await _connect(user=None)
    assert not connected
    assert code == 4401
    await communicator.disconnect()


async def test_it_refuses_a_cross_origin_socket(alice):
    communicator, connected, _ = await _connect(user=alice, origin=(b"origin", b"http://evil.example"))
    assert not connected
    await communicator.disconnect()


async def test_it_refuses_a_socket_without_origin(alice):
    communicator, connected, _ = await _connect(user=alice, origin=None)
    assert not connected
    await communicator.disconnect()


async def test_it_accepts_a_logged_in_user_and_says_hello(alice):
    communicator, connected, _ = await _connect(user=alice)
    try:
        assert connected
        hello = json.loads(await communicator.receive_from(timeout=5))
        assert hello == {"type": "hello", "user": alice.pk, "organization": alice.organization_id}
    finally:
        await communicator.disconnect()


async def test_it_refuses_a_deactivated_user(alice, carol):
    from asgiref.sync import sync_to_async

    cookie = await sync_to_async(_session_cookie)(carol)
    carol.is_active = False
    await sync_to_async(carol.save)(update_fields=["is_active"])
    communicator = WebsocketCommunicator(application, "/ws/", headers=[ORIGIN, (b"cookie", cookie)])
    connected, _ = await communicator.connect(timeout=5)
    assert not connected
    await communicator.disconnect()


async def test_it_joins_the_user_and_organization_groups_only(alice, carol, mallory):
    from asgiref.sync import sync_to_async

    sockets = {}
    try:
        for user in (alice, carol, mallory):
            communicator, connected, _ = await _connect(user=user)
            assert connected
            await communicator.receive_from(timeout=5)  # hello
            sockets[user.username] = communicator

        fragment = '<div id="x" hx-swap-oob="true">hi</div>'
        await sync_to_async(send_event_now)(
            [organization_group(alice.organization_id)], {"type": "hub.fragment", "html": fragment}
        )
        assert await receive(sockets["alice"]) == fragment
        assert await receive(sockets["carol"]) == fragment
        assert await sockets["mallory"].receive_nothing(timeout=0.3)

        await sync_to_async(send_event_now)(
            [user_group(carol.pk)], {"type": "hub.json", "payload": {"type": "toast", "text": "for carol"}}
        )
        assert json.loads(await receive(sockets["carol"]))["text"] == "for carol"
        assert await sockets["alice"].receive_nothing(timeout=0.3)
    finally:
        for communicator in sockets.values():
            await communicator.disconnect()


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "expected an object"),
        ('{"type": 5}', "expected an object"),
        ('{"type": "launch_missiles"}', "Unknown frame type"),
    ],
)
async def test_it_answers_malformed_frames_with_an_error_and_stays_open(alice, frame, error):
    communicator, connected, _ = await _connect(user=alice)
    try:
        assert connected
        await communicator.receive_from(timeout=5)
        await communicator.send_to(text_data=frame)
        reply = json.loads(await communicator.receive_from(timeout=5))
        assert reply["type"] == "error"
        assert error in reply["error"]
        # The socket still works after the error.
        await communicator.send_to(text_data=json.dumps({"type": "ping", "id": 7}))
        assert json.loads(await communicator.receive_from(timeout=5)) == {"type": "pong", "id": 7}
    finally:
        await communicator.disconnect()


async def test_it_rejects_binary_frames(alice):
    communicator, connected, _ = await _connect(user=alice)
    try:
        assert connected
        await communicator.receive_from(timeout=5)
        await communicator.send_to(bytes_data=b"\x00\x01")
        reply = json.loads(await communicator.receive_from(timeout=5))
        assert reply["type"] == "error"
    finally:
        await communicator.disconnect()


async def test_it_keeps_an_idle_socket_subscribed_past_the_redis_timeout(alice, settings):
    """redis-py 8 defaults socket_timeout to 5 s; an idle consumer must still receive later."""
    if not settings.REDIS_URL:
        pytest.skip("Only the Redis channel layer has a socket timeout.")
    import asyncio

    from asgiref.sync import sync_to_async

    communicator, connected, _ = await _connect(user=alice)
    try:
        assert connected
        await communicator.receive_from(timeout=5)
        await asyncio.sleep(6.5)
        await sync_to_async(send_event_now)(
            [user_group(alice.pk)], {"type": "hub.json", "payload": {"type": "toast", "text": "still here"}}
        )
        assert json.loads(await communicator.receive_from(timeout=5))["text"] == "still here"
    finally:
        await communicator.disconnect()


async def test_a_pages_first_socket_sends_only_banners_newer_than_the_page(alice, maria):
    """The page renders its banners and names that moment; its socket must not send them all again."""
    from asgiref.sync import sync_to_async
    from django.utils import timezone

    from chat import services as chat_services
    from chat.models import SystemMessage

    def banner(title, age):
        made = chat_services.create_system_message(
            organization=maria.organization, actor=maria, title=title, is_broadcast=True
        )
        SystemMessage.objects.filter(pk=made.pk).update(created_at=timezone.now() - age)
        return made.pk

    old = await sync_to_async(banner)("Shown with the page", timedelta(minutes=5))
    new = await sync_to_async(banner)("Created since", timedelta(0))
    page_moment = int((timezone.now() - timedelta(minutes=1)).timestamp())

    async def banners_sent(query: str) -> set[int]:
        cookie = await sync_to_async(_session_cookie)(alice)
        socket = WebsocketCommunicator(application, f"/ws/{query}", headers=[ORIGIN, (b"cookie", cookie)])
        connected, _ = await socket.connect(timeout=5)
        assert connected
        sent = set()
        try:
            while not await socket.receive_nothing(timeout=0.5):
                text = await socket.receive_from()
                sent |= {pk for pk in (old, new) if f'id="system-message-{pk}"' in text}
        finally:
            await socket.disconnect()
        return sent

    assert await banners_sent(f"?banners_since={page_moment}") == {new}
    # A reconnect (no moment) and a moment that is no time get every banner, as before.
    assert await banners_sent("") == {old, new}
    assert await banners_sent("?banners_since=yesterday") == {old, new}
    assert await banners_sent("?banners_since=99999999999999999999") == {old, new}
