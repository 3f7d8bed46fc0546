"""GET /health/: is every part this process depends on working?

JSON, no authentication, so load balancers and the installer can poll it. 200
when every check passes; 503 naming each failing part otherwise. No check
reveals data; each reports only ok / failed and why.
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

CHECK_TIMEOUT = 2.0


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def check_cache() -> str:
    key = f"health:{uuid.uuid4().hex}"
    cache.set(key, "ok", timeout=10)
    value = cache.get(key)
    cache.delete(key)
    if value != "ok":
        raise RuntimeError("the cache did not return what was stored")
    return cache.__class__.__name__


async def _round_trip(layer) -> None:
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
    body = {
        "status": "ok" if not failing else "degraded",
        "version": nexus.__version__,
        "mode": "embedded" if settings.EMBEDDED else "redis",
        "checks": checks,
        "failing": failing,
    }
    return JsonResponse(body, status=200 if not failing else 503)
