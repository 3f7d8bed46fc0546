"""State changes of chat: conversations, memberships, messages, reactions, reads and system messages.

Each function is one action: it checks permission, validates, saves and queues
live events and notifications for after the commit. The consumer, the pages,
the API, commands and higher apps (machine channels, incident messages) call
these; nothing else saves chat models.

Live events: a message event is rendered and serialized once and sent to the
conversation's group, which every member's sockets join; per-person events
(unread counts, banners, a new conversation) go to that person's group.
"""

import json
import mimetypes
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Lower
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import Organization, User, UserProfile
from chat import selectors
from chat.models import (
    MAX_MESSAGE_LENGTH,
    Conversation,
    Membership,
    Message,
    Reaction,
    SystemMessage,
    SystemMessageDismissal,
)
from nexus import degraded, markdown
from nexus.cache import REDIS_ERRORS
from nexus.images import open_image, thumbnail
from nexus.notify import notify
from nexus.permissions import Action, Role, require
from nexus.realtime import (
    organization_group,
    send_event_on_commit,
    send_events_on_commit,
    send_json_on_commit,
    text_event,
    user_group,
)
from nexus.reversing import url_for
from nexus.text import clean_text

Kind = Conversation.Kind
MAX_NAME_LENGTH = 80
MAX_GROUP_MEMBERS = 500
REACTION_MAX_LENGTH = 16
THUMBNAIL_SIZE = 480


def conversation_group(conversation_id: int) -> str:
    return f"chat.{conversation_id}"


# Who may do what


def may_moderate(user: User, conversation: Conversation) -> bool:
    """Administrators moderate every conversation of their organization."""
    return user.organization_id == conversation.organization_id and user.role == Role.ADMIN


def _require_chat(user: User) -> None:
    require(user, Action.CHAT)


def _membership(user: User, conversation: Conversation, known: dict | None = None) -> Membership:
    """The user's membership, or PermissionDenied (callers found the conversation through a selector).

    `known` holds memberships a batch of sends loaded together, by (user id, conversation id).
    """
    if conversation.organization_id != user.organization_id:
        raise PermissionDenied("That conversation is not of your organization.")
    if known is not None:
        membership = known.get((user.pk, conversation.pk))
    else:
        membership = Membership.objects.filter(conversation=conversation, user=user).first()
    if membership is None:
        raise PermissionDenied("Join the conversation first.")
    return membership


def _memberships_of(posts: list["Post"]) -> dict[tuple[int, int], Membership]:
    """The senders' memberships in their conversations, by (user id, conversation id), in one query."""
    pairs = {(post.sender.pk, post.conversation.pk) for post in posts}
    found = Membership.objects.filter(
        user_id__in={user_id for user_id, _ in pairs}, conversation_id__in={pk for _, pk in pairs}
    )
    return {
        key: membership for membership in found if (key := (membership.user_id, membership.conversation_id)) in pairs
    }


