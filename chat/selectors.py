"""Reads of chat: what a person may see, their conversations with unread counts, history, threads, search.

Visibility: members see their conversations; channels are public within the
organization, so anyone there may read one before joining. Anything else is a
404 (never a 403 that would confirm it exists).
"""

import functools
from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import Case, Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from chat.models import SEARCH_CONFIG, Conversation, Membership, Message, Reaction, SystemMessage
from nexus.tenancy import scoped

Kind = Conversation.Kind
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
CATCH_UP_LIMIT = 1000


# Visibility


def visible_conversations(*, user: User) -> QuerySet[Conversation]:
    return scoped(Conversation, user.organization).filter(Q(kind=Kind.CHANNEL) | Q(memberships__user=user)).distinct()


def get_conversation_or_404(*, user: User, pk) -> Conversation:
    try:
        return visible_conversations(user=user).get(pk=pk)
    except (Conversation.DoesNotExist, ValueError, TypeError):
        raise Http404("No such conversation.") from None


def channel_of(*, organization_id: int, key: str) -> Conversation | None:
    """The channel a higher app opened under `key` (e.g. "machine:7"), or None while it has said nothing yet.
    Channels are public within their organization."""
    return Conversation.objects.filter(organization_id=organization_id, key=key, kind=Kind.CHANNEL).first()


def membership_of(*, user: User, conversation: Conversation) -> Membership | None:
    return Membership.objects.filter(user=user, conversation=conversation).first()


def get_message_or_404(*, user: User, pk) -> Message:
    try:
        message = scoped(Message, user.organization).select_related("conversation", "sender").get(pk=pk)
    except (Message.DoesNotExist, ValueError, TypeError):
        raise Http404("No such message.") from None
    if (
        not message.conversation.is_channel
        and not Membership.objects.filter(conversation_id=message.conversation_id, user=user).exists()
    ):
        raise Http404("No such message.")
    return message


def conversation_ids_of(*, user_id: int) -> list[int]:
    """The conversations whose live events the person's sockets receive."""
    return list(Membership.objects.filter(user_id=user_id).values_list("conversation_id", flat=True))


# Names


def _direct_other_id(conversation: Conversation, user_id: int | None) -> int | None:
    if not conversation.key or not conversation.key.startswith("dm:"):
        return None
    low, high = (int(part) for part in conversation.key.split(":")[1:3])
    return high if low == user_id else low


def title_for(conversation: Conversation, user_id: int | None) -> str:
    """What the conversation is called for one person: a direct conversation by the other person's name."""
    if conversation.kind != Kind.DIRECT:
        return ("#" if conversation.is_channel else "") + conversation.name
    if user_id is None:
        names = [
            User.name_from(*row)
            for row in User.objects.filter(chat_memberships__conversation=conversation).values_list(
                "first_name", "last_name", "username"
            )
        ]
        return " and ".join(sorted(names)) or "Direct conversation"
    other = User.objects.filter(pk=_direct_other_id(conversation, user_id)).first()
    if other is None:
        return "Direct conversation"
    return f"{other.display_name} (you)" if other.pk == user_id else other.display_name


# Unread counts: counted from the messages every time, so they always agree with the database.


def _unread_subquery(user_id: int):
    newer = (
        Message.objects.filter(
            conversation_id=OuterRef("conversation_id"),
            id__gt=Coalesce(OuterRef("last_read_message_id"), Value(0)),
            deleted_at__isnull=True,
        )
        .exclude(sender_id=user_id)
        .order_by()
        .values("conversation_id")
        .annotate(count=Count("id"))
        .values("count")
    )
    return Coalesce(Subquery(newer, output_field=IntegerField()), Value(0))


def unread_counts_for(*, user_id: int) -> dict[int, tuple[int, bool]]:
    """Conversation id -> (unread messages, muted) for every conversation the person is in."""
    rows = (
        Membership.objects.filter(user_id=user_id)
        .annotate(unread=_unread_subquery(user_id))
        .values_list("conversation_id", "unread", "muted")
    )
    return {conversation_id: (unread, muted) for conversation_id, unread, muted in rows}


def total_of(counts: dict[int, tuple[int, bool]]) -> int:
    """The badge total: muted conversations do not count."""
    return sum(unread for unread, muted in counts.values() if not muted)


