"""Who is online: counted per person across their open tabs, in the shared cache.

A tab's socket counts the person in on connect and out on disconnect; its
pings keep a "seen" mark alive. Someone is online while the mark lives, so a
server that died without disconnecting its sockets cannot leave people online
for longer than ONLINE_SECONDS.

The truth is in Redis, never in a process: with Redis unreachable every
function here raises `CacheUnavailable` and presence is "unknown" (None from
`online_ids`), never a guess. When Redis comes back empty (a restart), each
tab's next ping puts its person back (`heartbeat` answers True).

Changes reach the browsers coalesced (`announce`): each process gathers the
people who came or went and, at most every FLUSH_SECONDS, sends one frame per
organization, `{"type": "presence", "online": [ids], "away": [ids]}`, with the
state read from Redis at that moment (so several processes that saw changes of
one person all send the same truth). A connect storm of N sockets costs about
N frames per FLUSH_SECONDS instead of N^2 / 2.
"""

import asyncio
import json
import logging
import weakref

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.core.cache import cache

from nexus.cache import CacheUnavailable, strict
from nexus.realtime import organization_group

__all__ = ["CacheUnavailable", "announce", "connected", "disconnected", "frame", "heartbeat", "online_ids"]

logger = logging.getLogger(__name__)

ONLINE_SECONDS = 75  # Browsers ping every 25 s; three missed pings and the person is away.
FLUSH_SECONDS = 1.5
_COUNT_SECONDS = 24 * 3600


def _count_key(user_id: int) -> str:
    return f"presence:{user_id}:tabs"


def _seen_key(user_id: int) -> str:
    return f"presence:{user_id}:seen"


# On Redis each change is one atomic round trip (a connect storm made four per socket: touch, set, add, incr).
# KEYS: the seen mark, the tab count; ARGV: ONLINE_SECONDS, _COUNT_SECONDS.
_CONNECT_SCRIPT = """
local was_online = redis.call('EXPIRE', KEYS[1], ARGV[1])
if was_online == 0 then redis.call('SET', KEYS[1], 1, 'EX', ARGV[1]) end
if redis.call('INCR', KEYS[2]) == 1 then redis.call('EXPIRE', KEYS[2], ARGV[2]) end
return was_online
"""
_DISCONNECT_SCRIPT = """
if redis.call('DECR', KEYS[2]) <= 0 then
  redis.call('DEL', KEYS[1], KEYS[2])
  return 1
end
return 0
"""


def connected(user_id: int) -> bool:
    """Count a tab in; True when the person was not online before."""
    store = strict(cache)
    if hasattr(store, "script"):
        keys = [_seen_key(user_id), _count_key(user_id)]
        return not store.script(_CONNECT_SCRIPT, keys=keys, args=(ONLINE_SECONDS, _COUNT_SECONDS))
    was_online = store.touch(_seen_key(user_id), ONLINE_SECONDS)
    if not was_online:
        store.set(_seen_key(user_id), 1, ONLINE_SECONDS)
    if not store.add(_count_key(user_id), 1, _COUNT_SECONDS):
        try:
            store.incr(_count_key(user_id))
        except ValueError:  # Expired between add and incr.
            store.set(_count_key(user_id), 1, _COUNT_SECONDS)
    return not was_online


def heartbeat(user_id: int) -> bool:
    """Keep a counted tab's person online; True when they were not (the mark expired or Redis lost it)."""
    store = strict(cache)
    if store.touch(_seen_key(user_id), ONLINE_SECONDS):
        return False
    store.set(_seen_key(user_id), 1, ONLINE_SECONDS)
    store.add(_count_key(user_id), 1, _COUNT_SECONDS)  # Redis lost the count too: this tab at least.
    return True


def disconnected(user_id: int) -> bool:
    """Count a tab out; True when it was the person's last one."""
    store = strict(cache)
    if hasattr(store, "script"):
        return bool(store.script(_DISCONNECT_SCRIPT, keys=[_seen_key(user_id), _count_key(user_id)]))
    try:
        tabs = store.decr(_count_key(user_id))
    except ValueError:
        tabs = 0
    if tabs <= 0:
        store.delete_many([_count_key(user_id), _seen_key(user_id)])
        return True
    return False


def online_ids(user_ids) -> set[int] | None:
    """Those of `user_ids` who are online; None when nobody can know (Redis is unreachable)."""
    user_ids = list(user_ids)
    if not user_ids:
        return set()
    try:
        seen = strict(cache).get_many([_seen_key(pk) for pk in user_ids])
    except CacheUnavailable:
        return None
    return {pk for pk in user_ids if _seen_key(pk) in seen}


def frame(user_ids) -> dict:
    """The "presence" frame of `user_ids`: who of them is online and who is away, or that it is unknown."""
    user_ids = set(user_ids)
    online = online_ids(user_ids)
    if online is None:
        return {"type": "presence", "unknown": True}
    return {"type": "presence", "online": sorted(online), "away": sorted(user_ids - online)}


class _Announcer:
    """The people of each organization whose presence changed, sent together every FLUSH_SECONDS."""

    def __init__(self):
        self.changed: dict[int, set[int]] = {}
        self.task: asyncio.Task | None = None

    def add(self, organization_id: int, user_id: int) -> None:
        self.changed.setdefault(organization_id, set()).add(user_id)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._flush_every_while())

    async def _flush_every_while(self) -> None:
        while self.changed:
            await asyncio.sleep(FLUSH_SECONDS)
            changed, self.changed = self.changed, {}
            for organization_id, user_ids in changed.items():
                try:
                    await self._send(organization_id, user_ids)
                except Exception:
                    logger.exception("Could not announce the presence of %d people", len(user_ids))

    async def _send(self, organization_id: int, user_ids: set[int]) -> None:
        payload = await sync_to_async(frame, thread_sensitive=False)(user_ids)
        if payload.get("unknown"):
            # Redis is down: no truth to tell, and no layer to tell it through. Next round.
            for user_id in user_ids:
                self.changed.setdefault(organization_id, set()).add(user_id)
            return
        event = {"type": "chat.presence", "text": json.dumps(payload)}
        if len(user_ids) == 1:
            (event["user"],) = user_ids  # The person's own sockets need not hear of themselves.
        await get_channel_layer().group_send(organization_group(organization_id), event)


_announcers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Announcer]" = weakref.WeakKeyDictionary()


def announce(*, organization_id: int, user_id: int) -> None:
    """Tell the organization, within FLUSH_SECONDS and together with other changes, that the person's
    presence changed. Call from the event loop."""
    loop = asyncio.get_running_loop()
    if loop not in _announcers:
        _announcers[loop] = _Announcer()
    _announcers[loop].add(organization_id, user_id)
