"""Per-organization values that many pages read and few actions change.

A value is built on a miss and kept under `org:<id>:<name>` for `timeout`
seconds; whoever changes what it was built from calls `forget()`. The timeout
bounds staleness where the cache cannot be shared (the in-process cache of the
embedded default, run under several worker processes) or a change bypassed the
code that forgets (a bulk `update()`).
"""

from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.db import transaction

T = TypeVar("T")

DEFAULT_TIMEOUT = 120


def _key(organization_id: int, name: str) -> str:
    return f"org:{organization_id}:{name}"


def org_cached(organization_id: int, name: str, build: Callable[[], T], timeout: int = DEFAULT_TIMEOUT) -> T:
    """The cached value of `name` for the organization, built with `build()` when missing."""
    key = _key(organization_id, name)
    value = cache.get(key)
    if value is None:
        value = build()
        cache.set(key, value, timeout)
    return value


def forget(organization_id: int, *names: str) -> None:
    """Drop cached values now and again once the transaction commits.

    Now, so the changing request reads its own change; on commit, so a reader
    that rebuilt the value from the pre-commit state in the meantime is not kept.
    """
    keys = [_key(organization_id, name) for name in names]
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys))
