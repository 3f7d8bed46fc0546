"""JSON API for chat: conversations, their messages, threads, reactions, search and banners.

Handlers are thin: they resolve ids into objects the caller may see, call one
service or selector and shape the answer. Visibility is the selectors': a
conversation of another organization, or a group or direct conversation the
caller is not in, is a 404; channels are readable by everyone of the
organization before joining. A person or message id in a body that the caller
cannot use is a 400 naming it. The services decide who may do what
(PermissionDenied -> 403 in nexus.api) and refuse bad input (ValidationError ->
400 with the reason), changing nothing.
"""

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile

from accounts.api import Error, PersonRef, resolve_people
from chat import selectors, services
from chat.models import Conversation, Message, Reaction, SystemMessage
from nexus.errors import error_text
from nexus.files import protected_file_response
from nexus.permissions import Action, require
from nexus.schemas import Id, StorableDateTime
from nexus.tenancy import get_for_org_or_404

router = Router(tags=["chat"])

# The services name model fields; the API's callers know the body's names.
SYSTEM_MESSAGE_FIELDS = {"message_type": "level", "target_users": "target_user_ids", "members": "target_user_ids"}

Kind = Conversation.Kind
SEARCH_LIMIT = 50


# Schemas


class ConversationOut(Schema):
    id: int
    kind: Kind
    title: str = Field(description='What the caller calls it: "#name" for channels, the other person for direct ones.')
    topic: str
    unread: int = Field(description="Messages of others the caller has not read.")
    muted: bool
    last_message_at: datetime | None

    @staticmethod
    def resolve_id(obj) -> int:
        return obj.conversation.pk

    @staticmethod
    def resolve_kind(obj) -> str:
        return obj.conversation.kind

    @staticmethod
    def resolve_topic(obj) -> str:
        return obj.conversation.topic

    @staticmethod
    def resolve_last_message_at(obj) -> datetime | None:
        return obj.conversation.last_message_at


class ConversationList(Schema):
    items: list[ConversationOut]
    total_unread: int = Field(description="Unread messages of all the caller's conversations, muted ones excluded.")


class MemberOut(Schema):
    id: int
    name: str
    role: str

    @staticmethod
    def resolve_id(obj) -> int:
        return obj.user_id

    @staticmethod
    def resolve_name(obj) -> str:
        return obj.user.display_name


class ConversationDetail(Schema):
    id: int
    kind: Kind
    title: str
    topic: str
    created_at: datetime
    last_message_at: datetime | None
    is_archived: bool
    is_member: bool = Field(description="False for a channel the caller has not joined (yet).")
    muted: bool
    unread: int
    members: list[MemberOut]


class ConversationIn(Schema):
    kind: Kind
    name: str = Field(
        "",
        max_length=services.MAX_NAME_LENGTH,
        description="Groups and channels; a direct conversation is named after the other person.",
    )
    topic: str = Field("", max_length=Conversation._meta.get_field("topic").max_length, description="Channels only.")
    member_ids: list[Id] = Field(
        [],
        description=(
            "People of the caller's organization. A direct conversation takes exactly one other person; "
            "the caller's own id may be sent along and is ignored."
        ),
    )


class MuteIn(Schema):
    muted: bool


class ReadIn(Schema):
    up_to: int | None = Field(
        None, le=2**63 - 1, description="The newest message id read; the conversation's newest when left out."
    )


class UnreadOut(Schema):
    unread: int = Field(description="What stays unread in the conversation.")


class ReactionOut(Schema):
    emoji: str
    count: int
    users: list[int]
    names: list[str]


class MessageAttachmentOut(Schema):
    name: str
    size: int
    type: str
    url: str = Field(description="The file, through this API.")
    thumbnail_url: str | None = Field(description="A small JPEG of an image; null for other files.")


