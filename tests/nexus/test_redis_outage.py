"""Redis is a helper: with it stopped pages serve, sends are stored, sockets connect, and all recovers.

Every test runs its own redis-server (`own_redis`, tests/redis_server.py), stops it in the
middle and starts it again on the same port, without restarting anything else.
"""

import asyncio
import json
import logging
import time

import pytest
from asgiref.sync import sync_to_async
from django.core.cache import cache
from django.urls import reverse

from chat import presence
from chat import services as chat_services
from chat.models import Message
from nexus import degraded
from nexus.realtime import send_event_now, user_group
from tests.chat.test_consumer import _connect
from tests.conftest import PASSWORD

API = "/api/v1"


@pytest.fixture
def crew(maria, bob, carol):
    return chat_services.create_group(actor=maria, name="Night shift", members=[bob, carol])


def _send_over_api(client, conversation, content):
    return client.post(
        f"{API}/chat/conversations/{conversation.pk}/messages",
        json.dumps({"content": content}),
        content_type="application/json",
    )


def _wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not come true in time")
        time.sleep(0.1)


def _redis_serves_again():
    """Past the cache's pause after a failure, and one call that reaches Redis again."""
    time.sleep(1.1)
    presence.online_ids([0])


@pytest.mark.django_db
def test_it_serves_the_chat_and_activities_pages_while_redis_is_down_and_recovers(own_redis, client_for, maria, crew):
    client = client_for(maria)
    assert client.get(f"/chat/{crew.pk}/").status_code == 200  # Fills the cache while Redis is up.
    own_redis.stop()

    for url in ("/chat/?list=1", f"/chat/{crew.pk}/", "/activities/", "/"):
        response = client.get(url)
        assert response.status_code == 200, url
    page = client.get(f"/chat/{crew.pk}/").content.decode()
    assert 'class="presence unknown"' in page and "Presence unknown" in page
    assert degraded.is_degraded("cache")

    own_redis.start()
    _redis_serves_again()
    page = client.get(f"/chat/{crew.pk}/").content.decode()
    assert "Presence unknown" not in page
    assert not degraded.is_degraded("cache")


@pytest.mark.django_db
def test_it_stores_a_message_sent_through_the_api_while_redis_is_down_and_limits_per_process(
    own_redis, client_for, maria, crew, settings
):
    settings.CHAT_RATE_LIMIT = 3
    client = client_for(maria)
    own_redis.stop()

    statuses = [_send_over_api(client, crew, f"Belt torn {n}").status_code for n in range(4)]

    assert statuses == [201, 201, 201, 429]  # Stored, and a flood is still refused (in this process).
    assert list(Message.objects.order_by("pk").values_list("content", flat=True)) == [
        "Belt torn 0",
        "Belt torn 1",
        "Belt torn 2",
    ]
    assert degraded.is_degraded("cache")


@pytest.mark.django_db
def test_it_counts_sends_in_redis_again_once_it_returns(own_redis, client_for, maria, crew, settings):
    settings.CHAT_RATE_LIMIT = 100
    client = client_for(maria)
    own_redis.stop()
    assert _send_over_api(client, crew, "During").status_code == 201
    own_redis.start()
    _redis_serves_again()

    assert _send_over_api(client, crew, "After").status_code == 201

    assert any(key.startswith(b"outage-test:1:chat-rate:") for key in own_redis.client().scan_iter())
    assert not degraded.is_degraded("chat_rate_limit")


@pytest.mark.django_db
def test_it_says_in_health_that_redis_is_down_without_failing_and_recovers(own_redis, client, settings):
    settings.NEXUS_HEALTH_CELERY = False
    own_redis.stop()

    started = time.monotonic()
    response = client.get("/health/")

    assert time.monotonic() - started < 3
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert set(body["failing"]) == {"cache", "channel_layer"}
    assert body["checks"]["database"]["ok"] is True
    assert "cache" in body["degraded"] and body["degraded"]["cache"]["since"]
    assert "per-process" in body["degraded"]["cache"]["fallback"]

    own_redis.start()
    time.sleep(1.1)
    _wait_until(lambda: client.get("/health/").json()["status"] == "ok")
    assert client.get("/health/").json()["degraded"] == {}


@pytest.mark.django_db
def test_it_does_not_wait_for_celery_to_find_its_broker_down_too(own_redis, client, settings):
    settings.NEXUS_HEALTH_CELERY = True
    settings.REDIS_URL = settings.CELERY_BROKER_URL = own_redis.url
    own_redis.stop()

    started = time.monotonic()
    body = client.get("/health/").json()

    assert time.monotonic() - started < 3
    assert "celery" in body["failing"] and "broker" in body["checks"]["celery"]["error"]


@pytest.mark.django_db
def test_it_logs_an_outage_once_and_its_end_once(own_redis, caplog):
    caplog.set_level(logging.WARNING, logger="nexus.degraded")
    own_redis.stop()

    for n in range(50):
        assert cache.get(f"missing-{n}") is None
        cache.set("anything", n)
    time.sleep(1.1)
    cache.get("anything")
    own_redis.start()
    _redis_serves_again()
    cache.get("anything")

    messages = [record.getMessage() for record in caplog.records if record.name == "nexus.degraded"]
    assert len([text for text in messages if text.startswith("cache degraded")]) == 1
    assert len([text for text in messages if text.startswith("cache recovered")]) == 1


