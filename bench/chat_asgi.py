"""Bench-only ASGI entry point: Nexus's own application plus bare echo sockets.

    daphne bench.chat_asgi:application        (DJANGO_SETTINGS_MODULE=bench.settings by default)

Everything but the echo paths goes to `nexus.asgi.application` untouched, so /ws/ is served exactly
as in production. The echo is the baseline of `bench/chat.py`: it passes through the same server
process, the same origin check and the same session authentication as /ws/ (an anonymous echo socket
is refused), then sends every text frame straight back: no channel layer, no database, no JSON.

- /ws/echo/ is the bare echo. Its `dispatch` calls the handler directly: Channels' own
  `AsyncConsumer.dispatch` first awaits `aclose_old_connections()` for every frame and every event,
  a hop onto asgiref's one thread-sensitive worker thread, which a consumer without a database does
  not need (and which a consumer whose database work all goes through `database_sync_to_async`
  does not need either: that closes old connections itself, in the thread).
- /ws/echo-channels/ is the same echo with Channels' stock `dispatch`, hop included.

NEXUS_BENCH_WHAT_IF=dispatch gives `chat.consumers.HubConsumer` the bare echo's `dispatch`: an
experiment that measures a suggested change to the app without editing it; bench/chat.py says so
loudly when it is on.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

from channels.auth import AuthMiddlewareStack
from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.security.websocket import AllowedHostsOriginValidator

from nexus.asgi import application as nexus_application

ECHO_PATH = "/ws/echo/"
STOCK_ECHO_PATH = "/ws/echo-channels/"


async def dispatch_without_db_hop(self, message):
    """`AsyncConsumer.dispatch` less its per-message `await aclose_old_connections()`."""
    handler = getattr(self, get_handler_name(message), None)
    if handler is None:
        raise ValueError(f"No handler for message type {message['type']}")
    await handler(message)


class StockEchoConsumer(AsyncWebsocketConsumer):
    """The least a Channels consumer can do with a frame: send it back."""

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        await self.accept()

    async def receive(self, text_data=None, bytes_data=None):
        await self.send(text_data=text_data, bytes_data=bytes_data)


class EchoConsumer(StockEchoConsumer):
    dispatch = dispatch_without_db_hop


echo_application = AllowedHostsOriginValidator(AuthMiddlewareStack(EchoConsumer.as_asgi()))
stock_echo_application = AllowedHostsOriginValidator(AuthMiddlewareStack(StockEchoConsumer.as_asgi()))

WHAT_IF = {name for name in os.environ.get("NEXUS_BENCH_WHAT_IF", "").split(",") if name}
if "dispatch" in WHAT_IF:
    from chat.consumers import HubConsumer

    HubConsumer.dispatch = dispatch_without_db_hop


async def application(scope, receive, send):
    if scope["type"] == "websocket":
        if scope.get("path") == ECHO_PATH:
            return await echo_application(scope, receive, send)
        if scope.get("path") == STOCK_ECHO_PATH:
            return await stock_echo_application(scope, receive, send)
    return await nexus_application(scope, receive, send)
