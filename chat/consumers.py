"""The one WebSocket consumer per browser tab, at /ws/.

Authenticated sessions only (the ASGI stack checks the Origin first). On
connect the socket joins its user's and organization's groups and one group
per conversation the user is in; services send events to those groups, and
each event type has a handler method here (channels maps "hub.fragment" to
`hub_fragment`). Frames from the browser are JSON objects with a "type";
anything else, anything too large and anything too fast gets an error frame
back and never closes the socket. Database work goes through
`database_sync_to_async`, into the same services the pages use.
"""

import asyncio
import contextlib
import functools
import json
import logging
import time
import weakref
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

from autobahn.exception import Disconnected
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from chat import presence, selectors, services
from chat.models import Conversation, Message
from nexus.errors import error_text
from nexus.frames import CLOSE_TOO_LARGE, FrameError, FrameTooLarge, dumps, parse_frame
from nexus.notify import unread_count
from nexus.permissions import Action, can
from nexus.realtime import MAX_SUBSCRIPTIONS, organization_group, topic_checker, topic_group, user_group

logger = logging.getLogger(__name__)

TYPING_EVERY_SECONDS = 2.0
PRESENCE_QUERY_LIMIT = 500
# Close codes in the 4000-4999 range are the application's own.
CLOSE_UNAUTHENTICATED = 4401


def _int_field(frame: dict, name: str, *, required: bool = True) -> int | None:
    value = frame.get(name)
    if value is None and not required:
        return None
    # Ids are bigints: a larger number would fail in the database, not here with a reason.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise FrameError(f"'{name}' must be a non-negative integer (an id).")
    return value