class MessageOut(Schema):
    id: int
    conversation: int
    sender: PersonRef | None = Field(description="Null for messages of the system.")
    type: Message.Type
    content: str = Field(description="As written (light markdown); empty once deleted.")
    html: str = Field(description="The content rendered and sanitized.")
    parent: int | None = Field(description="The thread's top-level message, for a reply.")
    reply_count: int
    last_reply_at: datetime | None
    attachment: MessageAttachmentOut | None
    created_at: datetime
    edited_at: datetime | None
    deleted: bool
    reactions: list[ReactionOut]

    @staticmethod
    def resolve_conversation(obj) -> int:
        return obj.conversation_id

    @staticmethod
    def resolve_html(obj) -> str:
        return obj.content_html

    @staticmethod
    def resolve_parent(obj) -> int | None:
        return obj.parent_id

    @staticmethod
    def resolve_attachment(obj) -> dict | None:
        if not obj.attachment:
            return None
        thumbnail = reverse("api-v1:chat_message_thumbnail", args=[obj.pk]) if obj.thumbnail else None
        return {
            "name": obj.attachment_name,
            "size": obj.attachment_size,
            "type": obj.attachment_type,
            "url": reverse("api-v1:chat_message_file", args=[obj.pk]),
            "thumbnail_url": thumbnail,
        }

    @staticmethod
    def resolve_deleted(obj) -> bool:
        return obj.is_deleted

    @staticmethod
    def resolve_reactions(obj) -> list[dict]:
        return selectors.reaction_summary(message=obj)


class MessagePageQuery(Schema):
    before: int | None = Field(None, ge=1, description="Only messages older than this id (scrolling back).")
    after: int | None = Field(
        None, ge=0, description="Only messages newer than this id (catching up); 0 starts at the beginning."
    )
    limit: int = Field(
        selectors.PAGE_SIZE, ge=1, le=selectors.MAX_PAGE_SIZE, description=f"At most {selectors.MAX_PAGE_SIZE}."
    )


class MessagePage(Schema):
    items: list[MessageOut] = Field(description="Top-level messages, oldest first.")
    next_before: int | None = Field(description="Pass as `before` for the older page; null at the beginning.")
    next_after: int | None = Field(description="Pass as `after` for the newer page; null at the newest message.")


class ThreadOut(Schema):
    root: MessageOut
    replies: list[MessageOut] = Field(description="Oldest first.")


class MessageIn(Schema):
    content: str = Field(max_length=services.MAX_MESSAGE_LENGTH)
    parent: Id | None = Field(None, description="A message of the conversation to reply to (its thread).")


class MessagePatch(Schema):
    content: str = Field(max_length=services.MAX_MESSAGE_LENGTH)


class ReactionIn(Schema):
    emoji: str = Field(max_length=services.REACTION_MAX_LENGTH, description="One emoji, e.g. 👍.")


class ReactedOut(Schema):
    reacted: bool = Field(description="Whether the caller's reaction is there now.")
    reactions: list[ReactionOut]


class SearchQuery(Schema):
    q: str = Field(max_length=200, description="Words the messages contain.")
    limit: int = Field(SEARCH_LIMIT, ge=1, le=SEARCH_LIMIT, description=f"At most {SEARCH_LIMIT}.")


class SearchResult(MessageOut):
    conversation_title: str


class SearchResults(Schema):
    items: list[SearchResult] = Field(description="Best matches first.")


class SystemMessageOut(Schema):
    id: int
    title: str
    content: str
    level: SystemMessage.Level
    is_broadcast: bool
    created_at: datetime
    expires_at: datetime | None

    @staticmethod
    def resolve_level(obj) -> str:
        return obj.message_type


class ManagedSystemMessageOut(SystemMessageOut):
    """A banner as the managers who raise and take down banners see it."""

    is_active: bool = Field(description="Shown now: not yet expired or taken down.")
    target_people: list[PersonRef] = Field(description="Whom it is for, when it is not to everyone.")
    created_by: PersonRef | None = Field(description="Null for banners the system raised.")
    dismissed: int = Field(description="How many people have dismissed it.")

    @staticmethod
    def resolve_is_active(obj) -> bool:
        return obj.expires_at is None or obj.expires_at > timezone.now()

    @staticmethod
    def resolve_target_people(obj) -> list:
        return list(obj.target_users.all())

    @staticmethod
    def resolve_dismissed(obj) -> int:
        return obj.dismissed


