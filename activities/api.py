"""JSON API for activities (the work people coordinate), their threads and tags.

Handlers are thin: they resolve ids into objects of the caller's organization,
call one service or selector and shape the answer. An id of another
organization is a 404 in the path and a 400 naming it in a body, never
silently dropped. Role limits come from nexus.permissions and the services
(PermissionDenied -> 403 in nexus.api); where a body carries ids, the handler
asks for the role first, so a caller who may not act gets 403 whatever they
sent. The services' ValidationErrors become 400 with the reason.
"""

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja import Status as HttpStatus  # the name Status is the activity status here

from accounts.api import Error, PersonRef
from accounts.models import User
from activities import selectors, services
from activities.models import (
    ACTIVITY_DESCRIPTION_MAX_LENGTH,
    MAX_COMMENT_LENGTH,
    NOTE_MAX_LENGTH,
    TAG_DESCRIPTION_MAX_LENGTH,
    Activity,
    ActivityComment,
    ActivityType,
    Priority,
    Status,
    Tag,
)
from nexus.errors import error_text
from nexus.permissions import Action, require
from nexus.schemas import Id, StorableDateTime, rows_by_id
from nexus.tenancy import scoped

router = Router(tags=["activities"])

MAX_PAGE_SIZE = 200
TIME_NOTE = "An ISO 8601 date-time; without an offset it is read in the organization's time zone."


# Schemas


class TagRef(Schema):
    id: int
    name: str
    color: str


class ActivityOut(Schema):
    id: int
    title: str
    description: str
    type: ActivityType
    status: Status
    priority: Priority
    start_time: datetime
    end_time: datetime
    assigned_to: int | None = Field(description="The assignee's id; null while the activity is in the pool.")
    created_by: int | None = Field(description="The creator's id; null when the system opened it.")
    tags: list[TagRef]
    projects: list[int] = Field(description="Ids of the projects the activity belongs to.")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_assigned_to(obj) -> int | None:
        return obj.assigned_to_id

    @staticmethod
    def resolve_created_by(obj) -> int | None:
        return obj.created_by_id

    @staticmethod
    def resolve_tags(obj) -> list:
        return list(obj.tags.all())

    @staticmethod
    def resolve_projects(obj) -> list[int]:
        return [project.pk for project in obj.projects.all()]


class ActivityPage(Schema):
    count: int = Field(description="How many activities match the filters, on all pages.")
    items: list[ActivityOut]


class ActivityQuery(Schema):
    """The web list's filters, by the same names; repeat a parameter to choose several values."""

    q: str = Field("", max_length=200, description="Words in the title or description.")
    type: list[str] = Field([], description=f"Activity types: {', '.join(ActivityType.values)}.")
    status: list[str] = Field([], description=f"Statuses: {', '.join(Status.values)}.")
    priority: list[str] = Field([], description=f"Priorities: {', '.join(Priority.values)}.")
    tag: list[str] = Field([], description="Tag ids; an activity with any of them matches.")
    assignee: str = Field("", description="The assignee's user id.")
    project: str = Field("", description="A project id.")
    unclaimed: bool = Field(False, description="Only activities nobody has (the claimable pool).")
    mine: bool = Field(False, description="Only activities assigned to the caller.")
    open: bool = Field(False, description="Only planned, in-progress and overdue activities.")
    due_from: str = Field("", description="Due on or after this day (YYYY-MM-DD, the organization's time zone).")
    due_to: str = Field("", description="Due on or before this day (YYYY-MM-DD).")
    sort: str = Field(selectors.DEFAULT_SORT, description=f"Order: {', '.join(selectors.SORTS)}.")
    limit: int = Field(50, ge=1, le=MAX_PAGE_SIZE, description=f"Page size, at most {MAX_PAGE_SIZE}.")
    offset: int = Field(0, ge=0, description="How many matching activities to skip.")


