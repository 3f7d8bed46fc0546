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

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def organization_group(organization_id: int) -> str:
    return f"org.{organization_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


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


def send_event_now(groups: list[str], event: dict) -> None:
    """Send `event` to each group immediately. Prefer `send_event_on_commit`.

    From a consumer's worker thread the sends are handed to the server's event
    loop without waiting for them: that thread does every socket's database
    work, and a broadcast is best effort (clients catch up from the database).
    Elsewhere they are sent before returning.
    """
    if "type" not in event:
        raise ValueError("An event needs a 'type' naming its handler.")
    json.dumps(event)  # Fail here, loudly, rather than inside the channel layer.
    layer = get_channel_layer()
    if layer is None:
        return
    loop = _socket_event_loop()
    for group in groups:
        if loop is not None:
            future = asyncio.run_coroutine_threadsafe(layer.group_send(group, event), loop)
            future.add_done_callback(functools.partial(_log_failure, event_type=event["type"], group=group))
            continue
        try:
            async_to_sync(layer.group_send)(group, event)
        except Exception:
            # A broadcast is best effort: clients catch up from the database.
            logger.exception("Could not broadcast %s to %s", event["type"], group)


def send_event_on_commit(groups: list[str], event: dict) -> None:
    """Queue `event` for `groups`, sent once the current transaction commits."""
    groups = list(groups)
    transaction.on_commit(lambda: send_event_now(groups, event))


def send_json_on_commit(groups: list[str], payload: dict) -> None:
    """Queue a JSON frame for `groups`, serialized once here rather than once per socket."""
    text = json.dumps(payload)
    send_event_on_commit(groups, {"type": "hub.text", "text": text})


def send_fragment_on_commit(groups: list[str], html: str) -> None:
    """Push an HTML fragment (rendered once) that htmx swaps in with hx-swap-oob."""
    send_event_on_commit(groups, {"type": "hub.fragment", "html": html})