class HubConsumer(AsyncWebsocketConsumer):
    async def __call__(self, scope, receive, send):
        """Channels' consumer loop, with one long-lived reader per source instead of a new task per message.

        Channels' `await_many_dispatch` creates a task for the next message of
        each source and an `asyncio.wait` over both for every frame and every
        event; with ten sockets per message that was most of the cost of a
        delivery. Here the browser's frames and the channel layer's events each
        have one task that reads and dispatches in a loop, one dispatch at a
        time per socket as before (a lock, uncontended on the usual path).
        """
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.channel_name = await self.channel_layer.new_channel()
        self.channel_receive = functools.partial(self.channel_layer.receive, self.channel_name)
        self.base_send = send
        one_at_a_time = asyncio.Lock()

        async def pump(source):
            while True:
                message = await source()
                async with one_at_a_time:
                    await self.dispatch(message)

        readers = [asyncio.ensure_future(pump(receive)), asyncio.ensure_future(pump(self.channel_receive))]
        try:
            done, _pending = await asyncio.wait(readers, return_when=asyncio.FIRST_COMPLETED)
            for reader in done:
                reader.result()
        except StopConsumer:
            pass
        finally:
            for reader in readers:
                if not reader.done():
                    reader.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await reader

    async def dispatch(self, message):
        """Channels' dispatch, without its database-connection cleanup before every frame and event.

        That cleanup is a hop to the one thread that does all database work, so
        each delivery of a chat message waited behind other people's sends. All
        database work here goes through `database_sync_to_async`, which cleans
        up around itself.
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not can(user, Action.CHAT):
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        self.tokens, self.refilled = float(settings.WS_FRAME_BURST), time.monotonic()
        self.typing_sent: dict[int, float] = {}
        self.subscriptions: set[str] = set()  # Topic groups of what the page shows (see nexus.realtime).
        # Whether this tab is in the person's count of tabs: not while Redis is down (its first ping
        # after Redis returns counts it in), so that its disconnect never counts out another tab.
        self.counted = False
        # One trip to the database thread for everything a new socket needs: in a storm of reconnects
        # every socket of the process queues for that one thread.
        since = _banners_since(self.scope.get("query_string", b""))
        conversations, banners, came_online = await database_sync_to_async(_arrival)(user, since)
        self.conversations = set(conversations)
        self.groups_joined = [user_group(user.pk), organization_group(user.organization_id)]
        self.groups_joined += [services.conversation_group(pk) for pk in self.conversations]
        await self._join_groups(self.groups_joined)
        await self.accept()
        await self.send_json({"type": "hello", "user": user.pk, "organization": user.organization_id})
        for html in banners:
            await self.send(text_data=html)
        await self._counted_in(came_online)

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", []):
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception:  # The layer's server is gone; so is the subscription.
                logger.warning("Could not leave %s", group, exc_info=True)
        if getattr(self, "counted", False):
            try:
                went_away = await database_sync_to_async(presence.disconnected)(self.user.pk)
            except presence.CacheUnavailable:
                went_away = False  # Nobody can know; the "seen" mark runs out on its own.
            if went_away:
                await self._broadcast_presence()

    async def receive(self, text_data=None, bytes_data=None):
        if not self._take_token():
            await self.send_error("Too many frames: slow down.")
            return
        try:
            frame = parse_frame(text_data, bytes_data, max_bytes=settings.WS_MAX_FRAME_BYTES)
        except FrameTooLarge:
            # Daphne closes the socket for a frame over the limit before reading it; smaller ones that
            # still exceed it (another server, a test) get the same answer here.
            await self.close(code=CLOSE_TOO_LARGE)
            return
        except FrameError as error:
            await self.send_error(str(error))
            return
        handler = getattr(self, "client_" + frame["type"].replace(".", "_"), None)
        if handler is None:
            await self.send_error(f"Unknown frame type {frame['type'][:50]!r}.")
            return
        try:
            await handler(frame)
        except FrameError as error:
            await self.send_error(str(error), frame)
        except ValidationError as error:
            await self.send_error(error_text(error), frame)
        except (PermissionDenied, Http404) as error:
            await self.send_error(str(error) or "Not allowed.", frame)
        except Exception:
            logger.exception("Frame %s failed", frame.get("type"))
            await self.send_error("Something went wrong on the server; try again.", frame)

    def _take_token(self) -> bool:
        """A token bucket per socket: bursts are fine, a flood is not."""
        now = time.monotonic()
        self.tokens = min(float(settings.WS_FRAME_BURST), self.tokens + (now - self.refilled) * settings.WS_FRAME_RATE)
        self.refilled = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    def _conversation_id(self, frame: dict) -> int:
        conversation_id = _int_field(frame, "conversation")
        if conversation_id not in self.conversations:
            raise FrameError("No such conversation, or you are not in it.")
        return conversation_id

    # Frames from the browser

    async def client_ping(self, frame):
        await self._count_in(presence.heartbeat if self.counted else presence.connected)
        await self.send_json({"type": "pong", "id": frame.get("id")})

    async def client_subscribe(self, frame):
        """{"type": "subscribe", "topic": name, "id": pk}: follow one object the page shows (an activity's
        timeline). Answered with "subscribed"; an unknown topic, or an object the user may not follow (of another
        organization, or none at all: the same answer), gets an error frame."""
        topic, pk = self._topic_of(frame)
        group = topic_group(topic, pk)
        if group not in self.subscriptions:
            if len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
                raise FrameError(f"At most {MAX_SUBSCRIPTIONS} subscriptions per socket; unsubscribe first.")
            if not await database_sync_to_async(topic_checker(topic))(self.user, pk):
                raise FrameError(f"No such {topic}, or you may not follow it.")
            self.subscriptions.add(group)
            self.groups_joined.append(group)
            await self.channel_layer.group_add(group, self.channel_name)
        await self.send_json({"type": "subscribed", "topic": topic, "id": pk})

    async def client_unsubscribe(self, frame):
        """{"type": "unsubscribe", "topic": name, "id": pk}: the page no longer shows it."""
        topic, pk = self._topic_of(frame)
        group = topic_group(topic, pk)
        if group in self.subscriptions:
            self.subscriptions.discard(group)
            self.groups_joined.remove(group)
            await self.channel_layer.group_discard(group, self.channel_name)
        await self.send_json({"type": "unsubscribed", "topic": topic, "id": pk})

    def _topic_of(self, frame: dict) -> tuple[str, int]:
        topic = frame.get("topic")
        if not isinstance(topic, str) or topic_checker(topic) is None:
            raise FrameError(f"Unknown topic {str(topic)[:50]!r}.")
        return topic, _int_field(frame, "id")

    async def client_presence_query(self, frame):
        """{"type": "presence.query", "users": [ids]}: a "presence" frame for those of the organization's people.

        Pages whose presence is unknown (Redis was down) ask with each ping until they know.
        """
        users = frame.get("users")
        if not isinstance(users, list) or len(users) > PRESENCE_QUERY_LIMIT:
            raise FrameError(f"'users' must be a list of at most {PRESENCE_QUERY_LIMIT} ids.")
        if any(isinstance(pk, bool) or not isinstance(pk, int) for pk in users):
            raise FrameError("'users' must be a list of ids.")
        await self.send_json(await database_sync_to_async(_presence_of)(self.user, users))

    async def client_chat_send(self, frame):
        """{"type": "chat.send", "conversation": id, "content": text, "parent": id?, "client_id": any?}"""
        conversation_id = self._conversation_id(frame)
        parent_id = _int_field(frame, "parent", required=False)
        content = frame.get("content")
        if not isinstance(content, str):
            raise FrameError("'content' must be text.")
        result = await _batcher().send(self.user, conversation_id, content, parent_id)
        if isinstance(result, Exception):
            raise result
        await self.send_json({"type": "chat.sent", "id": result, "client_id": frame.get("client_id")})

    async def client_chat_typing(self, frame):
        """{"type": "chat.typing", "conversation": id}: at most one broadcast per conversation every 2 s."""
        conversation_id = self._conversation_id(frame)
        now = time.monotonic()
        if now - self.typing_sent.get(conversation_id, 0) < TYPING_EVERY_SECONDS:
            return
        self.typing_sent[conversation_id] = now
        await self.channel_layer.group_send(
            services.conversation_group(conversation_id),
            {
                "type": "chat.typing",
                "text": json.dumps(
                    {
                        "type": "chat.typing",
                        "conversation": conversation_id,
                        "user": self.user.pk,
                        "name": self.user.display_name,
                    }
                ),
                "user": self.user.pk,
            },
        )

    async def client_chat_read(self, frame):
        """{"type": "chat.read", "conversation": id, "up_to": message id?}"""
        conversation_id = self._conversation_id(frame)
        up_to = _int_field(frame, "up_to", required=False)
        await database_sync_to_async(_mark_read)(self.user, conversation_id, up_to)

    async def client_chat_counts(self, frame):
        """{"type": "chat.counts"}: every unread count (pages other than a conversation ask for these)."""
        await self.send(text_data=await database_sync_to_async(_counts_frame)(self.user))

    async def client_chat_sync(self, frame):
        """{"type": "chat.sync", "after": message id, "conversation": id?}: everything missed since, then the counts.

        Messages arrive as the same "chat.message" frames live delivery sends
        (the page drops any it already shows), oldest first, then a
        "chat.counts" frame with every unread count and the notification count.
        """
        after = _int_field(frame, "after")
        # A page showing one conversation asks for that one; the counts cover the rest.
        wanted = [self._conversation_id(frame)] if frame.get("conversation") is not None else sorted(self.conversations)
        frames = await database_sync_to_async(_catch_up)(self.user, after, wanted)
        for text in frames:
            await self.send(text_data=text)

    # Events from services (through the channel layer)

    async def hub_fragment(self, event):
        """An HTML fragment, rendered once per event, that htmx swaps in by id."""
        await self.send(text_data=event["html"])

    async def hub_json(self, event):
        await self.send_json(event["payload"])

    async def hub_text(self, event):
        """A JSON frame serialized once by the sender for every socket."""
        await self.send(text_data=event["text"])

    async def chat_typing(self, event):
        if event["user"] != self.user.pk:
            await self.send(text_data=event["text"])

    async def chat_presence(self, event):
        """Presence of the people whose state changed (see chat.presence); "user" when it is one person."""
        if event.get("user") != self.user.pk:
            await self.send(text_data=event["text"])

    async def chat_membership(self, event):
        """The user joined or left a conversation: follow (or stop following) its group."""
        conversation_id, group = event["conversation"], services.conversation_group(event["conversation"])
        if event["joined"] and conversation_id not in self.conversations:
            self.conversations.add(conversation_id)
            self.groups_joined.append(group)
            await self.channel_layer.group_add(group, self.channel_name)
        elif not event["joined"] and conversation_id in self.conversations:
            self.conversations.discard(conversation_id)
            self.groups_joined.remove(group)
            await self.channel_layer.group_discard(group, self.channel_name)
        await self.send(text_data=event["text"])

    # Helpers

    async def _broadcast_presence(self):
        """Tell the organization this person came or went: coalesced with other changes (see chat.presence)."""
        presence.announce(organization_id=self.user.organization_id, user_id=self.user.pk)

    async def _join_groups(self, groups: list[str]) -> None:
        """Join the groups; a layer that fails leaves a socket that still sends and reads through the database."""
        try:
            for group in groups:
                await self.channel_layer.group_add(group, self.channel_name)
        except Exception:
            logger.warning("Could not join the socket's groups; it works without live events", exc_info=True)

    async def _count_in(self, count) -> None:
        """Run presence.connected or presence.heartbeat for this tab and announce a change it makes."""
        await self._counted_in(await database_sync_to_async(_presence_change)(count, self.user.pk))

    async def _counted_in(self, changed: bool | None) -> None:
        """After presence.connected or presence.heartbeat: announce a change (True); None means Redis was
        unreachable, so the tab hears that presence is unknown and counts in at a later ping."""
        if changed is None:
            self.counted = False
            await self.send_json({"type": "presence", "unknown": True})
            return
        self.counted = True
        if changed:
            await self._broadcast_presence()

    async def send(self, text_data=None, bytes_data=None, close=False):
        """Send a frame; one to a browser that has just gone is dropped (its disconnect is on its way)."""
        with contextlib.suppress(Disconnected):
            await super().send(text_data=text_data, bytes_data=bytes_data, close=close)

    async def send_json(self, payload: dict):
        await self.send(text_data=dumps(payload))

    async def send_error(self, message: str, frame: dict | None = None):
        payload = {"type": "error", "error": message}
        if frame is not None and "client_id" in frame:
            payload["client_id"] = frame["client_id"]
        await self.send_json(payload)


# Database work, run in a thread by database_sync_to_async.


def _presence_change(count, user_id: int) -> bool | None:
    """`count(user_id)` (presence.connected or presence.heartbeat), or None while Redis is unreachable."""
    try:
        return count(user_id)
    except presence.CacheUnavailable:
        return None


def _arrival(user, banners_since: datetime | None = None) -> tuple[list[int], list[str], bool | None]:
    """A new socket's conversations, banners, and whether it brought its person online (see _presence_change)."""
    return (
        list(selectors.conversation_ids_of(user_id=user.pk)),
        _banners(user, since=banners_since),
        _presence_change(presence.connected, user.pk),
    )