class ActivityIn(Schema):
    title: str = Field(max_length=200)
    description: str = Field("", max_length=ACTIVITY_DESCRIPTION_MAX_LENGTH)
    type: ActivityType
    status: Status = Status.PLANNED
    priority: Priority = Priority.MEDIUM
    start_time: StorableDateTime = Field(description=TIME_NOTE)
    end_time: StorableDateTime = Field(description=TIME_NOTE)
    assigned_to: Id | None = Field(None, description="A member's id; leave it out to put the activity in the pool.")
    tags: list[Id] = Field([], description="Tag ids of the caller's organization.")
    projects: list[Id] = Field([], description="Project ids of the caller's organization.")


class ActivityPatch(Schema):
    """Only the fields sent are changed; `assigned_to: null` puts the activity back in the pool.

    Only `assigned_to` may be null (the schema says so): leave a field out to keep its value.
    """

    title: str = Field(None, max_length=200)
    description: str = Field(None, max_length=ACTIVITY_DESCRIPTION_MAX_LENGTH)
    type: ActivityType = None
    status: Status = None
    priority: Priority = None
    start_time: StorableDateTime = Field(None, description=TIME_NOTE)
    end_time: StorableDateTime = Field(None, description=TIME_NOTE)
    assigned_to: Id | None = Field(None, description="A member's id, or null for nobody.")
    tags: list[Id] = Field(None, description="The complete new set of tag ids.")
    projects: list[Id] = Field(None, description="The complete new set of project ids.")
    note: str = Field("", max_length=NOTE_MAX_LENGTH, description="Why: kept in the activity's thread and history.")


class StatusIn(Schema):
    status: Status
    notes: str = Field("", max_length=NOTE_MAX_LENGTH)


class PriorityIn(Schema):
    priority: Priority
    reason: str = Field("", max_length=NOTE_MAX_LENGTH)


class AssignIn(Schema):
    assigned_to: Id | None = Field(description="A member's id, or null to put the activity back in the pool.")
    note: str = Field("", max_length=NOTE_MAX_LENGTH)


class ActivityCommentIn(Schema):
    body: str = Field(max_length=MAX_COMMENT_LENGTH)


class ActivityCommentOut(Schema):
    id: int
    kind: ActivityComment.Kind
    author: PersonRef | None = Field(description="Null for entries the system wrote.")
    body: str
    data: dict = Field(description='The event\'s facts, e.g. {"from": "planned", "to": "in-progress"}.')
    created_at: datetime


class TagOut(Schema):
    id: int
    name: str
    description: str
    color: str
    category: str
    activity_count: int


class TagIn(Schema):
    name: str = Field(max_length=50)
    description: str = Field("", max_length=TAG_DESCRIPTION_MAX_LENGTH)
    color: str = Field("#3B82F6", description="# and six hex digits.")
    category: str = Field("", max_length=50)


class TagPatch(Schema):
    name: str = Field(None, max_length=50)
    description: str = Field(None, max_length=TAG_DESCRIPTION_MAX_LENGTH)
    color: str = Field(None, max_length=7)
    category: str = Field(None, max_length=50)


class FilterError(Error):
    errors: dict[str, str] = Field({}, description="Each bad parameter and what is wrong with it.")


class ClaimConflict(Error):
    claimed_by: PersonRef | None


# Helpers


def _get_activity_for_user(request, activity_id: int) -> Activity:
    return selectors.get_activity_or_404(user=request.user, pk=activity_id)


def _get_tag_for_user(request, tag_id: int) -> Tag:
    return selectors.get_tag_or_404(user=request.user, pk=tag_id)


def _project_model():
    # Projects sit above activities; reach them through the relation, never by import.
    return Activity.projects.rel.related_model


def _resolve_person(request, pk: int | None) -> User | None:
    if pk is None:
        return None
    person = scoped(User, request.organization).filter(pk=pk).first()
    if person is None:
        raise ValidationError({"assigned_to": f"Unknown person {pk}."})
    return person


def _in_organization_time(request, value: datetime) -> datetime:
    """Read a time without an offset as the factory's wall-clock time, whichever way the caller logged in."""
    if timezone.is_naive(value):
        return timezone.make_aware(value, request.organization.tzinfo)
    return value


