"""JSON API for the caller's notifications (the bell): list them and mark them read.

Notifications are django-notifications rows addressed to one person, so every
read filters on `recipient=request.user`; another person's notification is
unknown here. Marking read goes through `nexus.notify`, which also updates the
caller's open tabs.
"""

from datetime import datetime

from django.urls import NoReverseMatch, reverse
from ninja import Field, Query, Router, Schema
from notifications.models import Notification

from nexus import notify
from nexus.schemas import Id

router = Router(tags=["notifications"])

MAX_PAGE_SIZE = 200

# The page a notification about a target leads to, by the target's "app_label.model". The URL names
# are the web pages', so this module needs no import of the apps that notify.
TARGET_PAGES = {
    "activities.activity": "activities:detail",
    "projects.project": "projects:detail",
    "chat.message": "chat:thread",
    "updates.update": "updates:detail",
}


# Schemas


class NotificationOut(Schema):
    id: int
    verb: str = Field(description='What happened, e.g. "mentioned you".')
    description: str
    level: str
    unread: bool
    timestamp: datetime
    actor_name: str | None = Field(description="Who did it; the organization for notifications of the system.")
    target_type: str | None = Field(description='What it is about, as "app.model", e.g. "chat.message".')
    target_id: int | None
    url: str | None = Field(description="The page to open for it, when there is one.")

    @staticmethod
    def resolve_description(obj) -> str:
        return obj.description or ""

    @staticmethod
    def resolve_actor_name(obj) -> str | None:
        actor = obj.actor
        if actor is None:
            return None
        return getattr(actor, "display_name", None) or str(actor)

    @staticmethod
    def resolve_target_type(obj) -> str | None:
        return _target_type(obj)

    @staticmethod
    def resolve_target_id(obj) -> int | None:
        return _target_id(obj)

    @staticmethod
    def resolve_url(obj) -> str | None:
        if isinstance(obj.data, dict) and isinstance(obj.data.get("url"), str):
            return obj.data["url"]
        page, target_id = TARGET_PAGES.get(_target_type(obj) or ""), _target_id(obj)
        if page is None or target_id is None:
            return None
        try:
            return reverse(page, args=[target_id])
        except NoReverseMatch:
            return None


class NotificationQuery(Schema):
    unread: bool = Field(False, description="Only unread notifications.")
    before: int | None = Field(None, ge=1, description="Only notifications older than this id (the next page).")
    limit: int = Field(50, ge=1, le=MAX_PAGE_SIZE, description=f"Page size, at most {MAX_PAGE_SIZE}.")


class NotificationPage(Schema):
    items: list[NotificationOut] = Field(description="Newest first.")
    unread: int = Field(description="All the caller's unread notifications, on every page.")
    next_before: int | None = Field(description="Pass as `before` for the next page; null on the last.")


class NotificationsReadIn(Schema):
    ids: list[Id] = Field(description="The caller's notification ids; others are ignored.")


class NotificationsUnreadOut(Schema):
    unread: int = Field(description="The caller's unread notifications after the change.")


# Helpers


def _target_type(notification: Notification) -> str | None:
    content_type = notification.target_content_type
    return f"{content_type.app_label}.{content_type.model}" if content_type else None


def _target_id(notification: Notification) -> int | None:
    # Every model of Nexus has an integer key; django-notifications stores it as text.
    value = notification.target_object_id
    return int(value) if value and value.isdigit() else None


# Endpoints


@router.get(
    "/notifications",
    response=NotificationPage,
    summary="The caller's notifications",
    description="Newest first, a page at a time: pass `next_before` as `before` for the next page.",
)
def list_notifications(request, query: Query[NotificationQuery]):
    notifications = Notification.objects.filter(recipient=request.user)
    if query.unread:
        notifications = notifications.unread()
    if query.before is not None:
        notifications = notifications.filter(pk__lt=query.before)
    notifications = notifications.select_related("actor_content_type", "target_content_type")
    page = list(notifications.prefetch_related("actor").order_by("-id")[: query.limit + 1])
    has_more = len(page) > query.limit
    page = page[: query.limit]
    return {
        "items": page,
        "unread": notify.unread_count(request.user.pk),
        "next_before": page[-1].pk if has_more else None,
    }


@router.post(
    "/notifications/read",
    response=NotificationsUnreadOut,
    summary="Mark notifications read",
    description="Ids that are not the caller's are ignored.",
)
def mark_read(request, payload: NotificationsReadIn):
    return {"unread": notify.mark_notifications_read(user=request.user, ids=payload.ids)}


@router.post("/notifications/read-all", response=NotificationsUnreadOut, summary="Mark every notification read")
def mark_all_read(request):
    return {"unread": notify.mark_all_notifications_read(user=request.user)}
