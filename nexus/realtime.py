"""Realtime broadcast: the one helper that sends events to sockets.

Events leave only after the surrounding transaction commits, so a browser never
sees a change the database might still roll back. Services call these; views
and signals never do. An event is a dict with a `type` naming the consumer
handler (dots allowed, e.g. "hub.fragment") and values that survive json.dumps.
"""

import asyncio
import functools
import json
import logging
import os
from collections.abc import Callable

import redis
from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from channels_redis.utils import decode_hosts
from django.db import transaction

from nexus import degraded

logger = logging.getLogger(__name__)

PUBLISH_TIMEOUT = 2.0
PUBLISH_RETRY_SECONDS = 1.0


def organization_group(organization_id: int) -> str:
    return f"org.{organization_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


# Topics a socket subscribes to while its page shows one object (an activity's timeline): fragments that
# only such a page can swap in go to the topic's group, not to the whole organization. A lower app offers a
# topic with a check of who may follow which object; the socket consumer asks it, knowing no app's models.
MAX_SUBSCRIPTIONS = 20
_topics: dict[str, Callable[[object, int], bool]] = {}


def register_topic(name: str, may_follow: Callable[[object, int], bool]) -> None:
    """Offer `name` to sockets; `may_follow(user, pk)` (sync, may query) says whether the user may follow pk.

    It must answer False for an object of another organization, exactly as for one that does not exist.
    """
    _topics[name] = may_follow


def topic_checker(name: str) -> Callable[[object, int], bool] | None:
    return _topics.get(name)


def topic_group(name: str, pk: int) -> str:
    # Its own namespace: a topic named like another group ("user", "org") can never join a socket to that group.
    return f"topic.{name}.{pk}"


def _socket_event_loop():
    """The event loop of the ASGI server when called from one of its worker threads (a consumer's
    database work), else None (a WSGI request, a celery task, a command)."""
    if os.getpid() != getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None):
        return None
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    return loop if loop is not None and loop.is_running() else None


def _log_failure(future, event_type: str, group: str) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.error("Could not broadcast %s to %s", event_type, group, exc_info=future.exception())


def _redis_publisher(layer):
    """A synchronous Redis client that publishes straight into the pub/sub layer's group channels, or None.

    For `channels_redis.pubsub.RedisPubSubChannelLayer` on one Redis host (the
    production setup), a group send is a PUBLISH of the serialized event on the
    channel "<prefix>__group__<group>" that every process with a member
    subscribes to. Publishing those from the calling thread, several in one
    pipelined round trip, costs far less than handing each send to an event
    loop; other layers (in-memory, sharded Redis) go through `group_send`.
    """
    if not isinstance(layer, RedisPubSubChannelLayer):
        return None
    state = layer.__dict__  # Not getattr: the layer proxies unknown attributes to its event loop's layer.
    if "nexus_publisher" not in state:
        hosts = decode_hosts(layer._kwargs.get("hosts"))
        publisher = None
        if len(hosts) == 1 and "address" in hosts[0]:
            options = {key: value for key, value in hosts[0].items() if key != "address"}
            # Unlike a subscription, a publish has an answer coming: a Redis that does not give
            # it is down, and the request that sent the event must not hang on it.
            options["socket_timeout"] = PUBLISH_TIMEOUT
            options.setdefault("socket_connect_timeout", PUBLISH_TIMEOUT)
            prefix = layer._kwargs.get("prefix", "asgi")
            publisher = (redis.Redis.from_url(hosts[0]["address"], **options), f"{prefix}__group__")
        state["nexus_publisher"] = publisher
    return state["nexus_publisher"]


def send_events_now(events: list[tuple[list[str], dict]]) -> None:
    """Send each (groups, event) pair, in order. Prefer `send_events_on_commit`.

    With the Redis pub/sub layer every send of the list goes out in one
    pipelined round trip from this thread. Otherwise, from a consumer's worker
    thread the sends are handed to the server's event loop without waiting for
    them: that thread does every socket's database work, and a broadcast is
    best effort (clients catch up from the database). Elsewhere they are sent
    before returning.
    """
    for _groups, event in events:
        if "type" not in event:
            raise ValueError("An event needs a 'type' naming its handler.")
        json.dumps(event)  # Fail here, loudly, rather than inside the channel layer.
    layer = get_channel_layer()
    if layer is None:
        return
    publisher = _redis_publisher(layer)
    if publisher is not None:
        if degraded.waiting("channel_layer"):
            return  # Redis failed a moment ago; the database has the change, clients catch up.
        client, channel_prefix = publisher
        pipeline = client.pipeline(transaction=False)
        for groups, event in events:
            data = layer.serialize(event)
            for group in groups:
                pipeline.publish(channel_prefix + group, data)
        try:
            pipeline.execute()
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as error:
            # Logged once per outage by nexus.degraded, not once per event.
            degraded.failed(
                "channel_layer",
                error,
                fallback=f"live events are dropped ({len(events)} just now)",
                retry_after=PUBLISH_RETRY_SECONDS,
            )
        except Exception:
            logger.exception("Could not broadcast %d events", len(events))
        else:
            degraded.recovered("channel_layer")
        return
    loop = _socket_event_loop()
    for groups, event in events:
        for group in groups:
            if loop is not None:
                future = asyncio.run_coroutine_threadsafe(layer.group_send(group, event), loop)
                future.add_done_callback(functools.partial(_log_failure, event_type=event["type"], group=group))
                continue
            try:
                async_to_sync(layer.group_send)(group, event)
            except Exception:
                logger.exception("Could not broadcast %s to %s", event["type"], group)


def send_event_now(groups: list[str], event: dict) -> None:
    """Send `event` to each group immediately (see `send_events_now`). Prefer `send_event_on_commit`."""
    send_events_now([(list(groups), event)])


def send_events_on_commit(events: list[tuple[list[str], dict]]) -> None:
    """Queue (groups, event) pairs, all sent together once the current transaction commits."""
    events = [(list(groups), event) for groups, event in events]
    transaction.on_commit(lambda: send_events_now(events))


def send_event_on_commit(groups: list[str], event: dict) -> None:
    """Queue `event` for `groups`, sent once the current transaction commits."""
    send_events_on_commit([(groups, event)])


def text_event(payload: dict) -> dict:
    """The event of a JSON frame serialized once here rather than once per socket."""
    return {"type": "hub.text", "text": json.dumps(payload)}


def send_json_on_commit(groups: list[str], payload: dict) -> None:
    """Queue a JSON frame for `groups`, serialized once here rather than once per socket."""
    send_event_on_commit(groups, text_event(payload))


def send_fragment_on_commit(groups: list[str], html: str) -> None:
    """Push an HTML fragment (rendered once) that htmx swaps in with hx-swap-oob."""
    send_event_on_commit(groups, {"type": "hub.fragment", "html": html})