def _resolve_changes(request, changes: dict) -> dict:
    """Turn the ids and times of a create or patch body into what the services take."""
    if "assigned_to" in changes:
        changes["assigned_to"] = _resolve_person(request, changes["assigned_to"])
    if "tags" in changes:
        changes["tags"] = rows_by_id(Tag, request.organization, changes["tags"], field="tags", noun="tag")
    if "projects" in changes:
        changes["projects"] = rows_by_id(
            _project_model(), request.organization, changes["projects"], field="projects", noun="project"
        )
    for name in ("start_time", "end_time"):
        if name in changes:
            changes[name] = _in_organization_time(request, changes[name])
    return changes


# Activities


@router.get(
    "/activities",
    response={200: ActivityPage, 400: FilterError},
    summary="List activities",
    description=(
        "The caller's organization's activities, filtered as on the web list, newest first by default. "
        "An unknown filter value is a 400 naming each bad parameter."
    ),
)
def list_activities(request, query: Query[ActivityQuery]):
    try:
        filters = selectors.ActivityFilters.from_query(request.GET)
    except ValidationError as error:
        reasons = {field: " ".join(messages) for field, messages in error.message_dict.items()}
        return HttpStatus(400, {"detail": error_text(error), "errors": reasons})
    # Day filters mean the factory's days: sessions and tokens both run in the organization's time zone.
    activities = selectors.activities_for(user=request.user, filters=filters)
    return {"count": activities.count(), "items": list(activities[query.offset : query.offset + query.limit])}


@router.get("/activities/{activity_id}", response=ActivityOut, summary="One activity")
def get_activity(request, activity_id: int):
    return _get_activity_for_user(request, activity_id)


@router.post(
    "/activities",
    response={201: ActivityOut, 400: Error, 403: Error},
    summary="Create an activity",
    description=(
        "Managers and admins create activities. Without `assigned_to` the activity is unassigned; "
        "a maintenance activity then waits in the claimable pool. Unknown ids are a 400."
    ),
)
def create_activity(request, payload: ActivityIn):
    require(request.user, Action.CREATE_ACTIVITY)
    fields = _resolve_changes(request, payload.model_dump())
    activity = services.create_activity(organization=request.organization, actor=request.user, **fields)
    return HttpStatus(201, _get_activity_for_user(request, activity.pk))


@router.patch(
    "/activities/{activity_id}",
    response={200: ActivityOut, 400: Error, 403: Error, 404: Error},
    summary="Edit an activity",
    description=(
        "Change only the fields sent, all or nothing. Status, priority and assignee changes leave the same "
        "history as their own endpoints; `note` says why."
    ),
)
def update_activity(request, activity_id: int, payload: ActivityPatch):
    activity = _get_activity_for_user(request, activity_id)
    if not services.may_edit(request.user, activity):
        raise PermissionDenied("Your role may not edit activities.")
    changes = payload.model_dump(exclude_unset=True)
    note = changes.pop("note", "")
    changes = _resolve_changes(request, changes)
    services.update_activity(actor=request.user, activity=activity, note=note, **changes)
    return _get_activity_for_user(request, activity_id)


@router.post(
    "/activities/{activity_id}/claim",
    response={200: ActivityOut, 400: Error, 403: Error, 404: Error, 409: ClaimConflict},
    summary="Claim a maintenance activity",
    description=(
        "Technicians (and managers) take an unassigned, open maintenance activity: it becomes theirs and in "
        "progress. Of concurrent claims one wins; the others get a 409 naming who has it. Claiming your own "
        "activity again is a no-op."
    ),
)
def claim_activity(request, activity_id: int):
    activity = _get_activity_for_user(request, activity_id)
    try:
        services.claim_activity(activity=activity, user=request.user)
    except services.AlreadyClaimed as conflict:
        return HttpStatus(409, {"detail": error_text(conflict), "claimed_by": conflict.claimed_by})
    return _get_activity_for_user(request, activity_id)


