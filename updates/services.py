"""State changes of updates: write, publish or schedule, edit, delete, comment, like, acknowledge, remind.

Each function is one action: it checks permission, validates, saves and
queues notifications and live events for after the commit. Views, the API, the
periodic job and higher apps (reports post shift reports through
`post_update`) call these; nothing else saves these models.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import Organization, User
from nexus import markdown
from nexus.images import encode, open_image, thumbnail
from nexus.notify import notify
from nexus.permissions import Action, Role, can, require
from nexus.realtime import organization_group, send_events_on_commit, text_event, topic_group, user_group
from nexus.text import clean_text
from nexus.uploads import check_upload, delete_files_on_commit, removing_files_on_failure
from updates.models import (
    MAX_CAPTION_LENGTH,
    MAX_COMMENT_LENGTH,
    MAX_CONTENT_LENGTH,
    MAX_TITLE_LENGTH,
    Priority,
    Update,
    UpdateAttachment,
    UpdateComment,
    UpdateLike,
    UpdateMedia,
    UpdateRecipient,
    UpdateType,
)

logger = logging.getLogger(__name__)

THUMBNAIL_SIZE = 640
# A reminder goes out at most this often per update, so nobody is paged in a loop.
REMIND_EVERY = timedelta(minutes=10)


@dataclass
class Draft:
    """What an author writes; `create_update` and `edit_update` take one."""

    title: str
    content: str = ""
    type: str = UpdateType.ANNOUNCEMENT
    priority: str = Priority.MEDIUM
    target_all: bool = True
    target_roles: list[str] = field(default_factory=list)
    target_users: list[User] = field(default_factory=list)


# Who may do what. The role part comes from nexus.permissions.


def may_manage(user: User, update: Update) -> bool:
    """The author (while still allowed to broadcast), and admins the update reaches, edit it, publish it and
    see its acknowledgements. An admin it was not sent to never sees it at all."""
    if update.organization_id != user.organization_id or not can(user, Action.BROADCAST_UPDATE):
        return False
    if update.created_by_id == user.pk:
        return True
    from updates.selectors import can_see

    return user.role == Role.ADMIN and can_see(user, update)


def _require_manage(user: User, update: Update) -> None:
    if not may_manage(user, update):
        raise PermissionDenied("Only the author or an administrator may do that to this update.")


def _require_visible(user: User, update: Update) -> None:
    """The caller found the update through a selector; this guards direct service calls."""
    from updates.selectors import can_see

    if not can_see(user, update):
        raise PermissionDenied("That update is not shown to you.")


# Validation


def _clean_fields(draft: Draft, names: tuple[str, ...], errors: dict) -> list[str]:
    """Each named text of the draft cleaned (`nexus.text.clean_text`); a refusal goes into `errors`, with ""."""
    values = []
    for name in names:
        try:
            values.append(clean_text(getattr(draft, name), name))
        except ValidationError as error:
            errors.update({key: messages[0] for key, messages in error.message_dict.items()})
            values.append("")
    return values


def _clean_draft(organization_id: int, draft: Draft, *, audience: bool = True) -> Draft:
    """The draft with its text trimmed, or ValidationError by field. `audience=False` leaves the targets unchecked
    (a published update keeps the audience it was published to)."""
    errors = {}
    title, content = _clean_fields(draft, ("title", "content"), errors)
    if "title" not in errors and not title:
        errors["title"] = "Give the update a title."
    elif "title" not in errors and len(title) > MAX_TITLE_LENGTH:
        errors["title"] = f"The title is too long: at most {MAX_TITLE_LENGTH} characters."
    if "content" not in errors and len(content) > MAX_CONTENT_LENGTH:
        errors["content"] = f"The text is too long: at most {MAX_CONTENT_LENGTH:,} characters."
    if draft.type not in UpdateType.values:
        errors["type"] = f"Unknown type {draft.type!r}."
    if draft.priority not in Priority.values:
        errors["priority"] = f"Unknown priority {draft.priority!r}."
    if not audience:
        if errors:
            raise ValidationError(errors)
        return Draft(title, content, draft.type, draft.priority, draft.target_all, draft.target_roles, [])
    roles = sorted(set(draft.target_roles or []))
    if any(role not in Role.values for role in roles):
        errors["target_roles"] = "Unknown role."
    people = list({person.pk: person for person in draft.target_users or []}.values())
    if any(person.organization_id != organization_id or not person.is_active for person in people):
        errors["target_users"] = "Choose active people of your organization."
    if not draft.target_all and not roles and not people:
        errors["target_all"] = "Choose who the update is for: everyone, some roles or some people."
    if errors:
        raise ValidationError(errors)
    return Draft(
        title=title,
        content=content,
        type=draft.type,
        priority=draft.priority,
        target_all=draft.target_all,
        target_roles=[] if draft.target_all else roles,
        target_users=[] if draft.target_all else people,
    )


def _check_when(when: datetime | None) -> None:
    if when is not None and when <= timezone.now():
        raise ValidationError({"published_at": "Choose a time in the future, or publish now."})


def _prepare_files(files: Iterable, media: Iterable[tuple]) -> tuple[list[UpdateAttachment], list[UpdateMedia]]:
    """Unsaved attachments and media for the uploads, or ValidationError naming the first bad one.

    `media` holds (upload, caption) pairs. Every file is checked before any is stored.
    """
    files, media = list(files or []), list(media or [])
    if len(files) + len(media) > settings.UPDATES_MAX_FILES:
        raise ValidationError(f"At most {settings.UPDATES_MAX_FILES} files per update.")
    attachments = []
    for upload in files:
        name, mime_type = check_upload(
            upload, allowed=settings.UPDATES_ATTACHMENT_TYPES, max_bytes=settings.UPDATES_MAX_FILE_BYTES
        )
        attachment = UpdateAttachment(filename=name, file_size=upload.size, mime_type=mime_type)
        attachment.upload = upload
        attachments.append(attachment)
    shown = []
    for upload, caption in media:
        caption = clean_text(caption, "caption")
        if len(caption) > MAX_CAPTION_LENGTH:
            raise ValidationError(f"A caption is too long: at most {MAX_CAPTION_LENGTH} characters.")
        name, mime_type = check_upload(
            upload, allowed=settings.UPDATES_MEDIA_TYPES, max_bytes=settings.UPDATES_MAX_VIDEO_BYTES
        )
        # Videos and sounds may be larger than other files; what a file is comes from its content, not its name.
        playable = mime_type.startswith(("video/", "audio/"))
        limit = settings.UPDATES_MAX_VIDEO_BYTES if playable else settings.UPDATES_MAX_FILE_BYTES
        if upload.size > limit:
            raise ValidationError(f"{name}: the file is too large (at most {limit // (1024 * 1024)} MB).")
        item = UpdateMedia(filename=name, file_size=upload.size, mime_type=mime_type, caption=caption)
        item.upload, item.thumbnail_content = upload, None
        if mime_type.startswith("image/"):
            try:
                image = open_image(upload, max_bytes=limit, max_pixels=settings.UPDATES_MAX_IMAGE_PIXELS)
            except ValidationError as error:
                raise ValidationError(f"{name}: {' '.join(error.messages)}") from None
            item.media_type = UpdateMedia.MediaType.IMAGE
            if mime_type != "image/gif":  # GIFs keep their frames; they carry no camera metadata.
                # Only the pixels are kept: no EXIF (a phone photo's GPS position), nothing else hidden.
                image_format = "JPEG" if mime_type == "image/jpeg" else "PNG"
                stem = name.rsplit(".", 1)[0] if "." in name else name
                item.filename = f"{stem}.{'jpg' if image_format == 'JPEG' else 'png'}"
                item.upload = encode(image, name=item.filename, image_format=image_format)
                item.mime_type, item.file_size = f"image/{image_format.lower()}", item.upload.size
            item.thumbnail_content = thumbnail(image, size=THUMBNAIL_SIZE)
        elif mime_type.startswith("audio/"):
            item.media_type = UpdateMedia.MediaType.AUDIO
        else:
            item.media_type = UpdateMedia.MediaType.VIDEO
        shown.append(item)
    return attachments, shown


def _save_files(update: Update, attachments: list[UpdateAttachment], media: list[UpdateMedia]) -> None:
    """Store the checked uploads (`_prepare_files`) under the update's organization, then their rows.

    Call inside the transaction; if it rolls back, the stored files are removed
    too (see `_removing_files_on_failure`).
    """
    for attachment in attachments:
        attachment.update = update
        attachment.upload.seek(0)
        attachment.file.save(attachment.filename, attachment.upload, save=False)
        attachment.save()
    for item in media:
        item.update = update
        item.upload.seek(0)
        item.media_file.save(item.filename, item.upload, save=False)
        if item.thumbnail_content is not None:
            item.thumbnail.save("thumb.jpg", item.thumbnail_content, save=False)
        item.save()


# Writing and publishing


def _files_of(attachments: Iterable[UpdateAttachment], media: Iterable[UpdateMedia]) -> list:
    return [a.file for a in attachments] + [f for m in media for f in (m.media_file, m.thumbnail)]


def _removing_files_on_failure(attachments: list[UpdateAttachment], media: list[UpdateMedia]):
    """Files are written to storage inside the transaction; a failure must not leave them behind."""
    return removing_files_on_failure(lambda: _files_of(attachments, media))


def _apply(update: Update, draft: Draft) -> None:
    update.title, update.content = draft.title, draft.content
    update.content_html = markdown.render(draft.content)
    update.type, update.priority = draft.type, draft.priority
    update.target_all, update.target_roles = draft.target_all, draft.target_roles


@transaction.atomic
def create_update(
    *,
    author: User,
    draft: Draft,
    files: Iterable = (),
    media: Iterable[tuple] = (),
    publish: bool = False,
    publish_at: datetime | None = None,
) -> Update:
    """A new update: a draft, published now (`publish`), or scheduled for `publish_at`."""
    require(author, Action.BROADCAST_UPDATE)
    draft = _clean_draft(author.organization_id, draft)
    if not publish:
        _check_when(publish_at)
    attachments, shown = _prepare_files(files, media)
    with _removing_files_on_failure(attachments, shown):
        update = Update(organization_id=author.organization_id, created_by=author)
        _apply(update, draft)
        update.save()
        update.target_users.set(draft.target_users)
        _save_files(update, attachments, shown)
        if publish:
            _publish(update)
        elif publish_at is not None:
            update.published_at = publish_at
            update.save(update_fields=["published_at", "updated_at"])
    return update


def post_update(
    *,
    organization: Organization,
    title: str,
    content: str = "",
    type: str = UpdateType.ANNOUNCEMENT,
    priority: str = Priority.MEDIUM,
    target_roles: Iterable[str] = (),
    target_users: Iterable[User] = (),
    files: Iterable = (),
) -> Update:
    """Publish an update from the system (no author) right away; how other apps (shift reports) post.

    With no roles and no people it goes to the whole organization.
    """
    roles, people = list(target_roles), list(target_users)
    draft = Draft(title, content, type, priority, not roles and not people, roles, people)
    with transaction.atomic():
        draft = _clean_draft(organization.pk, draft)
        attachments, shown = _prepare_files(files, ())
        with _removing_files_on_failure(attachments, shown):
            update = Update(organization=organization, created_by=None)
            _apply(update, draft)
            update.save()
            update.target_users.set(draft.target_users)
            _save_files(update, attachments, shown)
            _publish(update)
    return update


def _audience(update: Update) -> list[User]:
    """The active people targeted, less the author (who sees their own update anyway and acknowledges nothing)."""
    people = User.objects.filter(organization_id=update.organization_id, is_active=True)
    if not update.target_all:
        people = people.filter(Q(role__in=update.target_roles) | Q(pk__in=update.target_users.values("pk")))
    if update.created_by_id is not None:
        people = people.exclude(pk=update.created_by_id)
    return list(people.distinct())


def _publish(update: Update) -> None:
    """Fix the audience, stamp the time, and tell everyone in it (after the commit)."""
    audience = _audience(update)
    update.is_published = True
    update.published_at = timezone.now()
    update.save(update_fields=["is_published", "published_at", "updated_at"])
    UpdateRecipient.objects.bulk_create(
        [UpdateRecipient(update=update, user=person) for person in audience], ignore_conflicts=True
    )
    author = update.created_by
    who = author.display_name if author else "Nexus"
    ask = " Please acknowledge." if update.needs_acknowledgement else ""
    notify(
        recipients=audience,
        verb="published an update",
        actor=author,
        target=update,
        description=f"{who}: {update.title}.{ask}",
        level="warning" if update.priority in (Priority.HIGH, Priority.CRITICAL) else "info",
    )
    event = text_event({"type": "updates.published", "id": update.pk, "priority": update.priority})
    if update.target_all:
        send_events_on_commit([([organization_group(update.organization_id)], event)])
    else:
        send_events_on_commit([([user_group(person.pk) for person in audience], event)])


def _locked(update: Update) -> Update:
    return Update.objects.select_for_update(of=("self",)).select_related("created_by").get(pk=update.pk)


@transaction.atomic
def publish_update(*, actor: User, update: Update) -> Update:
    """Publish a draft or a scheduled update now."""
    update = _locked(update)
    _require_manage(actor, update)
    if update.is_deleted:
        raise ValidationError("A deleted update cannot be published.")
    if update.is_published:
        raise ValidationError("The update is already published.")
    _publish(update)
    return update


@transaction.atomic
def schedule_update(*, actor: User, update: Update, when: datetime | None) -> Update:
    """Publish a draft at `when` (a future time), or take it back to a draft with None."""
    update = _locked(update)
    _require_manage(actor, update)
    if update.is_published or update.is_deleted:
        raise ValidationError("Only drafts and scheduled updates can be scheduled.")
    _check_when(when)
    update.published_at = when
    update.save(update_fields=["published_at", "updated_at"])
    return update


def publish_due_updates(*, now: datetime | None = None) -> int:
    """Publish every scheduled update whose time has come, each exactly once; returns how many.

    Idempotent and safe to run twice at once: each update is re-read under its
    row lock and skipped when another run published it first.
    """
    now = now or timezone.now()
    due = Update.objects.filter(is_published=False, deleted_at__isnull=True, published_at__lte=now)
    published = 0
    for pk in list(due.values_list("pk", flat=True)):
        with transaction.atomic():
            update = _locked(Update(pk=pk))
            if update.is_published or update.is_deleted or update.published_at is None or update.published_at > now:
                continue
            author = update.created_by
            if author is not None and not can(author, Action.BROADCAST_UPDATE):
                # The author may no longer broadcast (another role, or gone): it goes back to being a draft.
                update.published_at = None
                update.save(update_fields=["published_at", "updated_at"])
                logger.warning("Update %s was not published: its author may no longer broadcast", update.pk)
                continue
            _publish(update)
            published += 1
    return published


@transaction.atomic
def edit_update(
    *,
    actor: User,
    update: Update,
    draft: Draft,
    files: Iterable = (),
    media: Iterable = (),
    remove_attachments: Iterable[int] = (),
    remove_media: Iterable[int] = (),
    then: str = "keep",
    publish_at: datetime | None = None,
) -> Update:
    """Change an update: its text, new files, and files taken off by id (ids of other updates are ignored).

    A published one keeps its audience and gets an edit mark. A draft or scheduled one can, in the same
    transaction, `then` be published ("publish"), scheduled for `publish_at` ("schedule") or made a plain
    draft again ("draft"); if that is refused, the edit is not kept either.
    """
    if then not in ("keep", "publish", "schedule", "draft"):
        raise ValueError(f"Unknown next step {then!r}.")
    update = _locked(update)
    _require_manage(actor, update)
    if update.is_deleted:
        raise ValidationError("A deleted update cannot be edited.")
    if update.is_published and then != "keep":
        raise ValidationError("The update is already published.")
    if then == "schedule":
        if publish_at is None:
            raise ValidationError({"published_at": "Choose when to publish it."})
        _check_when(publish_at)
    if update.is_published:
        # The audience was fixed when it was published; the targets stay as they were, and are not
        # checked again (someone chosen then may have left since).
        draft = replace(draft, target_all=update.target_all, target_roles=update.target_roles)
        draft = _clean_draft(update.organization_id, draft, audience=False)
        update.edited_at = timezone.now()
    else:
        draft = _clean_draft(update.organization_id, draft)
    attachments, shown = _prepare_files(files, media)
    dropped_attachments = list(update.attachments.filter(pk__in=list(remove_attachments)))
    dropped_media = list(update.media.filter(pk__in=list(remove_media)))
    kept = update.attachments.count() + update.media.count() - len(dropped_attachments) - len(dropped_media)
    if kept + len(attachments) + len(shown) > settings.UPDATES_MAX_FILES:
        raise ValidationError(f"At most {settings.UPDATES_MAX_FILES} files per update.")
    with _removing_files_on_failure(attachments, shown):
        _delete_stored_on_commit(dropped_attachments, dropped_media)
        for row in [*dropped_attachments, *dropped_media]:
            row.delete()
        _apply(update, draft)
        update.save()
        if not update.is_published:
            update.target_users.set(draft.target_users)
        _save_files(update, attachments, shown)
        if then == "publish":
            _publish(update)
            return update
        if then in ("schedule", "draft"):
            update.published_at = publish_at if then == "schedule" else None
            update.save(update_fields=["published_at", "updated_at"])
    if update.is_published:
        send_events_on_commit([(_groups_of(update), text_event({"type": "updates.changed", "id": update.pk}))])
    return update


def _groups_of(update: Update) -> list[str]:
    """The sockets a published update's events go to: its recipients' and its author's, never anyone else's."""
    if update.target_all:
        return [organization_group(update.organization_id)]
    people = set(update.recipients.values_list("user_id", flat=True)) | {update.created_by_id} - {None}
    return [user_group(pk) for pk in sorted(people)]


def _delete_stored_on_commit(attachments: Iterable[UpdateAttachment], media: Iterable[UpdateMedia]) -> None:
    """Remove these rows' files from storage once their deletion is committed."""
    delete_files_on_commit(_files_of(attachments, media))