def unread_count(*, user: User, conversation: Conversation) -> int:
    return unread_counts_for(user_id=user.pk).get(conversation.pk, (0, False))[0]


@dataclass(frozen=True)
class ConversationItem:
    conversation: Conversation
    title: str
    unread: int
    muted: bool


def conversations_for(*, user: User) -> list[ConversationItem]:
    """The person's conversations, newest activity first, with titles and unread counts (three queries)."""
    memberships = list(
        Membership.objects.filter(user=user, conversation__organization_id=user.organization_id)
        .select_related("conversation")
        .annotate(unread=_unread_subquery(user.pk))
        .order_by("-conversation__last_message_at", "-conversation_id")
    )
    other_ids = {
        _direct_other_id(membership.conversation, user.pk)
        for membership in memberships
        if membership.conversation.is_direct
    }
    names = {
        pk: User.name_from(first, last, username)
        for pk, first, last, username in User.objects.filter(pk__in=other_ids).values_list(
            "pk", "first_name", "last_name", "username"
        )
    }
    items = []
    for membership in memberships:
        conversation = membership.conversation
        if conversation.is_direct:
            other = _direct_other_id(conversation, user.pk)
            title = names.get(other, "Direct conversation") if other != user.pk else f"{user.display_name} (you)"
        else:
            title = ("#" if conversation.is_channel else "") + conversation.name
        items.append(ConversationItem(conversation, title, membership.unread, membership.muted))
    return items


def channels_to_join(*, user: User) -> QuerySet[Conversation]:
    return (
        scoped(Conversation, user.organization)
        .filter(kind=Kind.CHANNEL, is_archived=False)
        .exclude(memberships__user=user)
        .annotate(member_count=Count("memberships"))
        .order_by("name")
    )


def members_of(*, conversation: Conversation) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(conversation=conversation)
        .select_related("user__profile")
        .order_by("user__first_name", "user__username")
    )


# History


def _with_display(queryset: QuerySet[Message]) -> QuerySet[Message]:
    return queryset.select_related("sender__profile").prefetch_related(
        Prefetch("reactions", queryset=Reaction.objects.select_related("user").order_by("id"))
    )


class MessagePage:
    """A page of top-level messages in id order, and whether there are more on either side."""

    def __init__(self, items: list[Message], *, has_older: bool, newer: QuerySet[Message] | None):
        self.items = items
        self.has_older = has_older
        self._newer = newer  # Asked only by callers that page forwards.

    @functools.cached_property
    def has_newer(self) -> bool:
        return bool(self.items) and self._newer is not None and self._newer.filter(id__gt=self.items[-1].pk).exists()


def messages_page(
    *, conversation: Conversation, before: int | None = None, after: int | None = None, limit: int = PAGE_SIZE
) -> MessagePage:
    """The newest `limit` top-level messages, those before `before`, or those after `after`.

    One more row than asked for tells whether the page has a neighbour in the
    direction it was read; the other side costs a query only when asked.
    """
    limit = max(1, min(int(limit), MAX_PAGE_SIZE))
    top_level = conversation.messages.filter(parent__isnull=True)
    queryset = _with_display(top_level)
    if after is not None:
        rows = list(queryset.filter(id__gt=after).order_by("id")[: limit + 1])
        items = rows[:limit]
        has_older = bool(items) and top_level.filter(id__lt=items[0].pk).exists()
        page = MessagePage(items, has_older=has_older, newer=None)
        page.has_newer = len(rows) > limit
        return page
    if before is not None:
        queryset = queryset.filter(id__lt=before)
    rows = list(queryset.order_by("-id")[: limit + 1])
    items = list(reversed(rows[:limit]))
    return MessagePage(items, has_older=len(rows) > limit, newer=top_level if before is not None else None)


def messages_after(*, user: User, after: int, conversation_ids: list[int] | None = None) -> list[Message]:
    """Everything (replies too) newer than `after` in the person's conversations, oldest first: the catch-up."""
    ids = conversation_ids if conversation_ids is not None else conversation_ids_of(user_id=user.pk)
    return list(
        _with_display(Message.objects.filter(conversation_id__in=ids, id__gt=after))
        .select_related("parent")
        .order_by("id")[:CATCH_UP_LIMIT]
    )