def _presence_of(user, user_ids: list[int]) -> dict:
    """The "presence" frame of those of `user_ids` who are in the person's organization."""
    people = User.objects.filter(organization_id=user.organization_id, pk__in=set(user_ids))
    return presence.frame(people.values_list("pk", flat=True))


class _SendBatcher:
    """Sends from every socket of this process, committed together when they arrive together.

    Each send waits its turn anyway (database work runs on one thread); those
    that queued up while a batch was being written go in the next one, in one
    transaction. At low load a batch is one message and nothing waits longer.
    """

    MAX_BATCH = 50

    def __init__(self):
        self.queue: asyncio.Queue = asyncio.Queue()
        self.task: asyncio.Task | None = None

    async def send(self, user, conversation_id: int, content: str, parent_id: int | None):
        """The new message's id, or the exception that refused it."""
        future = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((user, conversation_id, content, parent_id, future))
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._drain())
        return await future

    async def _drain(self):
        while not self.queue.empty():
            batch = [self.queue.get_nowait() for _ in range(min(self.MAX_BATCH, self.queue.qsize()))]
            try:
                results = await database_sync_to_async(_send_batch)([item[:4] for item in batch])
            except Exception as error:  # The whole batch failed to write: each sender hears of it.
                logger.exception("A batch of %d messages failed", len(batch))
                results = [error] * len(batch)
            for item, result in zip(batch, results, strict=True):
                if not item[4].done():
                    item[4].set_result(result)