class SystemMessageIn(Schema):
    title: str = Field(min_length=1, max_length=SystemMessage._meta.get_field("title").max_length)
    content: str = Field("", max_length=services.MAX_MESSAGE_LENGTH)
    level: SystemMessage.Level = SystemMessage.Level.INFO
    is_broadcast: bool = Field(False, description="Everyone in the organization; otherwise `target_user_ids`.")
    target_user_ids: list[Id] = Field([], description="Active people of the caller's organization it is for.")
    expires_at: StorableDateTime | None = Field(
        None,
        description=(
            "When it comes down by itself; a future ISO 8601 date-time, read in the organization's time zone "
            "without an offset. Left out, it stays until taken down."
        ),
    )


# Helpers


def _get_conversation_for_user(request, conversation_id: int) -> Conversation:
    return selectors.get_conversation_or_404(user=request.user, pk=conversation_id)


def _get_message_for_user(request, message_id: int) -> Message:
    return selectors.get_message_or_404(user=request.user, pk=message_id)


def _resolve_parent(conversation: Conversation, parent_id: int | None) -> Message | None:
    if parent_id is None:
        return None
    parent = conversation.messages.select_related("parent").filter(pk=parent_id).first()
    if parent is None:
        raise ValidationError({"parent": f"Unknown message {parent_id} in this conversation."})
    return parent


def _detail(request, conversation: Conversation) -> dict:
    membership = selectors.membership_of(user=request.user, conversation=conversation)
    return {
        "id": conversation.pk,
        "kind": conversation.kind,
        "title": selectors.title_for(conversation, request.user.pk),
        "topic": conversation.topic,
        "created_at": conversation.created_at,
        "last_message_at": conversation.last_message_at,
        "is_archived": conversation.is_archived,
        "is_member": membership is not None,
        "muted": membership.muted if membership else False,
        "unread": selectors.unread_count(user=request.user, conversation=conversation) if membership else 0,
        "members": list(selectors.members_of(conversation=conversation)),
    }


def _create_conversation(request, payload: ConversationIn) -> Conversation:
    """Open a conversation of the body's kind; every id is checked before anything is created."""
    people = resolve_people(request, payload.member_ids, field="member_ids")
    if payload.kind != Kind.CHANNEL and payload.topic:
        raise ValidationError({"topic": "Only channels have a topic."})
    if payload.kind == Kind.DIRECT:
        if payload.name:
            raise ValidationError({"name": "A direct conversation is named after the other person."})
        # Notes to oneself stay out of the API until chat.services.get_or_create_direct stops adding
        # the same person twice (an IntegrityError, so a 500).
        others = [person for person in people if person.pk != request.user.pk]
        if len(others) != 1:
            raise ValidationError({"member_ids": "A direct conversation is with exactly one other person."})
        return services.get_or_create_direct(user=request.user, other=others[0])
    if payload.kind == Kind.GROUP:
        return services.create_group(actor=request.user, name=payload.name, members=people)
    # A channel and its first members, or nothing.
    with transaction.atomic():
        channel = services.create_channel(actor=request.user, name=payload.name, topic=payload.topic)
        if people:
            services.add_members(actor=request.user, conversation=channel, people=people)
    return channel


def _send(request, conversation: Conversation, **fields):
    """Send through the service; being rate limited is a 429 rather than a 400."""
    try:
        message = services.send_message(sender=request.user, conversation=conversation, **fields)
    except ValidationError as error:
        if getattr(error, "code", None) == "rate_limited":
            return Status(429, {"detail": error_text(error)})
        raise
    return Status(201, _get_message_for_user(request, message.pk))


# Conversations


@router.get(
    "/chat/conversations",
    response=ConversationList,
    summary="The caller's conversations",
    description="Conversations the caller is a member of, newest activity first, with their unread counts.",
)
def list_conversations(request):
    items = selectors.conversations_for(user=request.user)
    counts = {item.conversation.pk: (item.unread, item.muted) for item in items}
    return {"items": items, "total_unread": selectors.total_of(counts)}