def thread_of(*, message: Message) -> tuple[Message, list[Message]]:
    root = message.parent if message.parent_id else message
    replies = list(_with_display(root.replies.all()).order_by("id"))
    return root, replies


def reaction_summary(*, message: Message) -> list[dict]:
    """[{emoji, count, users: [ids], names}] in the order each emoji was first used."""
    summary: dict[str, dict] = {}
    reactions = message.reactions.all()
    for reaction in reactions:
        entry = summary.setdefault(reaction.emoji, {"emoji": reaction.emoji, "count": 0, "users": [], "names": []})
        entry["count"] += 1
        entry["users"].append(reaction.user_id)
        entry["names"].append(reaction.user.display_name)
    return list(summary.values())


def first_unread_id(*, membership: Membership | None) -> int | None:
    """The first top-level message the member has not read (others' and not deleted), where "New messages" goes."""
    if membership is None:
        return None
    return (
        Message.objects.filter(
            conversation_id=membership.conversation_id,
            parent__isnull=True,
            deleted_at__isnull=True,
            id__gt=membership.last_read_message_id or 0,
        )
        .exclude(sender_id=membership.user_id)
        .order_by("id")
        .values_list("id", flat=True)
        .first()
    )


def last_read_of_others(*, conversation: Conversation, user: User) -> int | None:
    """How far the other person of a direct conversation has read ("Seen")."""
    if not conversation.is_direct:
        return None
    return (
        Membership.objects.filter(conversation=conversation)
        .exclude(user=user)
        .values_list("last_read_message_id", flat=True)
        .first()
    )


# Search


def search_messages(*, user: User, query: str, limit: int = 50) -> list[Message]:
    """Messages the person can see that match `query`: full-text on PostgreSQL, substring elsewhere."""
    query = " ".join((query or "").split())[:200]
    if not query:
        return []
    visible = Message.objects.filter(
        organization_id=user.organization_id,
        deleted_at__isnull=True,
        conversation__in=visible_conversations(user=user).values("pk"),
    )
    if connection.vendor == "postgresql":
        search = SearchQuery(query, config=SEARCH_CONFIG, search_type="websearch")
        vector = SearchVector("content", config=SEARCH_CONFIG)
        matches = visible.annotate(search=vector).filter(search=search)
        matches = matches.annotate(rank=SearchRank(vector, search)).order_by("-rank", "-id")
    else:
        matches = visible
        for word in query.split()[:10]:
            matches = matches.filter(content__icontains=word)
        matches = matches.order_by("-id")
    return list(matches.select_related("conversation", "sender")[:limit])


# System messages


# Banners by importance: the page shows the first one and "+N more" for the rest.
BANNER_SEVERITY = {
    SystemMessage.Level.ERROR: 0,
    SystemMessage.Level.WARNING: 1,
    SystemMessage.Level.INFO: 2,
    SystemMessage.Level.SUCCESS: 3,
}


def banner_rank(level: str) -> int:
    return BANNER_SEVERITY.get(level, len(BANNER_SEVERITY))


def system_messages_for(*, user: User, include_dismissed: bool = False) -> QuerySet[SystemMessage]:
    """Unexpired banners addressed to the person (broadcast or targeted), not dismissed by them unless asked:
    the most severe first, the newest first among equals."""
    now = timezone.now()
    queryset = scoped(SystemMessage, user.organization).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now),
    )
    queryset = queryset.filter(
        Q(is_broadcast=True)
        | Q(pk__in=SystemMessage.target_users.through.objects.filter(user=user).values("systemmessage_id"))
    )
    if not include_dismissed:
        queryset = queryset.exclude(dismissals__user=user)
    severity = Case(
        *(When(message_type=level, then=Value(rank)) for level, rank in BANNER_SEVERITY.items()),
        default=Value(len(BANNER_SEVERITY)),
        output_field=IntegerField(),
    )
    return queryset.order_by(severity, "-created_at", "-id")


def system_messages_of(*, organization) -> QuerySet[SystemMessage]:
    return scoped(SystemMessage, organization).annotate(dismissed=Count("dismissals")).order_by("-created_at")