@router.post(
    "/activities/{activity_id}/status",
    response={200: ActivityOut, 400: Error, 403: Error, 404: Error},
    summary="Change an activity's status",
    description="Managers move any activity; the assignee moves their own. `notes` go into the history.",
)
def change_status(request, activity_id: int, payload: StatusIn):
    activity = _get_activity_for_user(request, activity_id)
    services.change_status(actor=request.user, activity=activity, status=payload.status, notes=payload.notes)
    return _get_activity_for_user(request, activity_id)


@router.post(
    "/activities/{activity_id}/priority",
    response={200: ActivityOut, 400: Error, 403: Error, 404: Error},
    summary="Change an activity's priority",
    description="Managers and admins only. `reason` goes into the history.",
)
def change_priority(request, activity_id: int, payload: PriorityIn):
    activity = _get_activity_for_user(request, activity_id)
    services.change_priority(actor=request.user, activity=activity, priority=payload.priority, reason=payload.reason)
    return _get_activity_for_user(request, activity_id)


@router.post(
    "/activities/{activity_id}/assign",
    response={200: ActivityOut, 400: Error, 403: Error, 404: Error},
    summary="Assign an activity, or put it back in the pool",
    description="Managers and admins only. `assigned_to: null` unassigns; the new assignee is notified.",
)
def assign_activity(request, activity_id: int, payload: AssignIn):
    activity = _get_activity_for_user(request, activity_id)
    require(request.user, Action.ASSIGN_WORK)
    assignee = _resolve_person(request, payload.assigned_to)
    services.assign_activity(actor=request.user, activity=activity, assignee=assignee, note=payload.note)
    return _get_activity_for_user(request, activity_id)


@router.get(
    "/activities/{activity_id}/comments",
    response=list[ActivityCommentOut],
    summary="An activity's thread",
    description="Comments and the events the system recorded (created, assigned, status, ...), oldest first.",
)
def list_comments(request, activity_id: int):
    activity = _get_activity_for_user(request, activity_id)
    return list(selectors.thread_of(activity=activity))


@router.post(
    "/activities/{activity_id}/comments",
    response={201: ActivityCommentOut, 400: Error, 404: Error},
    summary="Comment on an activity",
    description="Everyone in the organization may comment; the assignee and the creator are notified.",
)
def add_comment(request, activity_id: int, payload: ActivityCommentIn):
    activity = _get_activity_for_user(request, activity_id)
    comment = services.add_comment(author=request.user, activity=activity, body=payload.body)
    return HttpStatus(201, comment)


# Tags


@router.get(
    "/tags",
    response=list[TagOut],
    tags=["tags"],
    summary="List tags",
    description="The organization's tags by name, each with how many activities carry it.",
)
def list_tags(request):
    return list(selectors.tags_of(organization=request.organization))


@router.post(
    "/tags",
    response={201: TagOut, 400: Error, 403: Error},
    tags=["tags"],
    summary="Create a tag",
    description="Managers and admins only. Names are unique within the organization, ignoring case.",
)
def create_tag(request, payload: TagIn):
    tag = services.create_tag(actor=request.user, organization=request.organization, **payload.model_dump())
    return HttpStatus(201, selectors.tags_of(organization=request.organization).get(pk=tag.pk))


@router.patch(
    "/tags/{tag_id}",
    response={200: TagOut, 400: Error, 403: Error, 404: Error},
    tags=["tags"],
    summary="Edit a tag",
    description="Managers and admins only; only the fields sent are changed.",
)
def update_tag(request, tag_id: int, payload: TagPatch):
    tag = _get_tag_for_user(request, tag_id)
    services.update_tag(actor=request.user, tag=tag, **payload.model_dump(exclude_unset=True))
    return selectors.tags_of(organization=request.organization).get(pk=tag.pk)


@router.delete(
    "/tags/{tag_id}",
    response={204: None, 403: Error, 404: Error},
    tags=["tags"],
    summary="Delete a tag",
    description="Managers and admins only. The tag is removed from every activity that carried it.",
)
def delete_tag(request, tag_id: int):
    tag = _get_tag_for_user(request, tag_id)
    services.delete_tag(actor=request.user, tag=tag)
    return HttpStatus(204, None)