@router.post(
    "/chat/conversations",
    response={200: ConversationDetail, 201: ConversationDetail, 400: Error, 403: Error},
    summary="Start a conversation",
    description=(
        "A group (named, with `member_ids`) or a channel (named, public within the organization, optionally "
        "with a `topic` and first `member_ids`) is created: 201. A direct conversation takes exactly one other "
        "person's id and is opened, or found when it exists: 200 either way, so the call can be repeated. "
        "Ids that are not of the caller's organization are a 400 naming them."
    ),
)
def create_conversation(request, payload: ConversationIn):
    conversation = _create_conversation(request, payload)
    status = 200 if payload.kind == Kind.DIRECT else 201
    return Status(status, _detail(request, _get_conversation_for_user(request, conversation.pk)))


@router.get(
    "/chat/conversations/{conversation_id}",
    response={200: ConversationDetail, 404: Error},
    summary="One conversation, with its members",
)
def get_conversation(request, conversation_id: int):
    return _detail(request, _get_conversation_for_user(request, conversation_id))


@router.post(
    "/chat/conversations/{conversation_id}/join",
    response={200: ConversationDetail, 400: Error, 403: Error, 404: Error},
    summary="Join a channel",
    description="Only channels are joined; what was posted before counts as read. Joining twice is a no-op.",
)
def join_conversation(request, conversation_id: int):
    conversation = _get_conversation_for_user(request, conversation_id)
    services.join_channel(user=request.user, conversation=conversation)
    return _detail(request, conversation)


@router.post(
    "/chat/conversations/{conversation_id}/leave",
    response={204: None, 400: Error, 403: Error, 404: Error},
    summary="Leave a group or channel",
    description="A direct conversation cannot be left (mute it instead): 400.",
)
def leave_conversation(request, conversation_id: int):
    conversation = _get_conversation_for_user(request, conversation_id)
    services.leave_conversation(user=request.user, conversation=conversation)
    return Status(204, None)


@router.post(
    "/chat/conversations/{conversation_id}/mute",
    response={200: ConversationDetail, 403: Error, 404: Error},
    summary="Mute or unmute a conversation",
    description="A muted conversation sends no notifications but mentions, and its unread count leaves the total.",
)
def mute_conversation(request, conversation_id: int, payload: MuteIn):
    conversation = _get_conversation_for_user(request, conversation_id)
    services.set_muted(user=request.user, conversation=conversation, muted=payload.muted)
    return _detail(request, conversation)


@router.post(
    "/chat/conversations/{conversation_id}/read",
    response={200: UnreadOut, 400: Error, 403: Error, 404: Error},
    summary="Mark a conversation read",
    description="Up to `up_to`, or everything. The mark only moves forward.",
)
def read_conversation(request, conversation_id: int, payload: ReadIn):
    conversation = _get_conversation_for_user(request, conversation_id)
    return {"unread": services.mark_read(user=request.user, conversation=conversation, up_to=payload.up_to)}


# Messages


@router.get(
    "/chat/conversations/{conversation_id}/messages",
    response={200: MessagePage, 400: Error, 404: Error},
    summary="A page of a conversation's history",
    description=(
        "Top-level messages (replies are in their thread) in id order: the newest `limit` without a cursor, "
        "older ones with `before`, newer ones with `after`. Channels are readable before joining."
    ),
)
def list_messages(request, conversation_id: int, query: Query[MessagePageQuery]):
    conversation = _get_conversation_for_user(request, conversation_id)
    if query.before is not None and query.after is not None:
        raise ValidationError("Give `before` or `after`, not both.")
    page = selectors.messages_page(conversation=conversation, before=query.before, after=query.after, limit=query.limit)
    return {
        "items": page.items,
        "next_before": page.items[0].pk if page.has_older else None,
        "next_after": page.items[-1].pk if page.has_newer else None,
    }


@router.post(
    "/chat/conversations/{conversation_id}/messages",
    response={201: MessageOut, 400: Error, 403: Error, 404: Error, 429: Error},
    summary="Send a message",
    description=(
        "Members post; join a channel first. `content` is light markdown (at most "
        f"{services.MAX_MESSAGE_LENGTH:,} characters; `@username` mentions notify). With `parent` it is a reply "
        "in that message's thread. Sending too fast is a 429."
    ),
)
def send_message(request, conversation_id: int, payload: MessageIn):
    conversation = _get_conversation_for_user(request, conversation_id)
    parent = _resolve_parent(conversation, payload.parent)
    return _send(request, conversation, content=payload.content, parent=parent)