def _clean_name(name: str, what: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": f"Give the {what} a name."})
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError({"name": f"The name is too long: at most {MAX_NAME_LENGTH} characters."})
    return name


def _check_people(organization_id: int, people: Iterable[User]) -> list[User]:
    people = list({person.pk: person for person in people}.values())
    for person in people:
        if person.organization_id != organization_id:
            raise ValidationError({"members": "Everyone in a conversation must be of your organization."})
        if not person.is_active:
            raise ValidationError({"members": f"{person.display_name} is deactivated."})
    return people


# Conversations


def _membership_event(user_id: int, conversation: Conversation, *, joined: bool) -> None:
    """Tell the person's sockets to join (or leave) the conversation's group, and their page to list it."""
    frame = {"type": "chat.joined" if joined else "chat.left", "conversation": conversation.pk}
    if joined:
        frame["name"] = selectors.title_for(conversation, user_id)
    send_event_on_commit(
        [user_group(user_id)],
        {"type": "chat.membership", "conversation": conversation.pk, "joined": joined, "text": json.dumps(frame)},
    )


def _announce_conversation(conversation: Conversation, user_ids: Iterable[int]) -> None:
    for user_id in user_ids:
        _membership_event(user_id, conversation, joined=True)


def _add_memberships(conversation: Conversation, people: Iterable[User], role=Membership.Role.MEMBER) -> list[int]:
    existing = set(Membership.objects.filter(conversation=conversation).values_list("user_id", flat=True))
    # Members start with everything before they joined read: history is there to scroll, not to owe.
    last_id = conversation.messages.order_by("-id").values_list("id", flat=True).first()
    unique = {person.pk: person for person in people if person.pk not in existing}  # A note to oneself is one member.
    added = [
        Membership(conversation=conversation, user=person, role=role, last_read_message_id=last_id)
        for person in unique.values()
    ]
    Membership.objects.bulk_create(added)
    user_ids = [membership.user_id for membership in added]
    _announce_conversation(conversation, user_ids)
    return user_ids


@transaction.atomic
def get_or_create_direct(*, user: User, other: User) -> Conversation:
    """The one direct conversation between two people (a note to oneself when `other` is `user`)."""
    _require_chat(user)
    (other,) = _check_people(user.organization_id, [other])
    low, high = sorted([user.pk, other.pk])
    key = f"dm:{low}:{high}"
    conversation = Conversation.objects.filter(organization_id=user.organization_id, key=key).first()
    if conversation is not None:
        return conversation
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(
                organization_id=user.organization_id, kind=Kind.DIRECT, key=key, created_by=user
            )
    except IntegrityError:  # Both people opened it at the same moment.
        return Conversation.objects.get(organization_id=user.organization_id, key=key)
    _add_memberships(conversation, [user, other])
    return conversation


@transaction.atomic
def create_group(*, actor: User, name: str, members: Iterable[User]) -> Conversation:
    _require_chat(actor)
    name = _clean_name(name, "group")
    people = _check_people(actor.organization_id, members)
    if len(people) > MAX_GROUP_MEMBERS:
        raise ValidationError({"members": f"A group has at most {MAX_GROUP_MEMBERS} members; make a channel."})
    conversation = Conversation.objects.create(
        organization_id=actor.organization_id, kind=Kind.GROUP, name=name, created_by=actor
    )
    _add_memberships(conversation, [actor], role=Membership.Role.OWNER)
    _add_memberships(conversation, [person for person in people if person.pk != actor.pk])
    return conversation


def _create_channel(organization_id: int, *, name: str, topic: str, key: str, actor: User | None):
    name = _clean_name(name, "channel")
    if len(topic) > 250:
        raise ValidationError({"topic": "The topic is too long: at most 250 characters."})
    if Conversation.objects.filter(organization_id=organization_id, kind=Kind.CHANNEL, name__iexact=name).exists():
        raise ValidationError({"name": f"There is already a channel named {name!r}."})
    try:
        with transaction.atomic():
            return Conversation.objects.create(
                organization_id=organization_id, kind=Kind.CHANNEL, name=name, topic=topic, key=key, created_by=actor
            )
    except IntegrityError:
        raise ValidationError({"name": f"There is already a channel named {name!r}."}) from None


@transaction.atomic
def create_channel(*, actor: User, name: str, topic: str = "") -> Conversation:
    """A public channel of the organization; its creator is its first member and owner."""
    _require_chat(actor)
    conversation = _create_channel(actor.organization_id, name=name, topic=topic.strip(), key="", actor=actor)
    _add_memberships(conversation, [actor], role=Membership.Role.OWNER)
    send_json_on_commit(
        [organization_group(actor.organization_id)], {"type": "chat.channel", "conversation": conversation.pk}
    )
    return conversation


@transaction.atomic
def get_or_create_channel(
    *, organization: Organization, key: str, name: str, topic: str = "", members: Iterable[User] = ()
) -> Conversation:
    """The channel known by `key` (e.g. "machine:42"), opened by the system on first use.

    For higher apps that speak into a channel of their own. `members` are added
    when missing (already-members are left as they are); a taken name gets a
    numbered suffix rather than failing, because the key, not the name, is the identity.
    """
    if not key or len(key) > 100:
        raise ValidationError("A channel key is 1 to 100 characters.")
    conversation = Conversation.objects.filter(organization=organization, key=key).first()
    if conversation is None:
        base, attempt = _clean_name(name, "channel"), 1
        while conversation is None:
            candidate = base if attempt == 1 else f"{base[: MAX_NAME_LENGTH - 6]} ({attempt})"
            try:
                with transaction.atomic():
                    conversation = _create_channel(organization.pk, name=candidate, topic=topic, key=key, actor=None)
            except ValidationError:
                existing = Conversation.objects.filter(organization=organization, key=key).first()
                if existing is not None:  # Someone else opened it meanwhile.
                    conversation = existing
                attempt += 1
                if attempt > 50:
                    raise
    people = _check_people(organization.pk, [person for person in members if person.is_active])
    if people:
        _add_memberships(conversation, people)
    return conversation


@transaction.atomic
def join_channel(*, user: User, conversation: Conversation) -> Membership:
    _require_chat(user)
    if conversation.organization_id != user.organization_id or not conversation.is_channel:
        raise PermissionDenied("Only channels of your organization can be joined.")
    if conversation.is_archived:
        raise ValidationError("The channel is archived.")
    _add_memberships(conversation, [user])
    return Membership.objects.get(conversation=conversation, user=user)


@transaction.atomic
def add_members(*, actor: User, conversation: Conversation, people: Iterable[User]) -> list[int]:
    """Members add people to groups and channels; direct conversations stay two people."""
    _membership(actor, conversation)
    if conversation.is_direct:
        raise ValidationError("A direct conversation has exactly two people; start a group instead.")
    people = _check_people(conversation.organization_id, people)
    if conversation.kind == Kind.GROUP and conversation.memberships.count() + len(people) > MAX_GROUP_MEMBERS:
        raise ValidationError({"members": f"A group has at most {MAX_GROUP_MEMBERS} members; make a channel."})
    return _add_memberships(conversation, people)


@transaction.atomic
def leave_conversation(*, user: User, conversation: Conversation) -> None:
    membership = _membership(user, conversation)
    if conversation.is_direct:
        raise ValidationError("You cannot leave a direct conversation; mute it instead.")
    membership.delete()
    _membership_event(user.pk, conversation, joined=False)


@transaction.atomic
def set_muted(*, user: User, conversation: Conversation, muted: bool) -> Membership:
    membership = _membership(user, conversation)
    membership.muted = bool(muted)
    membership.save(update_fields=["muted"])
    _push_unread(user.pk, conversation.pk)
    return membership


@transaction.atomic
def set_chat_notifications(*, user: User, level: str) -> UserProfile:
    if level not in UserProfile.ChatNotifications.values:
        raise ValidationError({"chat_notifications": "Choose all or mentions."})
    profile, _ = UserProfile.objects.get_or_create(user=user)
    profile.chat_notifications = level
    profile.save(update_fields=["chat_notifications", "updated_at"])
    return profile


# Messages


def _take_sends(wanted: dict[int, int]) -> dict[int, int]:
    """Count sends against each person's limit; returns how many of the wanted ones each may make.

    At most CHAT_RATE_LIMIT messages per CHAT_RATE_WINDOW seconds per person,
    across tabs, processes and the API. With Redis the whole batch is counted in
    one round trip. While Redis is unreachable the count is kept per process
    (the cache's stand-in, see nexus.cache), so a message is still stored and a
    flood is still refused, at worst once per process; nexus.degraded logs it
    and /health/ shows it.
    """
    window = settings.CHAT_RATE_WINDOW
    slot = int(timezone.now().timestamp()) // window
    keys = {user_id: f"chat-rate:{user_id}:{slot}" for user_id in wanted}
    raw_client = getattr(cache, "raw_client", None)  # Only the Redis cache has one.
    redis = raw_client() if raw_client is not None else None
    totals: dict[int, int] = {}
    if redis is not None:
        pipeline = redis.pipeline(transaction=False)
        for user_id, count in wanted.items():
            key = cache.make_and_validate_key(keys[user_id])
            pipeline.incrby(key, count)
            pipeline.expire(key, window * 2)
        try:
            replies = pipeline.execute()
        except REDIS_ERRORS as error:
            cache.failed(error)
            degraded.failed("chat_rate_limit", error, fallback="counted per process")
            redis = None
        else:
            degraded.recovered("chat_rate_limit")
            totals = {user_id: int(replies[2 * index]) for index, user_id in enumerate(wanted)}
    if redis is None:
        for user_id, count in wanted.items():
            cache.add(keys[user_id], 0, window * 2)
            try:
                totals[user_id] = cache.incr(keys[user_id], count)
            except ValueError:  # Expired between add and incr.
                cache.set(keys[user_id], count, window * 2)
                totals[user_id] = count
    limit = settings.CHAT_RATE_LIMIT
    return {user_id: max(0, min(count, limit - (totals[user_id] - count))) for user_id, count in wanted.items()}


def _rate_limited() -> ValidationError:
    return ValidationError(
        f"You are sending too fast: at most {settings.CHAT_RATE_LIMIT} messages "
        f"in {settings.CHAT_RATE_WINDOW} seconds.",
        code="rate_limited",
    )


def _clean_content(content: str, *, required: bool) -> str:
    # A null character would fail the whole batch of sends on PostgreSQL; clean_text refuses it alone.
    content = clean_text(content, "content")
    if len(content) > MAX_MESSAGE_LENGTH:
        raise ValidationError({"content": f"The message is too long: at most {MAX_MESSAGE_LENGTH:,} characters."})
    if required and not content:
        raise ValidationError({"content": "Write something first."})
    return content


def _render(organization_id: int, content: str) -> tuple[str, list[int]]:
    """(HTML, ids of the people mentioned) for message text; only active people of the organization count."""
    names = markdown.mentioned_usernames(content)
    people = {}
    if names:
        found = (
            User.objects.filter(organization_id=organization_id, is_active=True)
            .annotate(lower_username=Lower("username"))
            .filter(lower_username__in=list(names))
            .values_list("pk", "username", "first_name", "last_name")
        )
        for pk, username, first, last in found:
            people[username.lower()] = (pk, User.name_from(first, last, username))
    return markdown.render(content, people), [pk for pk, _ in people.values()]


def _attach(message: Message, upload) -> None:
    """Validate an upload and put it (and an image's thumbnail) on the unsaved message."""
    limit = settings.CHAT_MAX_UPLOAD_BYTES
    if upload.size > limit:
        raise ValidationError({"file": f"The file is too large: at most {limit // (1024 * 1024)} MB."})
    if upload.size == 0:
        raise ValidationError({"file": "The file is empty."})
    name = (upload.name or "file").replace("\\", "/").rsplit("/", 1)[-1][:200] or "file"
    guessed = mimetypes.guess_type(name)[0] or "application/octet-stream"
    message.attachment_name = name
    message.attachment_size = upload.size
    if guessed.startswith("image/") and guessed != "image/svg+xml":
        image = open_image(upload, max_bytes=limit, max_pixels=settings.CHAT_MAX_IMAGE_PIXELS)
        message.type = Message.Type.IMAGE
        message.attachment_type = guessed
        message.thumbnail = thumbnail(image, size=THUMBNAIL_SIZE)
    else:
        message.type = Message.Type.FILE
        # Served as a download whatever it claims to be; the type is only a label.
        message.attachment_type = guessed
    upload.seek(0)
    message.attachment.save(name, upload, save=False)


def _listeners(conversations: Iterable[Conversation]) -> dict[int, list[int]]:
    """Who gets a bell for every new message, per conversation: unmuted members of direct conversations,
    and elsewhere unmuted members who chose "all". One query for a whole batch; usually it finds nobody."""
    conversations = {conversation.pk: conversation for conversation in conversations}
    direct = [pk for pk, conversation in conversations.items() if conversation.is_direct]
    rows = (
        Membership.objects.filter(conversation_id__in=list(conversations), muted=False)
        .filter(Q(conversation_id__in=direct) | Q(user__profile__chat_notifications=UserProfile.ChatNotifications.ALL))
        .values_list("conversation_id", "user_id")
    )
    listeners: dict[int, list[int]] = {}
    for conversation_id, user_id in rows:
        listeners.setdefault(conversation_id, []).append(user_id)
    return listeners


def _notify_recipients(posted: list[tuple[Message, list[int]]], *, new: bool = True) -> None:
    """Bell notifications for (message, ids it mentions) pairs: @mentions always; for `new` messages also
    the listeners (see `_listeners`). The usual batch that notifies nobody costs one query."""
    listeners = _listeners(message.conversation for message, _ in posted) if new else {}
    for message, mentioned in posted:
        _notify_one(message, mentioned, listeners.get(message.conversation_id, []))


def _notify_one(message: Message, mentioned: list[int], listeners: list[int]) -> None:
    conversation = message.conversation
    mention_ids = [pk for pk in mentioned if pk != message.sender_id]
    listener_ids = [pk for pk in listeners if pk != message.sender_id and pk not in mention_ids]
    if mention_ids:
        # Only people who can read the conversation: its members.
        members = set(
            Membership.objects.filter(conversation=conversation, user_id__in=mention_ids).values_list(
                "user_id", flat=True
            )
        )
        mention_ids = [pk for pk in mention_ids if pk in members]
    if not mention_ids and not listener_ids:
        return
    people = User.objects.in_bulk(mention_ids + listener_ids)
    excerpt = (message.content or message.attachment_name)[:140]
    sender = message.sender.display_name if message.sender else "Nexus"
    where = "a direct message" if conversation.is_direct else selectors.title_for(conversation, None)
    if mention_ids:
        notify(
            recipients=[people[pk] for pk in mention_ids if pk in people],
            verb="mentioned you",
            actor=message.sender,
            target=message,
            description=f"{sender} mentioned you in {where}: {excerpt}",
        )
    if listener_ids:
        notify(
            recipients=[people[pk] for pk in listener_ids if pk in people],
            verb="sent a message",
            actor=message.sender,
            target=message,
            description=f"{sender} in {where}: {excerpt}",
        )


def _tzinfo_of(message: Message):
    """The organization's time zone, from the sender's loaded organization when there is one (no query)."""
    sender = message.sender if message.sender_id else None
    if sender is not None and "organization" in sender._state.fields_cache:
        return sender.organization.tzinfo
    return Organization.objects.only("time_zone").get(pk=message.organization_id).tzinfo


def message_payload(message: Message, event: str = "chat.message", *, tzinfo=None) -> dict:
    """The frame that shows a message (and, for a reply, its parent's new "N replies" line).

    Rendered for no one in particular: the page marks the viewer's own messages.
    Times are in `tzinfo`, the organization's zone when not given.
    """
    payload = {
        "type": event,
        "conversation": message.conversation_id,
        "id": message.pk,
        "parent": message.parent_id,
        "sender": message.sender_id,
    }
    with timezone.override(tzinfo or _tzinfo_of(message)):
        payload["html"] = render_to_string("chat/_message.html", {"message": message})
        if message.parent_id and event == "chat.message":
            payload["parent_summary"] = render_to_string(
                "chat/_thread_summary.html",
                {"message": message.parent, "thread_url": url_for("chat:thread", message.parent_id)},
            )
    return payload


def _broadcast_message(message: Message, event: str = "chat.message") -> None:
    """Render the message once for every member's sockets."""
    send_json_on_commit([conversation_group(message.conversation_id)], message_payload(message, event))


def _check_open(conversation: Conversation) -> None:
    if conversation.is_archived:
        raise ValidationError("The conversation is archived; nothing more can be posted.")


@dataclass
class Post:
    """One message someone wants to send (`send_messages` takes several)."""

    sender: User
    conversation: Conversation
    content: str = ""
    parent: Message | None = None
    upload: Any = None


def _prepare(post: Post, memberships: dict) -> tuple[Message, list[int]]:
    """The unsaved message and the ids it mentions, or the reason it may not be sent."""
    sender, conversation = post.sender, post.conversation
    _require_chat(sender)
    _membership(sender, conversation, memberships)
    _check_open(conversation)
    content = _clean_content(post.content, required=post.upload is None)
    parent = _check_parent(conversation, post.parent)
    html, mentioned = _render(conversation.organization_id, content)
    message = Message(
        organization_id=conversation.organization_id,
        conversation=conversation,
        sender=sender,
        content=content,
        content_html=html,
        parent=parent,
    )
    if post.upload is not None:
        _attach(message, post.upload)
    return message, mentioned


@transaction.atomic
def send_messages(*, posts: list[Post]) -> list[Message | ValidationError | PermissionDenied]:
    """Post several messages in one transaction; each is checked on its own and refused on its own.

    Returns, in order, each saved message or the error that refused it. The
    socket sends what waits in one batch, so a busy server commits once for
    many messages instead of once each; every message still gets its own
    broadcast and notifications after the commit.
    """
    memberships = _memberships_of(posts)
    results: list[Message | ValidationError | PermissionDenied] = []
    checked: list[tuple[int, Message, list[int]]] = []
    for index, post in enumerate(posts):
        try:
            message, mentioned = _prepare(post, memberships)
        except (ValidationError, PermissionDenied) as error:
            results.append(error)
            continue
        results.append(message)
        checked.append((index, message, mentioned))
    # The send limit counts only messages that passed every other check.
    allowed = _take_sends(Counter(message.sender_id for _, message, _ in checked)) if checked else {}
    ready: list[tuple[Message, list[int]]] = []
    for index, message, mentioned in checked:
        if allowed[message.sender_id] <= 0:
            results[index] = _rate_limited()
            continue
        allowed[message.sender_id] -= 1
        ready.append((message, mentioned))
    if ready:
        Message.objects.bulk_create([message for message, _ in ready])
        for message, mentioned in ready:
            if mentioned:
                message.mentions.set(mentioned)
        _after_posts([message for message, _ in ready])
        _notify_recipients(ready)
    return results


@transaction.atomic
def send_message(
    *, sender: User, conversation: Conversation, content: str = "", parent: Message | None = None, upload=None
) -> Message:
    """Post a message (text, and optionally one file or image) as `sender`, a member of the conversation."""
    (result,) = send_messages(posts=[Post(sender, conversation, content, parent, upload)])
    if isinstance(result, Exception):
        raise result
    return result


def _check_parent(conversation: Conversation, parent: Message | None) -> Message | None:
    """The top-level message a reply goes under (threads are one level deep), or why it cannot."""
    if parent is None:
        return None
    if parent.conversation_id != conversation.pk:
        raise ValidationError({"parent": "Reply to a message of this conversation."})
    if parent.parent_id is not None:
        parent = parent.parent
    if parent.is_deleted:
        raise ValidationError({"parent": "That message was deleted."})
    return parent


def _after_posts(messages: list[Message]) -> None:
    """Conversation order and reply counts for saved messages; then their broadcasts.

    The senders' read marks stay: their own messages never count as unread, and
    whatever of others' they saw, their page marks read.
    """
    newest: dict[int, datetime] = {}
    replies: dict[int, list[Message]] = {}
    for message in messages:
        message.known_reactions = []  # A new message has none; rendering it need not ask.
        conversation_id = message.conversation_id
        newest[conversation_id] = max(newest.get(conversation_id, message.created_at), message.created_at)
        if message.parent_id:
            replies.setdefault(message.parent_id, []).append(message)
    # One statement for every conversation of the batch.
    Conversation.objects.filter(pk__in=list(newest)).update(
        last_message_at=Case(*(When(pk=pk, then=Value(when)) for pk, when in newest.items()))
    )
    for parent_id, children in replies.items():
        when = max(child.created_at for child in children)
        Message.objects.filter(pk=parent_id).update(reply_count=F("reply_count") + len(children), last_reply_at=when)
        children[0].parent.refresh_from_db(fields=["reply_count", "last_reply_at"])
        for child in children[1:]:
            child.parent = children[0].parent
    # One round trip to the channel layer for the whole batch (see `send_events_now`).
    send_events_on_commit(
        [([conversation_group(message.conversation_id)], text_event(message_payload(message))) for message in messages]
    )


@transaction.atomic
def post_system_message(*, conversation: Conversation, content: str, parent: Message | None = None) -> Message:
    """A message from the system (sender None) into a conversation: how higher apps speak in channels."""
    content = _clean_content(content, required=True)
    parent = _check_parent(conversation, parent)
    html, mentioned = _render(conversation.organization_id, content)
    message = Message.objects.create(
        organization_id=conversation.organization_id,
        conversation=conversation,
        sender=None,
        type=Message.Type.SYSTEM,
        content=content,
        content_html=html,
        parent=parent,
    )
    if mentioned:
        message.mentions.set(mentioned)
    _after_posts([message])
    _notify_recipients([(message, mentioned)])
    return message


def _own_message(actor: User, message: Message, *, moderators: bool) -> None:
    if message.organization_id != actor.organization_id:
        raise PermissionDenied("That message is not of your organization.")
    if message.sender_id == actor.pk:
        return
    if moderators and may_moderate(actor, message.conversation):
        return
    raise PermissionDenied("Only the sender may do that to a message.")


def _locked(message: Message) -> Message:
    """The message again, row-locked (not the nullable sender PostgreSQL cannot lock through an outer join)."""
    return Message.objects.select_for_update(of=("self",)).select_related("conversation", "sender").get(pk=message.pk)


@transaction.atomic
def edit_message(*, actor: User, message: Message, content: str) -> Message:
    message = _locked(message)
    _own_message(actor, message, moderators=False)
    if message.is_deleted:
        raise ValidationError("A deleted message cannot be edited.")
    if message.type == Message.Type.SYSTEM:
        raise ValidationError("System messages cannot be edited.")
    content = _clean_content(content, required=not message.attachment)
    if content == message.content:
        return message
    html, mentioned = _render(message.organization_id, content)
    newly_mentioned = [pk for pk in mentioned if not message.mentions.filter(pk=pk).exists()]
    message.content, message.content_html, message.edited_at = content, html, timezone.now()
    message.save(update_fields=["content", "content_html", "edited_at"])
    message.mentions.set(mentioned)
    _broadcast_message(message, "chat.changed")
    if newly_mentioned:
        _notify_recipients([(message, newly_mentioned)], new=False)
    return message


@transaction.atomic
def delete_message(*, actor: User, message: Message) -> Message:
    """Senders delete their own messages, administrators any; the text and file go, a marker stays."""
    message = _locked(message)
    _own_message(actor, message, moderators=True)
    if message.is_deleted:
        return message
    files = [(field.storage, field.name) for field in (message.attachment, message.thumbnail) if field]
    message.deleted_at = timezone.now()
    message.content = message.content_html = ""
    message.attachment = message.thumbnail = ""
    message.attachment_name, message.attachment_size = "", 0
    message.save(
        update_fields=[
            "deleted_at",
            "content",
            "content_html",
            "attachment",
            "thumbnail",
            "attachment_name",
            "attachment_size",
        ]
    )
    message.mentions.clear()
    message.reactions.all().delete()
    if files:
        transaction.on_commit(lambda: [storage.delete(name) for storage, name in files])
    _broadcast_message(message, "chat.changed")
    # A deleted message no longer counts as unread: members who had not read it get their counts again.
    unread_for = Membership.objects.filter(conversation_id=message.conversation_id).exclude(user_id=message.sender_id)
    for user_id in unread_for.filter(last_read_message_id__lt=message.pk).values_list("user_id", flat=True):
        _push_unread(user_id, message.conversation_id)
    for user_id in unread_for.filter(last_read_message_id__isnull=True).values_list("user_id", flat=True):
        _push_unread(user_id, message.conversation_id)
    return message


def _clean_emoji(emoji: str) -> str:
    emoji = (emoji or "").strip()
    if not emoji or len(emoji) > REACTION_MAX_LENGTH:
        raise ValidationError({"emoji": "Pick an emoji."})
    if any(char.isascii() and not char.isspace() for char in emoji) or any(char.isspace() for char in emoji):
        # Emoji are not ASCII; this keeps words and markup out of reactions.
        raise ValidationError({"emoji": "A reaction is an emoji, not text."})
    return emoji


@transaction.atomic
def toggle_reaction(*, user: User, message: Message, emoji: str) -> bool:
    """Add the user's reaction, or take it back if it was there. Returns whether it is there now."""
    emoji = _clean_emoji(emoji)
    _membership(user, message.conversation)
    if message.is_deleted:
        raise ValidationError("That message was deleted.")
    removed, _ = Reaction.objects.filter(message=message, user=user, emoji=emoji).delete()
    if not removed:
        try:
            with transaction.atomic():
                Reaction.objects.create(message=message, user=user, emoji=emoji)
        except IntegrityError:  # A double click raced itself; the reaction is there.
            pass
    html = render_to_string(
        "chat/_reactions.html",
        {
            "message": message,
            "reactions": selectors.reaction_summary(message=message),
            "react_url": url_for("chat:react", message.pk),
        },
    )
    send_json_on_commit(
        [conversation_group(message.conversation_id)],
        {"type": "chat.reactions", "conversation": message.conversation_id, "id": message.pk, "html": html},
    )
    return not removed


# Reading


def _push_unread(user_id: int, conversation_id: int) -> None:
    """Send the person's tabs their count for one conversation and their total, once committed."""

    def push():
        counts = selectors.unread_counts_for(user_id=user_id)
        send_json_on_commit(
            [user_group(user_id)],
            {
                "type": "chat.unread",
                "conversation": conversation_id,
                "unread": counts.get(conversation_id, (0, False))[0],
                "total": selectors.total_of(counts),
            },
        )

    transaction.on_commit(push)


@transaction.atomic
def mark_read(*, user: User, conversation: Conversation, up_to: int | None = None) -> int:
    """Mark the conversation read up to message `up_to` (the newest when None). Returns what stays unread.

    The mark only moves forward, so a late request from an old tab cannot
    make read messages unread again.
    """
    if up_to is not None and up_to <= 0:
        raise ValidationError({"up_to": "Give a message id."})
    membership = _membership(user, conversation)
    newest = conversation.messages.order_by("-id").values_list("id", flat=True).first()
    if up_to is None or (newest is not None and up_to > newest):
        up_to = newest
    if up_to is None:
        return 0
    updated = (
        Membership.objects.filter(pk=membership.pk)
        .exclude(last_read_message_id__gte=up_to)
        .update(last_read_message_id=up_to, last_read_at=timezone.now())
    )
    if updated:
        _push_unread(user.pk, conversation.pk)
        if conversation.is_direct:
            # "Seen" in direct conversations: the other person's tabs learn how far this one has read.
            send_json_on_commit(
                [conversation_group(conversation.pk)],
                {"type": "chat.read", "conversation": conversation.pk, "user": user.pk, "up_to": up_to},
            )
    return selectors.unread_count(user=user, conversation=conversation)


# System messages (banners)


def system_message_fragment(system_message: SystemMessage) -> str:
    """The banner as an out-of-band fragment that htmx appends to every page's banner area."""
    banner = render_to_string("chat/_system_message.html", {"system_message": system_message})
    return f'<div hx-swap-oob="beforeend:#system-banners">{banner}</div>'


@transaction.atomic
def create_system_message(
    *,
    organization: Organization,
    title: str,
    content: str = "",
    message_type: str = SystemMessage.Level.INFO,
    target_users: Iterable[User] = (),
    is_broadcast: bool = False,
    expires_at: datetime | None = None,
    actor: User | None = None,
    key: str | None = None,
) -> SystemMessage:
    """A banner for everyone (broadcast) or for `target_users`, shown live until dismissed or expired.

    `actor` None is the system itself (higher apps); people need the broadcast
    permission. With a `key`, raising the same banner again returns the one
    already there.
    """
    if actor is not None:
        require(actor, Action.BROADCAST_UPDATE)
        if actor.organization_id != organization.pk:
            raise PermissionDenied("That organization is not yours.")
    if key:
        existing = SystemMessage.objects.filter(organization=organization, key=key).first()
        if existing is not None:
            return existing
    title = " ".join((title or "").split())
    if not title or len(title) > 200:
        raise ValidationError({"title": "A title of 1 to 200 characters is required."})
    if len(content or "") > MAX_MESSAGE_LENGTH:
        raise ValidationError({"content": f"At most {MAX_MESSAGE_LENGTH:,} characters."})
    if message_type not in SystemMessage.Level.values:
        raise ValidationError({"message_type": "Choose info, warning, error or success."})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    targets = _check_people(organization.pk, target_users)
    if not is_broadcast and not targets:
        raise ValidationError({"target_users": "Choose who sees it, or broadcast it to everyone."})
    system_message = SystemMessage.objects.create(
        organization=organization,
        title=title,
        content=(content or "").strip(),
        message_type=message_type,
        is_broadcast=is_broadcast,
        expires_at=expires_at,
        created_by=actor,
        key=key or "",
    )
    if targets:
        system_message.target_users.set(targets)
    with timezone.override(organization.tzinfo):
        html = system_message_fragment(system_message)
    groups = [organization_group(organization.pk)] if is_broadcast else [user_group(person.pk) for person in targets]
    send_event_on_commit(groups, {"type": "hub.fragment", "html": html})
    return system_message


@transaction.atomic
def dismiss_system_message(*, user: User, system_message: SystemMessage) -> None:
    if system_message.organization_id != user.organization_id:
        raise PermissionDenied("That message is not of your organization.")
    if not selectors.system_messages_for(user=user, include_dismissed=True).filter(pk=system_message.pk).exists():
        raise PermissionDenied("That message is not addressed to you.")
    SystemMessageDismissal.objects.get_or_create(system_message=system_message, user=user)
    html = f'<div id="system-message-{system_message.pk}" hx-swap-oob="delete"></div>'
    send_event_on_commit([user_group(user.pk)], {"type": "hub.fragment", "html": html})


@transaction.atomic
def expire_system_message(*, actor: User | None, system_message: SystemMessage) -> SystemMessage:
    """Take a banner down for everyone now. `actor` None is the system itself (commands, higher apps)."""
    if actor is not None:
        require(actor, Action.BROADCAST_UPDATE)
        if system_message.organization_id != actor.organization_id:
            raise PermissionDenied("That message is not of your organization.")
    system_message.expires_at = timezone.now()
    system_message.save(update_fields=["expires_at"])
    html = f'<div id="system-message-{system_message.pk}" hx-swap-oob="delete"></div>'
    send_event_on_commit([organization_group(system_message.organization_id)], {"type": "hub.fragment", "html": html})
    return system_message