_batchers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _SendBatcher]" = weakref.WeakKeyDictionary()


def _batcher() -> _SendBatcher:
    loop = asyncio.get_running_loop()
    if loop not in _batchers:
        _batchers[loop] = _SendBatcher()
    return _batchers[loop]


def _send_batch(items: list[tuple]) -> list:
    """Save what several sockets sent: each item's message id or the error that refused it.

    Conversations and parents come in one query each; the service checks
    every sender's membership (one query) and writes every message in one
    transaction.
    """
    conversations = Conversation.objects.in_bulk({conversation_id for _user, conversation_id, *_rest in items})
    parent_ids = {parent for *_rest, parent in items if parent is not None}
    parents = Message.objects.select_related("parent").in_bulk(parent_ids) if parent_ids else {}
    results: list = [None] * len(items)
    posts, places = [], []
    for index, (user, conversation_id, content, parent_id) in enumerate(items):
        if conversation_id not in conversations:
            results[index] = FrameError("No such conversation, or you are not in it.")
            continue
        if parent_id is not None and parent_id not in parents:
            results[index] = FrameError("No such message to reply to.")
            continue
        posts.append(services.Post(user, conversations[conversation_id], content, parents.get(parent_id)))
        places.append(index)
    for index, result in zip(places, services.send_messages(posts=posts), strict=True):
        results[index] = result.pk if isinstance(result, Message) else result
    return results


