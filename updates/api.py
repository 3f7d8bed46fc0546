"""JSON API for updates: the feed, drafts, one update, writing and publishing, comments, likes, acknowledgements.

Handlers are thin: they resolve ids into objects the caller may see, call one
service or selector and shape the answer. Visibility is the selectors': an
update of another organization, someone else's draft, or an update that was not
published to the caller is a 404 for every endpoint, so nobody learns it
exists. A person or comment id in a body that the caller cannot use is a 400
naming it, never silently dropped. The services decide who may do what
(PermissionDenied -> 403 in nexus.api) and refuse bad input with the reason
(ValidationError -> 400), changing nothing; a body of the wrong shape or an
unknown type, priority or role is a 422.

Files are not part of the JSON API's writes: attach them on the web page. Their
rows are listed with each update and downloaded through the endpoints below.
"""

from datetime import datetime
from typing import Annotated, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from accounts.api import Error, PersonRef, resolve_people
from accounts.models import User
from nexus.errors import error_text
from nexus.files import protected_file_response
from nexus.permissions import Action, Role, require
from nexus.schemas import Id, StorableDateTime
from updates import selectors, services
from updates.models import (
    MAX_COMMENT_LENGTH,
    MAX_CONTENT_LENGTH,
    MAX_TITLE_LENGTH,
    Priority,
    Update,
    UpdateAttachment,
    UpdateComment,
    UpdateMedia,
    UpdateType,
)

router = Router(tags=["updates"])

MAX_PAGE_SIZE = 100
TIME_NOTE = "An ISO 8601 date-time; without an offset it is read in the organization's time zone."
# The services name model fields; the API's callers know the body's names.
FIELD_NAMES = {"published_at": "publish_at", "target_users": "target_user_ids"}


# Schemas


class UpdateAttachmentOut(Schema):
    id: int
    filename: str
    size: int
    mime_type: str
    url: str = Field(description="The file, through this API (always a download).")

    @staticmethod
    def resolve_size(obj) -> int:
        return obj.file_size

    @staticmethod
    def resolve_url(obj) -> str:
        return reverse("api-v1:updates_attachment_file", args=[obj.update_id, obj.pk])


class MediaOut(Schema):
    id: int
    media_type: UpdateMedia.MediaType
    filename: str
    size: int
    mime_type: str
    caption: str
    url: str = Field(description="The image or video, through this API (shown inline).")
    thumbnail_url: str | None = Field(description="A small JPEG of an image; null for videos.")

    @staticmethod
    def resolve_size(obj) -> int:
        return obj.file_size

    @staticmethod
    def resolve_url(obj) -> str:
        return reverse("api-v1:updates_media_file", args=[obj.update_id, obj.pk])

    @staticmethod
    def resolve_thumbnail_url(obj) -> str | None:
        if not obj.thumbnail:
            return None
        return reverse("api-v1:updates_media_thumbnail", args=[obj.update_id, obj.pk])


class UpdateOut(Schema):
    id: int
    title: str
    content: str = Field(description="As written (light markdown).")
    html: str = Field(description="The content rendered and sanitized.")
    type: UpdateType
    priority: Priority
    state: Literal["draft", "scheduled", "published"]
    author: PersonRef | None = Field(description="Null for updates the system posted (shift reports).")
    published_at: datetime | None = Field(description="When it was published, or will be for a scheduled one.")
    edited_at: datetime | None = Field(description="The last edit after publishing.")
    created_at: datetime
    like_count: int
    comment_count: int
    liked: bool = Field(description="Whether the caller likes it.")
    needs_acknowledgement: bool = Field(description="Critical updates ask each recipient to acknowledge them.")
    is_recipient: bool = Field(description="Whether it was published to the caller (authors may not be in it).")
    acknowledged_at: datetime | None = Field(description="When the caller acknowledged it; null if not (yet).")
    attachments: list[UpdateAttachmentOut]
    media: list[MediaOut]

    @staticmethod
    def resolve_html(obj) -> str:
        return obj.content_html

    @staticmethod
    def resolve_author(obj) -> User | None:
        return obj.created_by

    @staticmethod
    def resolve_is_recipient(obj) -> bool:
        return obj.to_me

    @staticmethod
    def resolve_acknowledged_at(obj) -> datetime | None:
        return obj.my_acknowledged_at

    @staticmethod
    def resolve_attachments(obj) -> list[UpdateAttachment]:
        return list(obj.attachments.all())

    @staticmethod
    def resolve_media(obj) -> list[UpdateMedia]:
        return list(obj.media.all())