@router.post(
    "/chat/conversations/{conversation_id}/files",
    response={201: MessageOut, 400: Error, 403: Error, 404: Error, 429: Error},
    summary="Send a file or an image",
    description="A multipart form: `file`, and optionally `content` and `parent` as for a message.",
)
def send_file(
    request,
    conversation_id: int,
    file: File[UploadedFile],
    content: Form[str] = "",
    # A form cannot say null: leave `parent` out for a message of its own.
    parent: Form[int] = None,
):
    conversation = _get_conversation_for_user(request, conversation_id)
    parent_message = _resolve_parent(conversation, parent)
    return _send(request, conversation, content=content, parent=parent_message, upload=file)


@router.get(
    "/chat/messages/{message_id}/thread",
    response={200: ThreadOut, 404: Error},
    summary="A message's thread",
    description="The thread's top-level message and its replies; any message of the thread finds it.",
)
def get_thread(request, message_id: int):
    root, replies = selectors.thread_of(message=_get_message_for_user(request, message_id))
    return {"root": root, "replies": replies}


@router.patch(
    "/chat/messages/{message_id}",
    response={200: MessageOut, 400: Error, 403: Error, 404: Error},
    summary="Edit a message",
    description="Only its sender edits a message; deleted and system messages cannot be edited.",
)
def edit_message(request, message_id: int, payload: MessagePatch):
    message = _get_message_for_user(request, message_id)
    services.edit_message(actor=request.user, message=message, content=payload.content)
    return _get_message_for_user(request, message_id)


@router.delete(
    "/chat/messages/{message_id}",
    response={204: None, 403: Error, 404: Error},
    summary="Delete a message",
    description="Its sender or an administrator. The text, file and reactions go; a marker stays in the history.",
)
def delete_message(request, message_id: int):
    message = _get_message_for_user(request, message_id)
    services.delete_message(actor=request.user, message=message)
    return Status(204, None)


@router.post(
    "/chat/messages/{message_id}/reactions",
    response={200: ReactedOut, 400: Error, 403: Error, 404: Error},
    summary="Toggle a reaction",
    description="Adds the caller's emoji to a message, or takes it back if it was there. Members only.",
)
def toggle_reaction(request, message_id: int, payload: ReactionIn):
    message = _get_message_for_user(request, message_id)
    reacted = services.toggle_reaction(user=request.user, message=message, emoji=payload.emoji)
    return {"reacted": reacted, "reactions": selectors.reaction_summary(message=message)}


@router.get(
    "/chat/messages/{message_id}/file",
    response={200: None, 404: Error},
    url_name="chat_message_file",
    summary="A message's file",
    description="Images are served inline, everything else as a download.",
)
def get_file(request, message_id: int):
    message = _get_message_for_user(request, message_id)
    inline = message.type == Message.Type.IMAGE
    content_type = message.attachment_type if inline else "application/octet-stream"
    return protected_file_response(
        message.attachment, download_name=message.attachment_name, content_type=content_type, inline=inline
    )


@router.get(
    "/chat/messages/{message_id}/thumbnail",
    response={200: None, 404: Error},
    url_name="chat_message_thumbnail",
    summary="An image's thumbnail",
)
def get_thumbnail(request, message_id: int):
    message = _get_message_for_user(request, message_id)
    return protected_file_response(
        message.thumbnail, download_name="thumbnail.jpg", content_type="image/jpeg", inline=True
    )


@router.get(
    "/chat/search",
    response=SearchResults,
    summary="Search messages",
    description="Messages the caller can see (their conversations and every channel) containing the words of `q`.",
)
def search(request, query: Query[SearchQuery]):
    results = selectors.search_messages(user=request.user, query=query.q, limit=query.limit)
    # The selector leaves reactions and titles to its callers: one query each for the whole page.
    prefetch_related_objects(results, Prefetch("reactions", queryset=Reaction.objects.select_related("user")))
    titles = {item.conversation.pk: item.title for item in selectors.conversations_for(user=request.user)}
    for message in results:
        message.conversation_title = titles.get(message.conversation_id) or selectors.title_for(
            message.conversation, request.user.pk
        )
    return {"items": results}