def _mark_read(user, conversation_id: int, up_to: int | None) -> None:
    conversation = selectors.get_conversation_or_404(user=user, pk=conversation_id)
    services.mark_read(user=user, conversation=conversation, up_to=up_to)


def _catch_up(user, after: int, conversation_ids: list[int]) -> list[str]:
    missed = selectors.messages_after(user=user, after=after, conversation_ids=conversation_ids)
    tzinfo = user.organization.tzinfo
    frames = [json.dumps({**services.message_payload(message, tzinfo=tzinfo), "catch_up": True}) for message in missed]
    frames.append(
        _counts_frame(user, last=missed[-1].pk if missed else after, complete=len(missed) < selectors.CATCH_UP_LIMIT)
    )
    return frames


def _counts_frame(user, **extra) -> str:
    """Every unread count of the person, the muted conversations and the bell's count: the truth after a gap."""
    counts = selectors.unread_counts_for(user_id=user.pk)
    return json.dumps(
        {
            "type": "chat.counts",
            "counts": {str(pk): unread for pk, (unread, _muted) in counts.items()},
            "muted": [pk for pk, (_unread, muted) in counts.items() if muted],
            "total": selectors.total_of(counts),
            "notifications": unread_count(user.pk),
            **extra,
        }
    )


# A page renders its banners and names that moment (`?banners_since=<unix seconds>`, whole seconds) to its first
# socket, which then sends only banners created after it, less this margin; one sent twice is dropped by the page.
BANNERS_SINCE_MARGIN = timedelta(seconds=2)


def _banners_since(query_string: bytes) -> datetime | None:
    """The moment of `?banners_since=`, or None (every banner is sent) when it is absent or not a sane time."""
    values = parse_qs(query_string.decode("latin-1")).get("banners_since", [])
    if len(values) != 1 or not values[0].isdigit() or len(values[0]) > 11:
        return None
    return datetime.fromtimestamp(int(values[0]), tz=UTC) - BANNERS_SINCE_MARGIN


def _banners(user, since: datetime | None = None) -> list[str]:
    """The person's current banners (created after `since`, if given) as out-of-band fragments (the page drops any
    it shows already)."""
    banners = selectors.system_messages_for(user=user)
    if since is not None:
        banners = banners.filter(created_at__gt=since)
    with timezone.override(user.organization.tzinfo):
        return [services.system_message_fragment(item) for item in banners[:20]]