class FeedPage(Schema):
    items: list[UpdateOut] = Field(description="Newest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page; null on the last.")


class FeedQuery(Schema):
    type: UpdateType | None = Field(None, description=f"Only this type: {', '.join(UpdateType.values)}.")
    priority: Priority | None = Field(None, description=f"Only this priority: {', '.join(Priority.values)}.")
    cursor: str = Field("", description="The `next_cursor` of the previous page; empty for the newest.")
    limit: int = Field(selectors.FEED_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description=f"At most {MAX_PAGE_SIZE}.")


class ReplyOut(Schema):
    id: int
    author: PersonRef
    content: str
    html: str
    parent: int | None = Field(description="The top-level comment answered; null for a top-level comment.")
    created_at: datetime

    @staticmethod
    def resolve_html(obj) -> str:
        return obj.content_html

    @staticmethod
    def resolve_parent(obj) -> int | None:
        return obj.parent_id


class UpdateCommentOut(ReplyOut):
    replies: list[ReplyOut] = Field(description="Oldest first; a reply to a reply is filed under the top comment.")

    @staticmethod
    def resolve_replies(obj) -> list[UpdateComment]:
        return list(obj.replies.all()) if obj.parent_id is None else []


class AudienceOut(Schema):
    target_all: bool
    target_roles: list[Role]
    target_users: list[PersonRef]

    @staticmethod
    def resolve_target_users(obj) -> list[User]:
        return list(obj.target_users.all())


class AcknowledgedOut(Schema):
    person: PersonRef
    acknowledged_at: datetime

    @staticmethod
    def resolve_person(obj) -> User:
        return obj.user


class AcknowledgementsOut(Schema):
    acknowledged: int = Field(description="Recipients who acknowledged.")
    total: int = Field(description="Everyone it was published to.")
    acknowledged_people: list[AcknowledgedOut] = Field(description="In the order they acknowledged.")
    pending_people: list[PersonRef] = Field(description="By name.")


class UpdateDetail(UpdateOut):
    may_manage: bool = Field(description="Whether the caller may publish, remind and see acknowledgements.")
    comments: list[UpdateCommentOut] = Field(description="Top-level comments oldest first, each with its replies.")
    audience: AudienceOut | None = Field(description="Who it is for; null for those who may not manage it.")
    acknowledgements: AcknowledgementsOut | None = Field(
        description=(
            "Null for those who may not manage it. Only critical updates ask for acknowledgement; "
            "for others every recipient stays pending."
        )
    )

    @staticmethod
    def resolve_comments(obj) -> list[UpdateComment]:
        return obj.threads

    @staticmethod
    def resolve_audience(obj) -> Update | None:
        return obj if obj.may_manage else None

    @staticmethod
    def resolve_acknowledgements(obj) -> dict | None:
        return obj.acknowledgement_summary


class UpdateIn(Schema):
    title: str = Field(max_length=MAX_TITLE_LENGTH)
    content: str = Field("", max_length=MAX_CONTENT_LENGTH, description="Light markdown.")
    type: UpdateType = UpdateType.ANNOUNCEMENT
    priority: Priority = Field(Priority.MEDIUM, description="Critical updates ask their recipients to acknowledge.")
    target_all: bool | None = Field(
        None, description="Everyone in the organization. Left out, it is true unless roles or people are chosen."
    )
    target_roles: list[Role] = Field([], description="Roles it is for (with `target_all` false).")
    target_user_ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(
        [], description="Active people of the caller's organization it is for."
    )
    publish: bool = Field(False, description="Publish right away; otherwise it stays a draft or is scheduled.")
    publish_at: StorableDateTime | None = Field(None, description=f"Schedule it for this future time. {TIME_NOTE}")


class UpdatePatch(Schema):
    """Only the fields sent change. The audience can change only while the update is a draft or scheduled."""

    title: str = Field(None, max_length=MAX_TITLE_LENGTH)
    content: str = Field(None, max_length=MAX_CONTENT_LENGTH, description="Light markdown.")
    type: UpdateType = None
    priority: Priority = None
    target_all: bool = Field(None, description="Everyone in the organization; false with roles or people.")
    target_roles: list[Role] = Field(None, description="Roles it is for (with `target_all` false).")
    target_user_ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(
        None, description="Active people of the caller's organization it is for."
    )


