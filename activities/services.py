"""State changes of activities and tags.

Every function is one action: it checks permission, locks what it must,
validates, saves, records history (the seed's `ActivityStatus` /
`ActivityPriority` rows and a thread entry) and schedules notifications and live
updates for after the commit. Views, the API, commands and higher apps (machine
incidents) call these; nothing else saves these models.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import Organization, User
from activities.apps import ACTIVITY_TOPIC
from activities.models import (
    CLOSED_STATUSES,
    MAX_COMMENT_LENGTH,
    NOTE_MAX_LENGTH,
    Activity,
    ActivityComment,
    ActivityPriority,
    ActivityStatus,
    ActivityType,
    Priority,
    Status,
    Tag,
)
from nexus.notify import notify
from nexus.permissions import Action, can, require
from nexus.realtime import organization_group, send_event_now, topic_group
from nexus.storable import check_storable
from nexus.tenancy import check_same_organization
from nexus.text import clean_text

Kind = ActivityComment.Kind


class AlreadyClaimed(ValidationError):
    """Someone else claimed the activity first; `claimed_by` says who."""

    def __init__(self, claimed_by: User | None):
        self.claimed_by = claimed_by
        who = claimed_by.display_name if claimed_by is not None else "someone else"
        super().__init__(f"{who} already claimed this activity.", code="already_claimed")


# Who may do what to one activity. The role part comes from nexus.permissions.


def may_edit(user: User, activity: Activity) -> bool:
    return activity.organization_id == user.organization_id and can(user, Action.CREATE_ACTIVITY)


def may_change_status(user: User, activity: Activity) -> bool:
    """Managers move any activity; the assignee moves their own."""
    if activity.organization_id != user.organization_id or not can(user, Action.VIEW_ACTIVITIES):
        return False
    return can(user, Action.ASSIGN_WORK) or activity.assigned_to_id == user.pk


def may_change_priority(user: User, activity: Activity) -> bool:
    return activity.organization_id == user.organization_id and can(user, Action.ASSIGN_WORK)


def may_claim(user: User, activity: Activity) -> bool:
    return (
        activity.organization_id == user.organization_id
        and can(user, Action.CLAIM_MAINTENANCE)
        and activity.is_claimable
    )


# Validation helpers


def _check_same_organization(organization_id: int, *, assignee=None, tags=(), projects=()) -> None:
    check_same_organization(
        organization_id,
        active=["assigned_to"],
        assigned_to=(assignee, "Choose an active member of your organization."),
        tags=(tags, "Choose tags of your organization."),
        projects=(projects, "Choose projects of your organization."),
    )


def _check_choice(value: str, choices, field: str) -> None:
    if value not in choices.values:
        raise ValidationError({field: f"Unknown {field} {value!r}; choose one of {', '.join(choices.values)}."})


def _lock(activity: Activity) -> Activity:
    """Re-read the activity under a row lock; call inside a transaction.

    No select_related: rows joined to a row that waited for its lock come from the
    older snapshot on PostgreSQL, so a just-claimed activity would show no assignee.
    """
    return Activity.objects.select_for_update().get(pk=activity.pk)


# The thread and live updates


def _record(activity: Activity, kind: str, author: User | None, body: str = "", **data) -> ActivityComment:
    return ActivityComment.objects.create(
        organization_id=activity.organization_id, activity=activity, kind=kind, author=author, body=body, data=data
    )


def _publish(activity: Activity, entries: Iterable[ActivityComment] = ()) -> None:
    """After commit: append new thread entries for everyone viewing the activity, and tell lists it changed.

    Each entry is rendered once and sent to the activity's topic group, which
    only sockets of pages showing its thread join (see `activities.apps`), so no
    other page receives a fragment it has no target for. Lists, boards and the
    detail page's header refresh their own view on `activity.changed`, sent to
    the organization.
    """
    entry_ids = [entry.pk for entry in entries]
    activity_id, organization_id = activity.pk, activity.organization_id
    transaction.on_commit(lambda: broadcast_activity(activity_id, organization_id, entry_ids))


def broadcast_activity(activity_id: int, organization_id: int, entry_ids: list[int]) -> None:
    group = [organization_group(organization_id)]
    entries = []
    if entry_ids:
        entries = ActivityComment.objects.filter(pk__in=entry_ids).select_related("author", "activity__organization")
        entries = list(entries)
        if entries:
            with timezone.override(entries[0].activity.organization.tzinfo):
                html = render_to_string("activities/_thread_oob.html", {"activity_id": activity_id, "entries": entries})
            send_event_now([topic_group(ACTIVITY_TOPIC, activity_id)], {"type": "hub.fragment", "html": html})
    activity = Activity.objects.filter(pk=activity_id).values("status", "assigned_to_id", "priority").first()
    # A comment changes the thread only; pages leave what shows the activity itself (and the
    # forms someone may be filling in there) alone unless something else changed.
    only_comments = bool(entries) and all(entry.kind == Kind.COMMENT for entry in entries)
    payload = {
        "type": "activity.changed",
        "id": activity_id,
        "deleted": activity is None,
        "header": not only_comments,
    }
    if activity is not None:
        payload.update(status=activity["status"], priority=activity["priority"], assigned_to=activity["assigned_to_id"])
    send_event_now(group, {"type": "hub.json", "payload": payload})


# Activities


@transaction.atomic
def create_activity(
    *,
    organization: Organization,
    actor: User | None,
    title: str,
    type: str,
    start_time: datetime,
    end_time: datetime,
    description: str = "",
    status: str = Status.PLANNED,
    priority: str = Priority.MEDIUM,
    assigned_to: User | None = None,
    tags: Iterable[Tag] = (),
    projects: Iterable = (),
    notify_people: bool = True,
) -> Activity:
    """Create an activity. `actor=None` is the system (an incident), which needs no permission."""
    if actor is not None:
        require(actor, Action.CREATE_ACTIVITY)
        if actor.organization_id != organization.pk:
            raise PermissionDenied("You can only create activities in your own organization.")
    tags, projects = list(tags), list(projects)
    _check_same_organization(organization.pk, assignee=assigned_to, tags=tags, projects=projects)
    activity = Activity(
        organization=organization,
        title=(title or "").strip(),
        description=(description or "").strip(),
        type=type,
        status=status,
        priority=priority,
        start_time=start_time,
        end_time=end_time,
        assigned_to=assigned_to,
        created_by=actor,
    )
    _validate(activity)
    activity.save()
    activity.tags.set(tags)
    activity.projects.set(projects)
    ActivityStatus.objects.create(
        organization=organization, activity=activity, status=activity.status, changed_by=actor, notes="Created"
    )
    ActivityPriority.objects.create(
        organization=organization, activity=activity, priority=activity.priority, changed_by=actor, reason="Created"
    )
    entries = [_record(activity, Kind.CREATED, actor)]
    if assigned_to is not None:
        entries.append(_record(activity, Kind.ASSIGNED, actor, to=assigned_to.pk, to_name=assigned_to.display_name))
        if notify_people:
            notify(recipients=[assigned_to], actor=actor, verb="assigned you", target=activity, description=title)
    _publish(activity, entries)
    return activity


def _validate(activity: Activity) -> None:
    # Times the database can store (in UTC) before any comparison or constraint check uses them.
    check_storable(activity)
    if not activity.title:
        raise ValidationError({"title": "An activity needs a title."})
    _check_choice(activity.type, ActivityType, "type")
    _check_choice(activity.status, Status, "status")
    _check_choice(activity.priority, Priority, "priority")
    if activity.start_time and activity.end_time and activity.end_time < activity.start_time:
        raise ValidationError({"end_time": "The end time must not be before the start time."})
    activity.full_clean(exclude=["organization", "assigned_to", "created_by", "tags"])


EDITABLE_FIELDS = {"title", "description", "type", "start_time", "end_time"}


@transaction.atomic
def update_activity(
    *,
    actor: User,
    activity: Activity,
    note: str = "",
    tags: Iterable[Tag] | None = None,
    projects: Iterable | None = None,
    **fields,
) -> Activity:
    """Edit an activity's fields. Status, priority and assignee changes go through their own
    actions, so they leave the same history whichever screen made them.
    """
    if not may_edit(actor, activity):
        raise PermissionDenied("Your role may not edit activities.")
    note = clean_text(note, "note", max_length=NOTE_MAX_LENGTH)
    status = fields.pop("status", None)
    priority = fields.pop("priority", None)
    has_assignee = "assigned_to" in fields
    assignee = fields.pop("assigned_to", None)
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    tags = list(tags) if tags is not None else None
    projects = list(projects) if projects is not None else None
    _check_same_organization(
        activity.organization_id, assignee=assignee if has_assignee else None, tags=tags or (), projects=projects or ()
    )
    activity = _lock(activity)
    changed = []
    for name, value in fields.items():
        if isinstance(value, str):
            value = value.strip()
        if getattr(activity, name) != value:
            setattr(activity, name, value)
            changed.append(name)
    if "end_time" in changed:
        # A new deadline may pass again; the overdue job should see it afresh.
        activity.overdue_marked_at = None
    _validate(activity)
    if changed:
        activity.save()
    if tags is not None and {t.pk for t in tags} != set(activity.tags.values_list("pk", flat=True)):
        activity.tags.set(tags)
        changed.append("tags")
    if projects is not None and {p.pk for p in projects} != set(activity.projects.values_list("pk", flat=True)):
        activity.projects.set(projects)
        changed.append("projects")
    entries = []
    if changed:
        entries.append(_record(activity, Kind.EDITED, actor, note.strip(), fields=changed))
    if status is not None and status != activity.status:
        activity, entry = _set_status(actor=actor, activity=activity, status=status, notes=note)
        entries.append(entry)
    if priority is not None and priority != activity.priority:
        activity, entry = _set_priority(actor=actor, activity=activity, priority=priority, reason=note)
        entries.append(entry)
    if has_assignee and assignee != activity.assigned_to:
        activity, entry = _set_assignee(actor=actor, activity=activity, assignee=assignee, note=note)
        entries.append(entry)
    _publish(activity, entries)
    return activity


@dataclass(frozen=True)
class _Tracked:
    """A field whose every change leaves a history row, a thread entry and a note to the assignee."""

    field: str
    choices: type
    history: type  # ActivityStatus or ActivityPriority: (activity, <field>, changed_by, <note_field>)
    note_field: str
    kind: str
    verb: str  # "{new}" is the new value's label
    description: str  # "{title}", "{old}" and "{new}" are filled in


_STATUS = _Tracked("status", Status, ActivityStatus, "notes", Kind.STATUS, "moved to {new}", "{title}: {old} → {new}")
_PRIORITY = _Tracked(
    "priority",
    Priority,
    ActivityPriority,
    "reason",
    Kind.PRIORITY,
    "changed the priority to {new}",
    "{title}: priority {old} → {new}",
)


def _set_tracked(tracked: _Tracked, *, actor: User | None, activity: Activity, value: str, note: str = ""):
    """Write the field, its history row and thread entry; the caller holds the row lock."""
    _check_choice(value, tracked.choices, tracked.field)
    previous = getattr(activity, tracked.field)
    setattr(activity, tracked.field, value)
    activity.save(update_fields=[tracked.field, "updated_at"])
    note = note.strip()
    tracked.history.objects.create(
        organization_id=activity.organization_id,
        activity=activity,
        changed_by=actor,
        **{tracked.field: value, tracked.note_field: note},
    )
    entry = _record(activity, tracked.kind, actor, note, **{"from": previous, "to": value})
    old, new = tracked.choices(previous).label, tracked.choices(value).label
    notify(
        recipients=[activity.assigned_to],
        actor=actor,
        verb=tracked.verb.format(new=new),
        target=activity,
        description=tracked.description.format(title=activity.title, old=old, new=new),
    )
    return activity, entry


def _set_status(*, actor: User | None, activity: Activity, status: str, notes: str = ""):
    return _set_tracked(_STATUS, actor=actor, activity=activity, value=status, note=notes)


def _set_priority(*, actor: User | None, activity: Activity, priority: str, reason: str = ""):
    return _set_tracked(_PRIORITY, actor=actor, activity=activity, value=priority, note=reason)


def _set_assignee(*, actor: User | None, activity: Activity, assignee: User | None, note: str = ""):
    activity.assigned_to = assignee
    activity.save(update_fields=["assigned_to", "updated_at"])
    if assignee is None:
        entry = _record(activity, Kind.ASSIGNED, actor, note.strip(), to=None, to_name="")
    else:
        entry = _record(activity, Kind.ASSIGNED, actor, note.strip(), to=assignee.pk, to_name=assignee.display_name)
        notify(recipients=[assignee], actor=actor, verb="assigned you", target=activity, description=activity.title)
    return activity, entry


@transaction.atomic
def change_status(*, actor: User, activity: Activity, status: str, notes: str = "") -> Activity:
    if not may_change_status(actor, activity):
        raise PermissionDenied("Only a manager or the assignee may change this activity's status.")
    _check_choice(status, Status, "status")
    notes = clean_text(notes, "notes", max_length=NOTE_MAX_LENGTH)
    activity = _lock(activity)
    if activity.status == status:
        return activity
    activity, entry = _set_status(actor=actor, activity=activity, status=status, notes=notes)
    _publish(activity, [entry])
    return activity


@transaction.atomic
def change_priority(*, actor: User, activity: Activity, priority: str, reason: str = "") -> Activity:
    if not may_change_priority(actor, activity):
        raise PermissionDenied("Your role may not change priorities.")
    _check_choice(priority, Priority, "priority")
    reason = clean_text(reason, "reason", max_length=NOTE_MAX_LENGTH)
    activity = _lock(activity)
    if activity.priority == priority:
        return activity
    activity, entry = _set_priority(actor=actor, activity=activity, priority=priority, reason=reason)
    _publish(activity, [entry])
    return activity


@transaction.atomic
def assign_activity(*, actor: User, activity: Activity, assignee: User | None, note: str = "") -> Activity:
    """Give the activity to `assignee`, or put it back in the pool with None."""
    require(actor, Action.ASSIGN_WORK)
    if activity.organization_id != actor.organization_id:
        raise PermissionDenied("That activity is not of your organization.")
    _check_same_organization(activity.organization_id, assignee=assignee)
    note = clean_text(note, "note", max_length=NOTE_MAX_LENGTH)
    activity = _lock(activity)
    if activity.assigned_to_id == (assignee.pk if assignee else None):
        return activity
    activity, entry = _set_assignee(actor=actor, activity=activity, assignee=assignee, note=note)
    _publish(activity, [entry])
    return activity


def claim_activity(*, activity: Activity, user: User) -> Activity:
    """Claim an unassigned maintenance activity: it becomes the user's and in progress.

    Atomic: the row is locked, so of concurrent claims exactly one wins and the
    others get `AlreadyClaimed` naming the winner. Claiming acknowledges the work
    (it stops an incident's escalation) and tells the creator.
    """
    require(user, Action.CLAIM_MAINTENANCE)
    if activity.organization_id != user.organization_id:
        raise PermissionDenied("That activity is not of your organization.")
    with transaction.atomic():
        activity = _lock(activity)
        if activity.type != ActivityType.MAINTENANCE:
            raise ValidationError("Only maintenance activities are claimed; ask a manager to assign this one.")
        if activity.assigned_to_id is not None:
            if activity.assigned_to_id == user.pk:
                return activity
            raise AlreadyClaimed(activity.assigned_to)
        if activity.status in CLOSED_STATUSES:
            raise ValidationError(f"This activity is {activity.get_status_display().lower()}; it cannot be claimed.")
        previous = activity.status
        activity.assigned_to = user
        activity.status = Status.IN_PROGRESS
        activity.save(update_fields=["assigned_to", "status", "updated_at"])
        ActivityStatus.objects.create(
            organization_id=activity.organization_id,
            activity=activity,
            status=Status.IN_PROGRESS,
            changed_by=user,
            notes="Claimed",
        )
        entry = _record(activity, Kind.CLAIMED, user, **{"from": previous, "to": Status.IN_PROGRESS})
        notify(
            recipients=[activity.created_by],
            actor=user,
            verb="claimed",
            target=activity,
            description=f"{user.display_name} claimed {activity.title}",
        )
        _publish(activity, [entry])
    return activity


@transaction.atomic
def add_comment(*, author: User, activity: Activity, body: str) -> ActivityComment:
    require(author, Action.VIEW_ACTIVITIES)
    if activity.organization_id != author.organization_id:
        raise PermissionDenied("That activity is not of your organization.")
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "Write something first."})
    if len(body) > MAX_COMMENT_LENGTH:
        raise ValidationError({"body": f"A comment may be at most {MAX_COMMENT_LENGTH} characters."})
    comment = _record(activity, Kind.COMMENT, author, body)
    Activity.objects.filter(pk=activity.pk).update(updated_at=timezone.now())
    notify(
        recipients=[activity.assigned_to, activity.created_by],
        actor=author,
        verb="commented on",
        target=activity,
        description=f"{author.display_name} on {activity.title}: {body[:120]}",
    )
    _publish(activity, [comment])
    return comment


@transaction.atomic
def add_system_note(*, activity: Activity, body: str) -> ActivityComment:
    """A line from the system in the activity's thread (an incident that happened again); notifies nobody."""
    entry = _record(activity, Kind.COMMENT, None, (body or "").strip()[:MAX_COMMENT_LENGTH])
    Activity.objects.filter(pk=activity.pk).update(updated_at=timezone.now())
    _publish(activity, [entry])
    return entry


@transaction.atomic
def close_for_system(*, activity: Activity, notes: str, status: str = Status.COMPLETED) -> Activity:
    """Close an open activity because what it was for is over: completed (its fault was resolved) or cancelled
    (its machine is gone); no permission."""
    if status not in CLOSED_STATUSES:
        raise ValueError(f"{status!r} does not close an activity.")
    activity = _lock(activity)
    if activity.status in CLOSED_STATUSES:
        return activity
    activity, entry = _set_status(actor=None, activity=activity, status=status, notes=notes)
    _publish(activity, [entry])
    return activity


def mark_overdue_activities(*, now: datetime | None = None) -> int:
    """Mark open activities whose end time has passed as overdue, once per end time.

    Idempotent: a marked activity keeps `overdue_marked_at` until its end time
    changes, so running again (or twice at once) marks and notifies nobody twice.
    Returns how many were marked.
    """
    now = now or timezone.now()
    candidates = Activity.objects.filter(
        end_time__lt=now, status__in=[Status.PLANNED, Status.IN_PROGRESS], overdue_marked_at__isnull=True
    ).values_list("pk", flat=True)
    marked = 0
    for pk in list(candidates.iterator()):
        with transaction.atomic():
            activity = _lock(Activity(pk=pk))
            if activity.overdue_marked_at is not None or activity.status not in (Status.PLANNED, Status.IN_PROGRESS):
                continue
            activity.overdue_marked_at = now
            activity.save(update_fields=["overdue_marked_at"])
            activity, entry = _set_status(
                actor=None, activity=activity, status=Status.OVERDUE, notes="The end time passed."
            )
            if activity.assigned_to is None:
                notify(
                    recipients=[activity.created_by],
                    verb="is overdue and unassigned",
                    target=activity,
                    description=f"{activity.title} is overdue and nobody has it",
                    level="warning",
                )
            _publish(activity, [entry])
            marked += 1
    return marked


# Tags


def _tag_name_taken(organization_id: int, name: str, exclude_pk=None) -> bool:
    queryset = Tag.objects.filter(organization_id=organization_id, name__iexact=name)
    if exclude_pk is not None:
        queryset = queryset.exclude(pk=exclude_pk)
    return queryset.exists()


def _save_tag(tag: Tag) -> Tag:
    tag.name = (tag.name or "").strip()
    tag.color = (tag.color or "").strip().upper()
    if not tag.name:
        raise ValidationError({"name": "A tag needs a name."})
    if _tag_name_taken(tag.organization_id, tag.name, exclude_pk=tag.pk):
        raise ValidationError({"name": f"There is already a tag named “{tag.name}”."})
    tag.full_clean(exclude=["organization"], validate_constraints=False)
    try:
        with transaction.atomic():
            tag.save()
    except IntegrityError:
        raise ValidationError({"name": f"There is already a tag named “{tag.name}”."}) from None
    return tag


def create_tag(
    *,
    actor: User | None,
    organization: Organization,
    name: str,
    description: str = "",
    color: str = "#3B82F6",
    category: str = "",
) -> Tag:
    if actor is not None:
        require(actor, Action.MANAGE_TAGS)
        if actor.organization_id != organization.pk:
            raise PermissionDenied("You can only create tags in your own organization.")
    tag = Tag(organization=organization, name=name, description=description, color=color, category=category)
    return _save_tag(tag)


def update_tag(*, actor: User, tag: Tag, **fields) -> Tag:
    require(actor, Action.MANAGE_TAGS)
    if tag.organization_id != actor.organization_id:
        raise PermissionDenied("That tag is not of your organization.")
    unknown = set(fields) - {"name", "description", "color", "category"}
    if unknown:
        raise ValidationError(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    for name, value in fields.items():
        setattr(tag, name, value)
    return _save_tag(tag)


@transaction.atomic
def delete_tag(*, actor: User, tag: Tag) -> None:
    require(actor, Action.MANAGE_TAGS)
    if tag.organization_id != actor.organization_id:
        raise PermissionDenied("That tag is not of your organization.")
    tag.delete()
