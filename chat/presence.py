"""Who is online: counted per person across their open tabs, in the shared cache.

A tab's socket counts the person in on connect and out on disconnect; its
pings keep a "seen" mark alive. Someone is online while the mark lives, so a
server that died without disconnecting its sockets cannot leave people online
for longer than ONLINE_SECONDS.
"""

from django.core.cache import cache

ONLINE_SECONDS = 75  # Browsers ping every 25 s; three missed pings and the person is away.
_COUNT_SECONDS = 24 * 3600


def _count_key(user_id: int) -> str:
    return f"presence:{user_id}:tabs"


def _seen_key(user_id: int) -> str:
    return f"presence:{user_id}:seen"


def connected(user_id: int) -> bool:
    """Count a tab in; True when the person was not online before."""
    was_online = cache.get(_seen_key(user_id)) is not None
    cache.add(_count_key(user_id), 0, _COUNT_SECONDS)
    try:
        cache.incr(_count_key(user_id))
    except ValueError:
        cache.set(_count_key(user_id), 1, _COUNT_SECONDS)
    cache.set(_seen_key(user_id), 1, ONLINE_SECONDS)
    return not was_online


def heartbeat(user_id: int) -> None:
    cache.set(_seen_key(user_id), 1, ONLINE_SECONDS)


def disconnected(user_id: int) -> bool:
    """Count a tab out; True when it was the person's last one."""
    try:
        tabs = cache.decr(_count_key(user_id))
    except ValueError:
        tabs = 0
    if tabs <= 0:
        cache.delete_many([_count_key(user_id), _seen_key(user_id)])
        return True
    return False


def online_ids(user_ids) -> set[int]:
    user_ids = list(user_ids)
    seen = cache.get_many([_seen_key(pk) for pk in user_ids])
    return {pk for pk in user_ids if _seen_key(pk) in seen}
