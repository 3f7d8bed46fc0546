"""Sockets share their process's Redis connections instead of holding one each.

Django keeps a cache object per asynchronous context and every socket is a
context of its own; before nexus.cache shared one client per process, each
chat socket built its own connection pool on its first presence call (990
connections for 1,000 sockets).
"""

import json

import pytest
from asgiref.sync import sync_to_async

from tests.chat.test_consumer import _connect
from tests.conftest import staff_members

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

SOCKETS = 30


async def test_it_serves_many_sockets_with_a_few_redis_connections(own_redis, acme):
    people = await sync_to_async(staff_members)(acme, SOCKETS)
    sockets = []
    try:
        for person in people:
            socket, connected, _ = await _connect(user=person)
            assert connected
            sockets.append(socket)
        for socket in sockets:  # Presence, through the cache, from every socket.
            await socket.send_to(text_data=json.dumps({"type": "ping", "id": 1}))
        for socket in sockets:
            while json.loads(await socket.receive_from(timeout=5))["type"] != "pong":
                pass

        connections = await sync_to_async(own_redis.connected_clients)()
    finally:
        for socket in sockets:
            await socket.disconnect()

    # The cache's pool (a connection per thread using it at once) and the layer's subscription and
    # publishing connections: a handful, whatever the number of sockets.
    assert connections <= 6, connections
