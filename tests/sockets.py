"""One socket for a user in a test: a logged-in WebsocketCommunicator at /ws/, and the frames it gets."""

import json

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from nexus.asgi import application


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user, backend="accounts.backends.ModelBackend")
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def connect(user) -> WebsocketCommunicator:
    cookie = await sync_to_async(session_cookie)(user)
    communicator = WebsocketCommunicator(
        application, "/ws/", headers=[(b"origin", b"http://localhost"), (b"cookie", cookie)]
    )
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    assert json.loads(await communicator.receive_from(timeout=5))["type"] == "hello"
    return communicator


async def frames_of(communicator, wait=0.5) -> list[str]:
    """Every frame that arrives within `wait` seconds of the last one, presence left out."""
    frames = []
    while not await communicator.receive_nothing(timeout=wait):
        text = await communicator.receive_from(timeout=1)
        if not text.startswith('{"type": "presence"'):
            frames.append(text)
    return frames