@transaction.atomic
def delete_update(*, actor: User, update: Update) -> bool:
    """Soft-delete for the author (hidden from everyone, kept), hard delete for admins. True when hard."""
    update = _locked(update)
    if update.organization_id != actor.organization_id:
        raise PermissionDenied("That update is not of your organization.")
    _require_visible(actor, update)
    if actor.role == Role.ADMIN and can(actor, Action.BROADCAST_UPDATE):
        _delete_stored_on_commit(update.attachments.all(), update.media.all())
        update.delete()
        return True
    _require_manage(actor, update)
    if update.is_deleted:
        return False
    update.deleted_at = timezone.now()
    update.save(update_fields=["deleted_at", "updated_at"])
    return False


# Reactions to a published update


def _require_open(update: Update) -> None:
    if not update.is_published or update.is_deleted:
        raise ValidationError("The update is not published.")


@transaction.atomic
def add_comment(*, user: User, update: Update, content: str, parent: UpdateComment | None = None) -> UpdateComment:
    _require_visible(user, update)
    _require_open(update)
    content = clean_text(content, "content")
    if not content:
        raise ValidationError({"content": "Write something first."})
    if len(content) > MAX_COMMENT_LENGTH:
        raise ValidationError({"content": f"The comment is too long: at most {MAX_COMMENT_LENGTH:,} characters."})
    if parent is not None:
        if parent.update_id != update.pk:
            raise ValidationError({"parent": "Reply to a comment of this update."})
        parent = parent.parent or parent
    comment = UpdateComment.objects.create(
        update=update, author=user, parent=parent, content=content, content_html=markdown.render(content)
    )
    told = [update.created_by] if update.created_by else []
    if parent is not None:
        told.append(parent.author)
    notify(
        recipients=told,
        verb="commented on",
        actor=user,
        target=update,
        description=f"{user.display_name} commented on {update.title}: {content[:140]}",
    )
    send_events_on_commit(
        [(_groups_of(update), text_event({"type": "updates.comment", "id": update.pk, "comment": comment.pk}))]
    )
    return comment