@pytest.mark.django_db
def test_it_logs_people_in_while_redis_is_down_and_still_limits_logins(own_redis, client, maria, settings):
    """Sessions are in the database; allauth's rate limits count in this process meanwhile."""
    settings.ACCOUNT_RATE_LIMITS = {"login": "4/m/ip"}
    own_redis.stop()

    response = client.post(reverse("account_login"), {"login": "maria", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/chat/?list=1").status_code == 200

    client.post(reverse("account_logout"))
    statuses = [
        client.post(reverse("account_login"), {"login": "maria", "password": "wrong"}).status_code for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]  # The fourth login of the minute, counting the one above.


@pytest.mark.django_db
def test_it_keeps_what_this_process_wrote_while_redis_is_down(own_redis):
    own_redis.stop()
    cache.set("directory", ["Hydraulics"], 60)
    assert cache.get("directory") == ["Hydraulics"]  # allauth's rate limits and org_cached rely on it.
    assert cache.add("lock", True) is True and cache.add("lock", True) is False


@pytest.mark.django_db
def test_it_does_not_raise_when_a_broadcast_cannot_be_published(own_redis, alice):
    own_redis.stop()
    send_event_now([user_group(alice.pk)], {"type": "hub.json", "payload": {"type": "toast", "text": "lost"}})
    assert degraded.is_degraded("channel_layer")


async def _frame(communicator, frame_type: str, timeout: float = 5) -> dict:
    while True:
        text = await communicator.receive_from(timeout=timeout)
        if text.startswith("{") and json.loads(text)["type"] == frame_type:
            return json.loads(text)


async def _settled(*sockets):
    """Once a socket answers a ping it has finished connecting (and counting its person in)."""
    for socket in sockets:
        await socket.send_to(text_data=json.dumps({"type": "ping", "id": "settled"}))
        while (await _frame(socket, "pong"))["id"] != "settled":
            pass


async def _until_layer_heals(timeout=10.0):
    deadline = time.monotonic() + timeout
    while degraded.is_degraded("channel_layer"):
        assert time.monotonic() < deadline, "the channel layer did not recover"
        await asyncio.sleep(0.1)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_it_connects_a_socket_while_redis_is_down_that_works_and_hears_its_groups_once_it_returns(
    own_redis, maria, crew, settings
):
    settings.CHAT_RATE_LIMIT = 100
    before, *_ = await _connect(user=maria)  # Open before the outage: redis-py resubscribes it.
    try:
        await _settled(before)
        await sync_to_async(own_redis.stop)()
        during, connected, _ = await _connect(user=maria)
        try:
            assert connected
            assert json.loads(await during.receive_from(timeout=5))["type"] == "hello"
            assert await _frame(during, "presence") == {"type": "presence", "unknown": True}

            # Sending goes through the database, so it works without Redis.
            await during.send_to(text_data=json.dumps({"type": "chat.send", "conversation": crew.pk, "content": "Hi"}))
            sent = await _frame(during, "chat.sent")
            assert await sync_to_async(Message.objects.filter(pk=sent["id"], content="Hi").exists)()

            await sync_to_async(own_redis.start)()
            await _until_layer_heals()
            await asyncio.sleep(1.2)  # The socket opened before the outage reconnects on its own schedule.
            await sync_to_async(send_event_now)(
                [user_group(maria.pk)], {"type": "hub.json", "payload": {"type": "toast", "text": "back"}}
            )
            for socket in (during, before):
                assert (await _frame(socket, "toast"))["text"] == "back"
        finally:
            await during.disconnect()
    finally:
        await before.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_it_answers_a_page_that_asks_for_presence_once_redis_is_back(own_redis, maria, bob, mallory):
    bob_socket, *_ = await _connect(user=bob)
    maria_socket, *_ = await _connect(user=maria)
    try:
        await _settled(bob_socket, maria_socket)
        await sync_to_async(own_redis.stop)()
        await maria_socket.send_to(text_data=json.dumps({"type": "presence.query", "users": [bob.pk]}))
        assert await _frame(maria_socket, "presence") == {"type": "presence", "unknown": True}

        await sync_to_async(own_redis.start)()  # Empty: Redis forgot everyone; pings tell it again.
        await asyncio.sleep(1.1)
        await bob_socket.send_to(text_data=json.dumps({"type": "ping", "id": 1}))
        assert (await _frame(bob_socket, "pong"))["id"] == 1
        await maria_socket.send_to(
            text_data=json.dumps({"type": "presence.query", "users": [bob.pk, mallory.pk, 999_999]})
        )
        # Another organization's people are neither online nor away: they are not hers to ask about.
        assert await _frame(maria_socket, "presence") == {"type": "presence", "online": [bob.pk], "away": []}
    finally:
        await bob_socket.disconnect()
        await maria_socket.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_it_closes_a_socket_cleanly_while_redis_is_down(own_redis, maria):
    socket, connected, _ = await _connect(user=maria)
    assert connected
    await _settled(socket)
    await sync_to_async(own_redis.stop)()
    await socket.disconnect()  # Leaving groups and counting out must not raise.
    await sync_to_async(own_redis.start)()
