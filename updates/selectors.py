"""Reads of updates, always for one person: what they may see, the feed, one update, its acknowledgements.

A person sees a published update when it was published to them (an
`UpdateRecipient` row), and every update they wrote, drafts included. Deleted
updates are seen by nobody. Everything else is a 404, in pages and the API.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Count, Exists, F, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404

from accounts.models import User
from updates.models import Priority, Update, UpdateComment, UpdateLike, UpdateRecipient, UpdateType

FEED_PAGE_SIZE = 20
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _received_by(user: User):
    return UpdateRecipient.objects.filter(update=OuterRef("pk"), user=user)


def visible_updates(*, user: User) -> QuerySet:
    """Every update `user` may open: published to them, or written by them; never deleted ones."""
    if not user.is_authenticated or user.organization_id is None:
        return Update.objects.none()
    return Update.objects.filter(organization_id=user.organization_id, deleted_at__isnull=True).filter(
        Q(created_by=user) | Q(is_published=True) & Q(Exists(_received_by(user)))
    )


def can_see(user: User, update: Update) -> bool:
    return visible_updates(user=user).filter(pk=update.pk).exists()


def _count_of(model, **extra) -> Subquery:
    rows = model.objects.filter(update=OuterRef("pk"), **extra).order_by().values("update")
    return Coalesce(Subquery(rows.annotate(n=Count("pk")).values("n"), output_field=IntegerField()), Value(0))


def _decorated(queryset: QuerySet, user: User) -> QuerySet:
    """Counts and the viewer's own like and acknowledgement, without a query per row."""
    return (
        queryset.select_related("created_by__profile")
        .prefetch_related("attachments", "media")
        .annotate(
            like_count=_count_of(UpdateLike),
            comment_count=_count_of(UpdateComment),
            recipient_count=_count_of(UpdateRecipient),
            acknowledged_count=_count_of(UpdateRecipient, acknowledged_at__isnull=False),
            liked=Exists(UpdateLike.objects.filter(update=OuterRef("pk"), user=user)),
            my_acknowledged_at=Subquery(_received_by(user).values("acknowledged_at")[:1]),
            to_me=Exists(_received_by(user)),
        )
    )


@dataclass
class FeedFilters:
    type: str = ""
    priority: str = ""

    @classmethod
    def from_query(cls, query) -> "FeedFilters":
        """Unknown values are ignored: the feed is shown unfiltered by them rather than refused."""
        kind, priority = query.get("type", ""), query.get("priority", "")
        return cls(kind if kind in UpdateType.values else "", priority if priority in Priority.values else "")


@dataclass
class FeedPage:
    items: list[Update]
    next_cursor: str | None


def _cursor_after(update: Update) -> str:
    """An opaque, URL-safe position: the publication time in microseconds and the id."""
    return f"{(update.published_at - _EPOCH) // _MICROSECOND}_{update.pk}"


def _parse_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    if not cursor:
        return None
    try:
        micros, pk = cursor.split("_")
        return _EPOCH + int(micros) * _MICROSECOND, int(pk)
    except (ValueError, OverflowError, OSError):
        raise Http404("No such page.") from None


def feed(*, user: User, filters: FeedFilters | None = None, cursor: str | None = None, limit: int = FEED_PAGE_SIZE):
    """Published updates for `user`, newest first, `limit` at a time; `next_cursor` continues after the last."""
    filters = filters or FeedFilters()
    updates = visible_updates(user=user).filter(is_published=True)
    if filters.type:
        updates = updates.filter(type=filters.type)
    if filters.priority:
        updates = updates.filter(priority=filters.priority)
    after = _parse_cursor(cursor)
    if after is not None:
        when, pk = after
        updates = updates.filter(Q(published_at__lt=when) | Q(published_at=when, pk__lt=pk))
    rows = list(_decorated(updates.order_by("-published_at", "-pk"), user)[: limit + 1])
    items = rows[:limit]
    more = len(rows) > limit
    next_cursor = _cursor_after(items[-1]) if more and items else None
    return FeedPage(items, next_cursor)


def drafts_of(*, user: User) -> list[Update]:
    """The user's scheduled updates, next to be published first, then their drafts, newest first."""
    updates = visible_updates(user=user).filter(created_by=user, is_published=False)
    return list(_decorated(updates.order_by(F("published_at").asc(nulls_last=True), "-created_at"), user))


def get_update_for_user_or_404(*, user: User, pk) -> Update:
    try:
        return _decorated(visible_updates(user=user), user).get(pk=int(pk))
    except (Update.DoesNotExist, ValueError, TypeError):
        raise Http404("No such update.") from None


def comments_of(update: Update) -> list[UpdateComment]:
    """Top-level comments oldest first, each with its replies in `thread`."""
    replies = Prefetch(
        "replies", queryset=UpdateComment.objects.select_related("author__profile").order_by("created_at", "pk")
    )
    return list(
        UpdateComment.objects.filter(update=update, parent__isnull=True)
        .select_related("author__profile")
        .prefetch_related(replies)
        .order_by("created_at", "pk")
    )


def get_comment_or_404(*, update: Update, pk) -> UpdateComment:
    try:
        return UpdateComment.objects.select_related("update").get(update=update, pk=int(pk))
    except (UpdateComment.DoesNotExist, ValueError, TypeError):
        raise Http404("No such comment.") from None


def acknowledgements(update: Update) -> tuple[list[UpdateRecipient], list[UpdateRecipient]]:
    """(acknowledged, pending) recipients of an update, each with its user; by time, then by name."""
    receipts = list(
        UpdateRecipient.objects.filter(update=update)
        .select_related("user")
        .order_by("user__first_name", "user__last_name", "user__username")
    )
    done = sorted((r for r in receipts if r.acknowledged_at), key=lambda r: r.acknowledged_at)
    return done, [r for r in receipts if not r.acknowledged_at]