@transaction.atomic
def delete_comment(*, actor: User, comment: UpdateComment) -> None:
    """The comment's author, or whoever manages the update, removes it (and its replies)."""
    update = comment.update
    _require_visible(actor, update)
    _require_open(update)
    if comment.author_id != actor.pk and not may_manage(actor, update):
        raise PermissionDenied("Only the comment's author or the update's author may remove it.")
    comment.delete()


@transaction.atomic
def set_like(*, user: User, update: Update, liked: bool) -> int:
    """Like or unlike; returns the update's like count after."""
    _require_visible(user, update)
    _require_open(update)
    if liked:
        UpdateLike.objects.get_or_create(update=update, user=user)
    else:
        UpdateLike.objects.filter(update=update, user=user).delete()
    return UpdateLike.objects.filter(update=update).count()


def acknowledgement_counts(update: Update) -> tuple[int, int]:
    """(acknowledged, recipients) of a published update."""
    receipts = UpdateRecipient.objects.filter(update=update)
    return receipts.exclude(acknowledged_at=None).count(), receipts.count()


def _managers_of(update: Update) -> list[User]:
    """Who may see the update's receipts (`may_manage`): its author and the administrators it reached."""
    admins = User.objects.filter(
        update_receipts__update=update, role=Role.ADMIN, is_active=True, organization_id=update.organization_id
    )
    people = {person.pk: person for person in admins}
    if update.created_by is not None:
        people[update.created_by_id] = update.created_by
    return [person for person in people.values() if may_manage(person, update)]


