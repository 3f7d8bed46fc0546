"""The Redis pub/sub channel layer, failing soft while Redis cannot be reached.

channels-redis's `RedisPubSubChannelLayer` holds, per event loop, one
subscription connection and one small pool for publishing, so it already
shares Redis connections per process. What it does not do is survive an
outage: a socket that connects while Redis is down fails in `new_channel()`
(a 500 at the handshake), a group send raises into the service that sent it,
and subscriptions asked for during the outage are lost for good (redis-py
replays only those that succeeded).

Here, while Redis is down, subscriptions are remembered rather than refused,
sends are dropped (a broadcast is best effort: clients catch up from the
database after a gap), and the shard's receiving task rebuilds its
subscription connection every RETRY_SECONDS until Redis answers, then
subscribes again to everything its sockets still want. So a socket opened
during the outage works for everything that goes through the database at once
and hears its groups as soon as Redis is back, without a restart. Outages are
reported to `nexus.degraded` (logged once, shown by `/health/`).
"""

import asyncio
import contextlib
import logging

import redis
from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer, RedisSingleShardConnection
from channels_redis.utils import _wrap_close, decode_hosts

from nexus import degraded

logger = logging.getLogger(__name__)

PART = "channel_layer"
FALLBACK = "live events are dropped (pages and sends still work; clients catch up when it returns)"
RETRY_SECONDS = 1.0
# A publish or a subscribe that takes longer has failed; the subscription connection itself waits forever.
OPERATION_TIMEOUT = 3.0
LAYER_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError, TimeoutError)


class FailSoftShardConnection(RedisSingleShardConnection):
    def __init__(self, host, channel_layer):
        super().__init__(host, channel_layer)
        self._wanted: set[str] = set()  # What the sockets want, whether Redis has it or not.
        self._broken = False  # The subscription connection must be rebuilt.

    async def publish(self, channel, message):
        if degraded.waiting(PART):
            return  # Redis failed a moment ago; do not make every sender wait for it to fail again.
        try:
            await asyncio.wait_for(super().publish(channel, message), OPERATION_TIMEOUT)
        except LAYER_ERRORS as error:
            degraded.failed(PART, error, fallback=FALLBACK, retry_after=RETRY_SECONDS)
        else:
            if not self._broken:
                degraded.recovered(PART)

    async def subscribe(self, channel):
        self._wanted.add(channel)
        if self._broken:
            self._ensure_redis()
            self._ensure_receiver()  # It subscribes to everything wanted once Redis is back.
            return
        try:
            await asyncio.wait_for(super().subscribe(channel), OPERATION_TIMEOUT)
        except LAYER_ERRORS as error:
            self._break(error)

    async def unsubscribe(self, channel):
        self._wanted.discard(channel)
        if self._broken:
            self._subscribed_to.discard(channel)
            return
        try:
            await asyncio.wait_for(super().unsubscribe(channel), OPERATION_TIMEOUT)
        except LAYER_ERRORS as error:
            self._break(error)

    async def flush(self):
        await super().flush()
        self._wanted = set()
        self._broken = False

    def _break(self, error: BaseException) -> None:
        self._broken = True
        degraded.failed(PART, error, fallback=FALLBACK)
        self._ensure_redis()
        self._ensure_receiver()

    async def check(self) -> None:
        """Raise unless Redis answers this shard now."""
        if self._broken:
            raise redis.exceptions.ConnectionError("the subscription connection is down; reconnecting")
        self._ensure_redis()
        await asyncio.wait_for(self._redis.ping(), OPERATION_TIMEOUT)

    async def _do_receiving(self):
        while True:
            try:
                if self._broken:
                    await asyncio.sleep(RETRY_SECONDS)
                    await self._heal()
                elif self._pubsub and self._pubsub.subscribed:
                    message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
                    self._receive_message(message)
                else:
                    await asyncio.sleep(0.1)
            except (asyncio.CancelledError, GeneratorExit):
                raise
            except LAYER_ERRORS as error:
                self._break(error)
            except Exception:
                logger.exception("Unexpected exception in receive task")
                await asyncio.sleep(1)

    async def _heal(self) -> None:
        """A new subscription connection, subscribed to everything wanted; it stays broken if Redis does not answer."""
        async with self._lock:
            old, self._pubsub = self._pubsub, None
            if old is not None:
                with contextlib.suppress(Exception):
                    await old.aclose()
            self._ensure_redis()
            if self._pubsub is None:
                self._pubsub = self._redis.pubsub()
            self._subscribed_to = set()
            try:
                await asyncio.wait_for(self._redis.ping(), OPERATION_TIMEOUT)
                # Sockets may come and go while this waits for Redis: repeat until both sides agree.
                while missing := self._wanted - self._subscribed_to:
                    await asyncio.wait_for(self._pubsub.subscribe(*sorted(missing)), OPERATION_TIMEOUT)
                    self._subscribed_to |= missing
            except LAYER_ERRORS as error:
                degraded.failed(PART, error, fallback=FALLBACK)
                return
            gone = self._subscribed_to - self._wanted
            if gone:
                with contextlib.suppress(*LAYER_ERRORS):
                    await asyncio.wait_for(self._pubsub.unsubscribe(*sorted(gone)), OPERATION_TIMEOUT)
                self._subscribed_to -= gone
            self._broken = False
        degraded.recovered(PART)


class FailSoftLoopLayer(RedisPubSubLoopLayer):
    def __init__(self, hosts=None, *args, **kwargs):
        super().__init__(hosts, *args, **kwargs)
        self._shards = [FailSoftShardConnection(host, self) for host in decode_hosts(hosts)]

    async def check(self) -> None:
        for shard in self._shards:
            await shard.check()


class FailSoftRedisPubSubChannelLayer(RedisPubSubChannelLayer):
    """`RedisPubSubChannelLayer` that remembers subscriptions and drops sends while Redis is down."""

    def _get_layer(self):
        loop = asyncio.get_running_loop()
        try:
            layer = self._layers[loop]
        except KeyError:
            layer = FailSoftLoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
        return layer

    async def check(self) -> None:
        """Raise unless every Redis shard of this event loop's layer answers now."""
        await self._get_layer().check()
