"""Hostile frames on /ws/: each gets a reason back (or, oversized, a 1009 close), never a crash."""

import json

import pytest
from channels.testing import WebsocketCommunicator

from nexus import frames
from nexus.asgi import application
from tests.chat.test_consumer import ORIGIN, _session_cookie

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def _open(user):
    from asgiref.sync import sync_to_async

    headers = [ORIGIN, (b"cookie", await sync_to_async(_session_cookie)(user))]
    communicator = WebsocketCommunicator(application, "/ws/", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    await communicator.receive_from(timeout=5)  # hello
    return communicator


async def _reply(communicator) -> dict:
    while True:
        reply = json.loads(await communicator.receive_from(timeout=5))
        if reply["type"] != "presence":
            return reply


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        ("[" * 5000 + "]" * 5000, "nested too deeply"),
        ('{"type": "ping", "id": ' + "[" * 3000 + "]" * 3000 + "}", "nested too deeply"),
        ('{"type": "ping", "id": 1e999999}', "not JSON"),
        ('{"type": "ping", "id": -1e999999}', "not JSON"),
        ('{"type": "ping", "id": Infinity}', "not JSON"),
        ('{"type": "ping", "id": NaN}', "not JSON"),
        ('{"type": "ping", "id": ' + "9" * 5000 + "}", "not JSON"),
        ('{"type": "chat.read", "conversation": 99999999999999999999}', "must be a non-negative integer"),
        ('{"type": "chat.sync", "after": 9223372036854775808}', "must be a non-negative integer"),
        ('{"type": "chat.read", "conversation": 1.5}', "must be a non-negative integer"),
    ],
)
async def test_it_answers_hostile_frames_with_a_reason_and_stays_open(alice, frame, error):
    communicator = await _open(alice)
    try:
        await communicator.send_to(text_data=frame)
        reply = await _reply(communicator)
        assert reply["type"] == "error"
        assert error in reply["error"]
        await communicator.send_to(text_data=json.dumps({"type": "ping", "id": 7}))
        assert await _reply(communicator) == {"type": "pong", "id": 7}
    finally:
        await communicator.disconnect()


async def test_it_echoes_a_large_but_finite_number_as_json(alice):
    communicator = await _open(alice)
    try:
        await communicator.send_to(text_data='{"type": "ping", "id": 1e308}')
        raw = await communicator.receive_from(timeout=5)
        assert json.loads(raw, parse_constant=lambda name: pytest.fail(f"{name} in {raw}")) == {
            "type": "pong",
            "id": 1e308,
        }
    finally:
        await communicator.disconnect()


@pytest.mark.parametrize("size", [64 * 1024 + 1, 70_000, 200_000])
async def test_it_closes_the_socket_with_1009_for_a_frame_over_the_limit(alice, size):
    communicator = await _open(alice)
    frame = '{"type": "ping", "pad": "' + "x" * size + '"}'
    await communicator.send_to(text_data=frame)
    while True:
        output = await communicator.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            break
    assert output["code"] == frames.CLOSE_TOO_LARGE


async def test_it_counts_the_limit_in_utf8_bytes(alice, settings):
    settings.WS_MAX_FRAME_BYTES = 1000
    communicator = await _open(alice)
    # 400 characters of three bytes each: under the limit in characters, over it in bytes.
    await communicator.send_to(text_data='{"type": "ping", "id": "' + "€" * 400 + '"}')
    output = await communicator.receive_output(timeout=5)
    assert output["type"] == "websocket.close"
    assert output["code"] == frames.CLOSE_TOO_LARGE


async def test_it_never_writes_a_non_finite_number():
    with pytest.raises(ValueError):
        frames.dumps({"type": "pong", "id": float("inf")})
