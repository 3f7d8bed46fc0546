"""JSON API for projects: their team, their activities and their progress.

Handlers are thin: they resolve ids into objects of the caller's organization,
call one service or selector and shape the answer. A project id of another
organization is a 404; a person or activity id in a body that is not of the
caller's organization is a 400 naming it, whether it exists elsewhere or not.
Role limits come from the services (PermissionDenied -> 403 in nexus.api).
"""

from datetime import date

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status

from accounts.api import resolve_people
from activities.models import Activity
from nexus.errors import error_text
from nexus.permissions import Action, require
from nexus.schemas import Id, rows_by_id
from projects import selectors, services
from projects.models import DESCRIPTION_MAX_LENGTH, Project, ProjectStatus

router = Router(tags=["projects"])

# The services' field names and the API's, where they differ.
API_FIELD_NAMES = {"manager": "manager_id", "team_members": "team_member_ids", "activities": "activity_ids"}


# Schemas


class ProjectOut(Schema):
    id: int
    name: str
    description: str
    status: ProjectStatus
    start_date: date
    end_date: date
    manager_id: int
    team_member_ids: list[int]
    activity_ids: list[int]
    activity_count: int = Field(description="How many activities the project has.")
    completed_count: int = Field(description="How many of them are completed.")
    overdue_count: int = Field(description="How many are overdue, or still open after their end time.")
    progress: int = Field(description="Percent of the activities completed, rounded down; 0 without activities.")

    @staticmethod
    def resolve_team_member_ids(obj) -> list[int]:
        return [member.pk for member in obj.team_members.all()]

    @staticmethod
    def resolve_activity_ids(obj) -> list[int]:
        return [activity.pk for activity in obj.activities.all()]


class ProjectQuery(Schema):
    status: ProjectStatus | None = Field(None, description=f"One of {', '.join(ProjectStatus.values)}.")
    q: str = Field("", max_length=200, description="Words in the name or description.")


class ProjectIn(Schema):
    name: str = Field(max_length=200)
    description: str = Field("", max_length=DESCRIPTION_MAX_LENGTH)
    status: ProjectStatus = ProjectStatus.PLANNING
    start_date: date
    end_date: date = Field(description="On or after `start_date`.")
    manager_id: Id | None = Field(None, description="An active member's id; the caller when left out.")
    team_member_ids: list[Id] = Field([], description="Members' ids; they are notified.")
    activity_ids: list[Id] = Field([], description="Activity ids of the caller's organization.")


class ProjectPatch(Schema):
    """Only the fields sent change; lists replace the current team or activities."""

    name: str = Field(None, max_length=200)
    description: str = Field(None, max_length=DESCRIPTION_MAX_LENGTH)
    status: ProjectStatus = None
    start_date: date = None
    end_date: date = None
    manager_id: Id = None
    team_member_ids: list[Id] = Field(None, description="The complete new team.")
    activity_ids: list[Id] = Field(None, description="The complete new set of activities.")


class Error(Schema):
    detail: str


# Helpers


def _error_detail(error: ValidationError) -> str:
    return error_text(error, API_FIELD_NAMES)


def _with_activity_ids(queryset: QuerySet[Project]) -> QuerySet[Project]:
    return queryset.prefetch_related(Prefetch("activities", queryset=Activity.objects.only("id").order_by("id")))


def _get_project_for_user(request, project_id: int) -> Project:
    """The project with its counts and activity ids, if it is of the caller's organization; a 404 otherwise."""
    return get_object_or_404(_with_activity_ids(selectors.projects_for(user=request.user)), pk=project_id)


def _resolve_changes(request, changes: dict) -> dict:
    """Turn the ids of a create or patch body into the objects the services take."""
    if "manager_id" in changes:
        changes["manager"] = resolve_people(request, [changes.pop("manager_id")], field="manager_id")[0]
    if "team_member_ids" in changes:
        changes["team_members"] = resolve_people(request, changes.pop("team_member_ids"), field="team_member_ids")
    if "activity_ids" in changes:
        changes["activities"] = rows_by_id(
            Activity,
            request.organization,
            changes.pop("activity_ids"),
            field="activity_ids",
            noun="activity",
            plural="activities",
        )
    return changes


# Projects


@router.get("/projects", response=list[ProjectOut], summary="List projects")
def list_projects(request, query: Query[ProjectQuery]):
    """The caller's organization's projects, newest first, with their progress."""
    require(request.user, Action.VIEW_ACTIVITIES)
    return list(_with_activity_ids(selectors.projects_for(user=request.user, status=query.status, q=query.q)))


@router.get("/projects/{project_id}", response=ProjectOut, summary="One project")
def get_project(request, project_id: int):
    require(request.user, Action.VIEW_ACTIVITIES)
    return _get_project_for_user(request, project_id)


@router.post(
    "/projects",
    response={201: ProjectOut, 400: Error, 403: Error},
    summary="Create a project",
    description="Managers and admins create projects. Unknown ids are a 400; new team members are notified.",
)
def create_project(request, payload: ProjectIn):
    require(request.user, Action.CREATE_PROJECT)
    fields = payload.model_dump()
    if fields["manager_id"] is None:
        fields["manager_id"] = request.user.pk
    try:
        project = services.create_project(actor=request.user, **_resolve_changes(request, fields))
    except ValidationError as error:
        return Status(400, {"detail": _error_detail(error)})
    return Status(201, _get_project_for_user(request, project.pk))


@router.patch(
    "/projects/{project_id}",
    response={200: ProjectOut, 400: Error, 403: Error, 404: Error},
    summary="Edit a project",
    description="Change only the fields sent, all or nothing. Newly added team members are notified.",
)
def update_project(request, project_id: int, payload: ProjectPatch):
    project = _get_project_for_user(request, project_id)
    require(request.user, Action.CREATE_PROJECT)
    try:
        changes = _resolve_changes(request, payload.model_dump(exclude_unset=True))
        services.update_project(actor=request.user, project=project, **changes)
    except ValidationError as error:
        return Status(400, {"detail": _error_detail(error)})
    return _get_project_for_user(request, project_id)
