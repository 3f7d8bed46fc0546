"""The one WebSocket consumer per browser tab, at /ws/.

Authenticated sessions only (the ASGI stack checks the Origin first). On
connect the socket joins its user's and its organization's groups; services
send events to those groups with `nexus.realtime`, and each event type has a
handler method here (channels maps "hub.fragment" to `hub_fragment`).
Frames from the browser are JSON objects with a "type"; anything else gets an
error frame back and never closes the socket.
"""

import json
import logging

from channels.generic.websocket import AsyncWebsocketConsumer

from nexus.permissions import Action, can
from nexus.realtime import organization_group, user_group

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 64 * 1024
# Close codes in the 4000-4999 range are the application's own.
CLOSE_UNAUTHENTICATED = 4401


class HubConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not can(user, Action.CHAT):
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        self.groups_joined = [user_group(user.pk), organization_group(user.organization_id)]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "user": user.pk, "organization": user.organization_id})

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        if bytes_data is not None:
            await self.send_error("Binary frames are not accepted; send JSON text.")
            return
        if len(text_data.encode()) > MAX_FRAME_BYTES:
            await self.send_error(f"Frame too large: at most {MAX_FRAME_BYTES} bytes.")
            return
        try:
            frame = json.loads(text_data)
        except ValueError:
            await self.send_error("Malformed frame: not JSON.")
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await self.send_error("Malformed frame: expected an object with a string 'type'.")
            return
        handler = getattr(self, "client_" + frame["type"].replace(".", "_"), None)
        if handler is None:
            await self.send_error(f"Unknown frame type {frame['type'][:50]!r}.")
            return
        await handler(frame)

    # Frames from the browser

    async def client_ping(self, frame):
        await self.send_json({"type": "pong", "id": frame.get("id")})

    # Events from services (through the channel layer)

    async def hub_fragment(self, event):
        """An HTML fragment, rendered once per event, that htmx swaps in by id."""
        await self.send(text_data=event["html"])

    async def hub_json(self, event):
        await self.send_json(event["payload"])

    # Helpers

    async def send_json(self, payload: dict):
        await self.send(text_data=json.dumps(payload))

    async def send_error(self, message: str):
        await self.send_json({"type": "error", "error": message})