AUDIENCE_FIELDS = ("target_all", "target_roles", "target_user_ids")


class UpdateCommentIn(Schema):
    content: str = Field(max_length=MAX_COMMENT_LENGTH)
    parent_id: Id | None = Field(None, description="A comment of this update to reply to.")


class LikeOut(Schema):
    liked: bool
    like_count: int


class AcknowledgementOut(Schema):
    acknowledged_at: datetime


class RemindedOut(Schema):
    reminded: int = Field(description="How many recipients who have not acknowledged were notified.")


# Helpers


def _get_update_for_user(request, update_id: int) -> Update:
    return selectors.get_update_for_user_or_404(user=request.user, pk=update_id)


def _get_file_for_user(request, model, update_id: int, file_id: int):
    update = _get_update_for_user(request, update_id)
    try:
        return model.objects.get(update=update, pk=file_id)
    except model.DoesNotExist:
        raise Http404("No such file.") from None


def _resolve_parent(update: Update, parent_id: int | None) -> UpdateComment | None:
    if parent_id is None:
        return None
    try:
        return selectors.get_comment_or_404(update=update, pk=parent_id)
    except Http404:
        raise ValidationError({"parent_id": f"Unknown comment {parent_id} on this update."}) from None


def _in_organization_time(request, value: datetime | None) -> datetime | None:
    """Read a time without an offset as the factory's wall-clock time, whichever way the caller logged in."""
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value, request.organization.tzinfo)
    return value


def _draft(request, payload: UpdateIn) -> services.Draft:
    """The body as the services take it; contradictions the services would quietly resolve are refused."""
    chosen = bool(payload.target_roles or payload.target_user_ids)
    if payload.target_all and chosen:
        raise ValidationError({"target_all": "An update to everyone takes no roles or people; send false to choose."})
    if payload.publish and payload.publish_at is not None:
        raise ValidationError({"publish_at": "Publish now or schedule it, not both."})
    return services.Draft(
        title=payload.title,
        content=payload.content,
        type=payload.type,
        priority=payload.priority,
        target_all=not chosen if payload.target_all is None else payload.target_all,
        target_roles=list(payload.target_roles),
        target_users=resolve_people(request, payload.target_user_ids, field="target_user_ids"),
    )


def _edited_draft(request, update: Update, payload: UpdatePatch) -> services.Draft:
    """The update as it is, with the fields the body sends changed (a null is a 422: the schema's types
    take none); an audience change that cannot happen is refused rather than dropped."""
    changes = payload.model_dump(exclude_unset=True)
    if not changes:
        raise ValidationError("Send at least one field to change.")
    audience = [name for name in AUDIENCE_FIELDS if name in changes]
    if audience and update.is_published:
        raise ValidationError({audience[0]: "A published update keeps the audience it was published to."})
    people = (
        resolve_people(request, changes["target_user_ids"], field="target_user_ids")
        if "target_user_ids" in changes
        else list(update.target_users.all())
    )
    roles = changes.get("target_roles", update.target_roles)
    if "target_all" in changes:
        target_all = changes["target_all"]
    elif audience:
        # Choosing roles or people narrows an update to everyone; an empty choice is refused by the service.
        target_all = False
    else:
        target_all = update.target_all
    if target_all and (changes.get("target_roles") or changes.get("target_user_ids")):
        raise ValidationError({"target_all": "An update to everyone takes no roles or people; send false to choose."})
    return services.Draft(
        title=changes.get("title", update.title),
        content=changes.get("content", update.content),
        type=changes.get("type", update.type),
        priority=changes.get("priority", update.priority),
        target_all=target_all,
        target_roles=[] if target_all else list(roles),
        target_users=[] if target_all else people,
    )


def _acknowledgement_summary(update: Update) -> dict:
    done, pending = selectors.acknowledgements(update)
    return {
        "acknowledged": len(done),
        "total": len(done) + len(pending),
        "acknowledged_people": done,
        "pending_people": [receipt.user for receipt in pending],
    }