def _push_acknowledgements(update: Update) -> None:
    """Pages following the update (its receipts block, see `UPDATE_TOPIC`) get the count and both lists in one
    out-of-band fragment. Only those pages: any other page has no place for it.

    Its managers' sockets also hear `updates.acknowledged`, so that a receipts page whose subscription was
    not yet confirmed when this happened fetches itself once instead of missing it.
    """
    from updates.apps import UPDATE_TOPIC
    from updates.selectors import acknowledgements

    acknowledged, pending = acknowledgements(update)
    html = render_to_string(
        "updates/_ack_state.html",
        {
            "update": update,
            "acknowledged_receipts": acknowledged,
            "pending_receipts": pending,
            "total": len(acknowledged) + len(pending),
            "oob": True,
        },
    )
    managers = [user_group(person.pk) for person in _managers_of(update)]
    events = [([topic_group(UPDATE_TOPIC, update.pk)], {"type": "hub.fragment", "html": html})]
    if managers:
        events.append((managers, text_event({"type": "updates.acknowledged", "id": update.pk})))
    send_events_on_commit(events)


@transaction.atomic
def acknowledge(*, user: User, update: Update) -> UpdateRecipient:
    """The recipient read a critical update. Acknowledging twice changes nothing."""
    update = _locked(update)  # Deleted or unpublished meanwhile: refused.
    _require_open(update)
    if not update.needs_acknowledgement:
        raise ValidationError("This update does not ask for acknowledgement.")
    receipt = UpdateRecipient.objects.select_for_update().filter(update=update, user=user).first()
    if receipt is None:
        raise PermissionDenied("The update was not sent to you.")
    if receipt.acknowledged_at is None:
        receipt.acknowledged_at = timezone.now()
        receipt.save(update_fields=["acknowledged_at"])
        _push_acknowledgements(update)
    return receipt


@transaction.atomic
def remind(*, actor: User, update: Update) -> int:
    """Notify every recipient who has not acknowledged yet; returns how many were reminded."""
    update = _locked(update)
    _require_manage(actor, update)
    _require_open(update)
    if not update.needs_acknowledgement:
        raise ValidationError("Only critical updates ask for acknowledgement.")
    now = timezone.now()
    if update.reminded_at is not None and now - update.reminded_at < REMIND_EVERY:
        minutes = int(REMIND_EVERY.total_seconds() // 60)
        raise ValidationError(f"A reminder went out less than {minutes} minutes ago.", code="too_soon")
    pending = User.objects.filter(update_receipts__update=update, update_receipts__acknowledged_at=None, is_active=True)
    people = notify(
        recipients=list(pending),
        verb="reminds you to acknowledge",
        actor=actor,
        target=update,
        description=f"{actor.display_name} reminds you to acknowledge: {update.title}",
        level="warning",
    )
    update.reminded_at = now
    update.save(update_fields=["reminded_at", "updated_at"])
    return len(people)
