"""The Redis cache backend: one connection pool per process, and a cache that fails soft.

Django keeps one cache object per asynchronous context (`caches` is an asgiref
`Local`), and each `RedisCache` object builds its own client with its own
connection pool. Under ASGI every socket is its own context, so every chat
socket held its own Redis connection (990 for 1,000 sockets). Here every
cache object of a process with the same settings shares one client, so the
process holds one pool, and its connections are those of its threads that use
it at the same moment.

Redis is a helper, not the truth (DESIGN.md, "Failure modes"). When it cannot
be reached, each call is served by a per-process memory cache instead: reads
see what this process wrote meanwhile (otherwise they miss), writes land there,
so allauth's rate limits and the chat send limit count per process rather
than failing. After a failure Redis is left alone for RETRY_SECONDS, so a page
with twenty cache reads pays for one refused connection, not twenty; then the
next call tries it again, and the first that succeeds ends the outage (the
memory cache is emptied, its values were only ever a stand-in). Outages are
reported to `nexus.degraded`: logged once, shown by `/health/`.

Code for which a miss is not acceptable asks for `cache.strict()`, which
raises `CacheUnavailable` instead (presence: "unknown" is not "away").
"""

import re
import threading
import time

import redis
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.utils.functional import cached_property

from nexus import degraded

RETRY_SECONDS = 1.0
PART = "cache"
FALLBACK = "served from each process's memory (per-process rate limits, presence unknown)"
# What an unreachable or unusable server raises; anything else (a wrong type for INCR) is a bug and propagates.
REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)

_SOFT_METHODS = (
    "add",
    "get",
    "set",
    "touch",
    "delete",
    "get_many",
    "has_key",
    "incr",
    "set_many",
    "delete_many",
    "clear",
)


class CacheUnavailable(Exception):
    """Redis cannot be reached; the answer is unknown (not a miss)."""


class _Shared:
    """What every cache object of one configuration shares in a process."""

    def __init__(self, client, fallback: LocMemCache):
        self.client = client
        self.fallback = fallback
        self.retry_at = 0.0  # time.monotonic() before which Redis is not tried

    def available(self) -> bool:
        return time.monotonic() >= self.retry_at

    def failed(self, error: BaseException) -> None:
        self.retry_at = time.monotonic() + RETRY_SECONDS
        degraded.failed(PART, error, fallback=FALLBACK)
        # The idle connections of the pool went down with the server: drop them all now, so the first
        # call after it returns does not find one more dead connection (and pause Redis again).
        for pool in self.client._pools.values():
            pool.disconnect(inuse_connections=False)

    def succeeded(self) -> None:
        if degraded.is_degraded(PART):
            degraded.recovered(PART)
            self.fallback.clear()


_shared: dict[tuple, _Shared] = {}
_shared_lock = threading.Lock()


class FailSoftRedisCache(RedisCache):
    """`RedisCache` with one client per process, and a per-process memory cache while Redis is down."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._params = {key: value for key, value in params.items() if key != "OPTIONS"}

    @cached_property
    def _shared(self) -> _Shared:
        identity = (tuple(self._servers), repr(sorted(self._options.items())), self.key_prefix, self.version)
        with _shared_lock:
            shared = _shared.get(identity)
            if shared is None:
                name = "nexus-fallback-" + re.sub(r"\W", "-", repr(identity))
                fallback = LocMemCache(name, {"MAX_ENTRIES": 10_000, **self._params})
                shared = _shared[identity] = _Shared(self._class(self._servers, **self._options), fallback)
        return shared

    @cached_property
    def _cache(self):
        return self._shared.client

    def _soft(self, name: str, *args, **kwargs):
        shared = self._shared
        if shared.available():
            try:
                result = getattr(RedisCache, name)(self, *args, **kwargs)
            except REDIS_ERRORS as error:
                shared.failed(error)
            else:
                shared.succeeded()
                return result
        return getattr(shared.fallback, name)(*args, **kwargs)

    def strict(self) -> "StrictCache":
        """This cache without the fallback: calls raise `CacheUnavailable` while Redis is down."""
        return StrictCache(self)

    def raw_client(self, *, write: bool = True):
        """The redis-py client for pipelines, or None while Redis is known to be down.

        A caller that fails with one of REDIS_ERRORS reports it with `failed()`.
        """
        if not self._shared.available():
            return None
        return self._cache.get_client(write=write)

    def failed(self, error: BaseException) -> None:
        self._shared.failed(error)

    def succeeded(self) -> None:
        self._shared.succeeded()


def _soft_method(name: str):
    def method(self, *args, **kwargs):
        return self._soft(name, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"`RedisCache.{name}`, or the per-process memory cache while Redis is down."
    return method


for _name in _SOFT_METHODS:
    setattr(FailSoftRedisCache, _name, _soft_method(_name))


class StrictCache:
    """The Redis cache's methods, raising `CacheUnavailable` rather than falling back."""

    def __init__(self, backend: FailSoftRedisCache):
        self._backend = backend

    def decr(self, key, delta=1, version=None):
        return self.incr(key, -delta, version=version)

    def script(self, source: str, *, keys: list[str], args: tuple = ()):
        """Run the Lua `source` on Redis in one round trip, atomically; `keys` are cache keys (prefixed here).

        Only the Redis cache has it: callers check `hasattr(store, "script")` and do the same in steps otherwise.
        """
        backend = self._backend
        shared = backend._shared
        if not shared.available():
            raise CacheUnavailable("Redis is unreachable (retrying shortly)")
        names = [backend.make_and_validate_key(key) for key in keys]
        try:
            result = backend._cache.get_client(write=True).eval(source, len(names), *names, *args)
        except REDIS_ERRORS as error:
            shared.failed(error)
            raise CacheUnavailable(str(error)) from error
        shared.succeeded()
        return result

    def __getattr__(self, name: str):
        if name not in _SOFT_METHODS:
            raise AttributeError(name)
        backend = self._backend

        def call(*args, **kwargs):
            shared = backend._shared
            if not shared.available():
                raise CacheUnavailable("Redis is unreachable (retrying shortly)")
            try:
                result = getattr(RedisCache, name)(backend, *args, **kwargs)
            except REDIS_ERRORS as error:
                shared.failed(error)
                raise CacheUnavailable(str(error)) from error
            shared.succeeded()
            return result

        return call


def strict(cache):
    """`cache` for code that must tell "unknown" from a miss: a StrictCache for Redis, else the cache itself
    (memory caches never fail)."""
    method = getattr(cache, "strict", None)
    return method() if method is not None else cache


def reset_shared_clients() -> None:
    """Drop every shared client (tests that point the cache at another server)."""
    with _shared_lock:
        for shared in _shared.values():
            for pool in shared.client._pools.values():
                pool.disconnect()
        _shared.clear()