def _detail(request, update_id: int) -> Update:
    """The update as the caller may see it, with its comments and, for those who manage it, its audience."""
    update = _get_update_for_user(request, update_id)
    update.may_manage = services.may_manage(request.user, update)
    update.threads = selectors.comments_of(update)
    update.acknowledgement_summary = _acknowledgement_summary(update) if update.may_manage else None
    return update


# The feed and drafts


@router.get(
    "/updates",
    response={200: FeedPage, 400: Error},
    summary="The caller's feed",
    description=(
        "Published updates for the caller (to everyone, their role or them, and their own), newest first, "
        "`limit` at a time. Follow `next_cursor` for older ones; an unknown cursor is a 400."
    ),
)
def list_updates(request, query: Query[FeedQuery]):
    filters = selectors.FeedFilters(type=query.type or "", priority=query.priority or "")
    try:
        page = selectors.feed(user=request.user, filters=filters, cursor=query.cursor, limit=query.limit)
    except Http404:
        raise ValidationError({"cursor": "Unknown cursor: pass the next_cursor of the previous page."}) from None
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get(
    "/updates/drafts",
    response=list[UpdateOut],
    summary="The caller's drafts",
    description="Drafts and scheduled updates the caller wrote; what is published next comes first.",
)
def list_drafts(request):
    return selectors.drafts_of(user=request.user)


@router.get(
    "/updates/{update_id}",
    response={200: UpdateDetail, 404: Error},
    summary="One update",
    description=(
        "With its comments. The author (and admins) also get its audience and who has and has not acknowledged. "
        "An update the caller may not see is a 404."
    ),
)
def get_update(request, update_id: int):
    return _detail(request, update_id)


# Writing and publishing


@router.post(
    "/updates",
    response={201: UpdateDetail, 400: Error, 403: Error},
    summary="Write an update",
    description=(
        "Managers and admins. A draft by default; `publish` sends it now, `publish_at` schedules it. "
        "Files cannot be attached through the JSON API: add them on the web page. Unknown people are a 400."
    ),
)
def create_update(request, payload: UpdateIn):
    require(request.user, Action.BROADCAST_UPDATE)
    draft = _draft(request, payload)
    try:
        update = services.create_update(
            author=request.user,
            draft=draft,
            publish=payload.publish,
            publish_at=_in_organization_time(request, payload.publish_at),
        )
    except ValidationError as error:
        return Status(400, {"detail": error_text(error, FIELD_NAMES)})
    return Status(201, _detail(request, update.pk))


@router.post(
    "/updates/{update_id}/publish",
    response={200: UpdateDetail, 400: Error, 403: Error, 404: Error},
    summary="Publish a draft or scheduled update now",
    description="Its author or an admin. The audience is fixed now: those targeted at this moment receive it.",
)
def publish_update(request, update_id: int):
    update = _get_update_for_user(request, update_id)
    services.publish_update(actor=request.user, update=update)
    return _detail(request, update_id)


@router.patch(
    "/updates/{update_id}",
    response={200: UpdateDetail, 400: Error, 403: Error, 404: Error},
    summary="Edit an update",
    description=(
        "Its author (while a manager or admin) or an admin it reaches, as on the edit page. Only the fields sent "
        "change, all or nothing. A published update gets an edit mark and keeps its audience: sending "
        "`target_all`, `target_roles` or `target_user_ids` for it is a 400. Files are added and removed on the "
        "web page. Others who see the update get a 403."
    ),
)
def edit_update(request, update_id: int, payload: UpdatePatch):
    update = _get_update_for_user(request, update_id)
    if not services.may_manage(request.user, update):
        raise PermissionDenied("Only the author or an administrator may edit this update.")
    draft = _edited_draft(request, update, payload)
    try:
        services.edit_update(actor=request.user, update=update, draft=draft)
    except ValidationError as error:
        return Status(400, {"detail": error_text(error, FIELD_NAMES)})
    return _detail(request, update_id)


@router.delete(
    "/updates/{update_id}",
    response={204: None, 403: Error, 404: Error},
    summary="Delete an update",
    description="Its author hides it from everyone (it is kept); an admin deletes it for good, with its files.",
)
def delete_update(request, update_id: int):
    update = _get_update_for_user(request, update_id)
    services.delete_update(actor=request.user, update=update)
    return Status(204, None)


# Reactions