# System messages (banners)


@router.get(
    "/chat/system-messages",
    response=list[SystemMessageOut],
    summary="The caller's banners",
    description="Unexpired banners addressed to the caller (to everyone, or to them) that they have not dismissed.",
)
def list_system_messages(request):
    return list(selectors.system_messages_for(user=request.user)[:100])


def _managed_system_messages(request):
    """Every banner of the caller's organization, for managers; asking the role first keeps the list hidden."""
    require(request.user, Action.BROADCAST_UPDATE)
    return (
        selectors.system_messages_of(organization=request.organization)
        .select_related("created_by")
        .prefetch_related("target_users")
    )


@router.get(
    "/chat/system-messages/all",
    response={200: list[ManagedSystemMessageOut], 403: Error},
    summary="Every banner of the organization",
    description=(
        "Managers and admins, as on the system messages page: the newest 100, shown or taken down, with whom "
        "each is for and how many dismissed it. Staff and technicians get a 403."
    ),
)
def list_all_system_messages(request):
    return list(_managed_system_messages(request)[:100])


@router.post(
    "/chat/system-messages",
    response={201: ManagedSystemMessageOut, 400: Error, 403: Error},
    summary="Raise a banner",
    description=(
        "Managers and admins. To everyone (`is_broadcast`) or to chosen people (`target_user_ids`), not both; "
        "it appears live on their pages until they dismiss it, it expires or it is taken down. An id of "
        "another organization or none is a 400 naming it."
    ),
)
def create_system_message(request, payload: SystemMessageIn):
    require(request.user, Action.BROADCAST_UPDATE)
    if payload.is_broadcast and payload.target_user_ids:
        raise ValidationError({"is_broadcast": "A banner to everyone takes no people; send false to choose."})
    people = resolve_people(request, payload.target_user_ids, field="target_user_ids")
    expires_at = payload.expires_at
    if expires_at is not None and timezone.is_naive(expires_at):
        expires_at = timezone.make_aware(expires_at, request.organization.tzinfo)
    try:
        system_message = services.create_system_message(
            organization=request.organization,
            actor=request.user,
            title=payload.title,
            content=payload.content,
            message_type=payload.level,
            target_users=people,
            is_broadcast=payload.is_broadcast,
            expires_at=expires_at,
        )
    except ValidationError as error:
        return Status(400, {"detail": error_text(error, SYSTEM_MESSAGE_FIELDS)})
    return Status(201, _managed_system_messages(request).get(pk=system_message.pk))


@router.post(
    "/chat/system-messages/{system_message_id}/expire",
    response={200: ManagedSystemMessageOut, 403: Error, 404: Error},
    summary="Take a banner down",
    description=(
        "Managers and admins: it leaves every page now and stays listed as taken down. Taking down one that is "
        "already down changes nothing."
    ),
)
def expire_system_message(request, system_message_id: int):
    system_message = get_for_org_or_404(_managed_system_messages(request), request.organization, pk=system_message_id)
    if system_message.expires_at is None or system_message.expires_at > timezone.now():
        services.expire_system_message(actor=request.user, system_message=system_message)
    return _managed_system_messages(request).get(pk=system_message.pk)


@router.post(
    "/chat/system-messages/{system_message_id}/dismiss",
    response={204: None, 404: Error},
    summary="Dismiss a banner",
    description="It stays dismissed for the caller; dismissing twice is a no-op.",
)
def dismiss_system_message(request, system_message_id: int):
    system_message = get_for_org_or_404(SystemMessage, request.organization, pk=system_message_id)
    try:
        services.dismiss_system_message(user=request.user, system_message=system_message)
    except PermissionDenied:
        # A banner addressed to others is as unknown as one of another organization.
        raise Http404("No such message.") from None
    return Status(204, None)
