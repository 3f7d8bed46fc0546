"""GET /health/: is every part this process depends on working?

JSON, no authentication, so load balancers and the installer can poll it. No
check reveals data; each reports only ok / failed and why.

- 200, "status": "ok": every check passes.
- 200, "status": "degraded": a helper fails (the cache or the channel layer,
  i.e. Redis, or celery), named in "failing", with what serves instead in
  "degraded" (since when, the last error, the fallback: see nexus.degraded).
  The hub still serves pages and stores what is sent. Not a 503 on purpose:
  every web process shares the one Redis, so a load balancer that took them
  out of rotation for it would turn a helper's outage into the hub's.
- 503, "status": "failing": a part without which nothing can be served fails
  (CRITICAL: the database).
"""

import asyncio
import time
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

import nexus
from nexus import degraded
from nexus.cache import strict

CHECK_TIMEOUT = 2.0
CRITICAL = {"database"}


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def check_cache() -> str:
    key = f"health:{uuid.uuid4().hex}"
    store = strict(cache)  # The server itself, not the stand-in that serves while it is down.
    store.set(key, "ok", timeout=10)
    value = store.get(key)
    store.delete(key)
    if value != "ok":
        raise RuntimeError("the cache did not return what was stored")
    return cache.__class__.__name__


async def _round_trip(layer) -> None:
    check = getattr(layer, "check", None)  # A fail-soft layer would drop the ping and time out instead.
    if check is not None:
        await asyncio.wait_for(check(), timeout=CHECK_TIMEOUT)
    channel = await layer.new_channel("health.")
    await layer.send(channel, {"type": "health.ping"})
    message = await asyncio.wait_for(layer.receive(channel), timeout=CHECK_TIMEOUT)
    if message.get("type") != "health.ping":
        raise RuntimeError("the channel layer returned another message")


def check_channel_layer() -> str:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer is configured")
    async_to_sync(_round_trip)(layer)
    return layer.__class__.__name__


def check_celery() -> str:
    if not settings.NEXUS_HEALTH_CELERY:
        return "embedded (tasks run in the web process)"
    if settings.CELERY_BROKER_URL == settings.REDIS_URL and degraded.is_degraded("cache"):
        # kombu retries a down broker for about 6 s before it gives up; the cache check has just found
        # that Redis is down, and a health check must answer before the load balancer's timeout.
        raise RuntimeError("the broker (Redis) is unreachable")
    replies = nexus.celery_app.control.ping(timeout=CHECK_TIMEOUT)
    if not replies:
        raise RuntimeError("no celery worker answered a ping")
    return f"{len(replies)} worker(s)"


CHECKS = {
    "database": check_database,
    "cache": check_cache,
    "channel_layer": check_channel_layer,
    "celery": check_celery,
}


@never_cache
@require_GET
def health(request):
    checks = {}
    failing = []
    for name, check in CHECKS.items():
        started = time.monotonic()
        try:
            detail = check()
            checks[name] = {"ok": True, "detail": detail}
        except Exception as exc:  # Any failure of a dependency is a failed check.
            checks[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            failing.append(name)
        checks[name]["ms"] = round((time.monotonic() - started) * 1000, 1)
    critical = [name for name in failing if name in CRITICAL]
    body = {
        "status": "failing" if critical else "degraded" if failing else "ok",
        "version": nexus.__version__,
        "mode": "embedded" if settings.EMBEDDED else "redis",
        "checks": checks,
        "failing": failing,
        "degraded": degraded.report(),
    }
    return JsonResponse(body, status=503 if critical else 200)