@router.post(
    "/updates/{update_id}/comments",
    response={201: UpdateCommentOut, 400: Error, 404: Error},
    summary="Comment on an update",
    description=(
        "Anyone who sees a published update. With `parent_id` it is a reply; a reply to a reply is filed "
        "under the top-level comment."
    ),
)
def add_comment(request, update_id: int, payload: UpdateCommentIn):
    update = _get_update_for_user(request, update_id)
    parent = _resolve_parent(update, payload.parent_id)
    comment = services.add_comment(user=request.user, update=update, content=payload.content, parent=parent)
    return Status(201, comment)


@router.delete(
    "/updates/{update_id}/comments/{comment_id}",
    response={204: None, 400: Error, 403: Error, 404: Error},
    summary="Remove a comment",
    description=(
        "The comment's author, or whoever manages the update (its author, an admin), as on the page; its replies "
        "go with it. Anyone else is a 403; a comment of another update is a 404."
    ),
)
def delete_comment(request, update_id: int, comment_id: int):
    update = _get_update_for_user(request, update_id)
    comment = selectors.get_comment_or_404(update=update, pk=comment_id)
    services.delete_comment(actor=request.user, comment=comment)
    return Status(204, None)


@router.post(
    "/updates/{update_id}/like",
    response={200: LikeOut, 400: Error, 404: Error},
    summary="Like an update",
    description="Liking twice is a no-op.",
)
def like_update(request, update_id: int):
    update = _get_update_for_user(request, update_id)
    return {"liked": True, "like_count": services.set_like(user=request.user, update=update, liked=True)}


@router.delete(
    "/updates/{update_id}/like",
    response={200: LikeOut, 400: Error, 404: Error},
    summary="Take a like back",
    description="Unliking what the caller does not like is a no-op.",
)
def unlike_update(request, update_id: int):
    update = _get_update_for_user(request, update_id)
    return {"liked": False, "like_count": services.set_like(user=request.user, update=update, liked=False)}


@router.post(
    "/updates/{update_id}/acknowledge",
    response={200: AcknowledgementOut, 400: Error, 403: Error, 404: Error},
    summary="Acknowledge a critical update",
    description=(
        "Its recipients confirm they read it; acknowledging twice keeps the first time. Updates that are not "
        "critical are a 400; an author it was not published to gets a 403."
    ),
)
def acknowledge_update(request, update_id: int):
    update = _get_update_for_user(request, update_id)
    return services.acknowledge(user=request.user, update=update)


@router.post(
    "/updates/{update_id}/remind",
    response={200: RemindedOut, 400: Error, 403: Error, 404: Error},
    summary="Remind those who have not acknowledged",
    description=(
        f"Its author or an admin, for a critical update, at most every "
        f"{int(services.REMIND_EVERY.total_seconds() // 60)} minutes (sooner is a 400)."
    ),
)
def remind(request, update_id: int):
    update = _get_update_for_user(request, update_id)
    return {"reminded": services.remind(actor=request.user, update=update)}


# Files


@router.get(
    "/updates/{update_id}/attachments/{attachment_id}",
    response={200: None, 404: Error},
    url_name="updates_attachment_file",
    summary="An attached file",
    description="Always a download.",
)
def get_attachment(request, update_id: int, attachment_id: int):
    attachment = _get_file_for_user(request, UpdateAttachment, update_id, attachment_id)
    return protected_file_response(
        attachment.file, download_name=attachment.filename, content_type="application/octet-stream", inline=False
    )


@router.get(
    "/updates/{update_id}/media/{media_id}",
    response={200: None, 404: Error},
    url_name="updates_media_file",
    summary="An image or video of an update",
    description="Shown inline with its type, which was checked by content on upload.",
)
def get_media(request, update_id: int, media_id: int):
    media = _get_file_for_user(request, UpdateMedia, update_id, media_id)
    return protected_file_response(
        media.media_file, download_name=media.filename, content_type=media.mime_type, inline=True
    )


@router.get(
    "/updates/{update_id}/media/{media_id}/thumbnail",
    response={200: None, 404: Error},
    url_name="updates_media_thumbnail",
    summary="An image's thumbnail",
)
def get_media_thumbnail(request, update_id: int, media_id: int):
    media = _get_file_for_user(request, UpdateMedia, update_id, media_id)
    return protected_file_response(
        media.thumbnail, download_name="thumbnail.jpg", content_type="image/jpeg", inline=True
    )
