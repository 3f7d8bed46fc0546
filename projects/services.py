"""State changes of projects.

Every function is one action: it checks permission, locks what it must,
validates, saves, and schedules notifications and live updates for after the
commit. Views, the API and commands call these; nothing else saves a Project.
"""

from collections.abc import Iterable
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.models import User
from activities.models import Activity
from nexus.notify import notify
from nexus.permissions import Action, require
from nexus.realtime import organization_group, send_event_on_commit
from nexus.tenancy import check_same_organization
from projects.models import Project, ProjectStatus

EDITABLE_FIELDS = {"name", "description", "status", "start_date", "end_date", "manager"}


# Validation helpers


def _check_same_organization(
    organization_id: int,
    *,
    manager: User | None = None,
    team_members: Iterable[User] = (),
    activities: Iterable[Activity] = (),
) -> None:
    check_same_organization(
        organization_id,
        active=["manager"],
        manager=(manager, "Choose an active member of your organization as the manager."),
        team_members=(team_members, "Choose team members of your organization."),
        activities=(activities, "Choose activities of your organization."),
    )


def _check_newcomers_active(team_members: Iterable[User], already_on_team: Iterable[int] = ()) -> None:
    """People join a team only while active; someone deactivated later may stay on it."""
    already_on_team = set(already_on_team)
    inactive = [m.display_name for m in team_members if not m.is_active and m.pk not in already_on_team]
    if inactive:
        raise ValidationError({"team_members": f"These people are deactivated: {', '.join(inactive)}."})


def _validate(project: Project) -> None:
    """Raise one ValidationError naming every bad field, or return."""
    errors: dict[str, list[str]] = {}
    project.name = (project.name or "").strip()
    project.description = (project.description or "").strip()
    if not project.name:
        errors["name"] = ["A project needs a name."]
    if project.manager_id is None:
        errors["manager"] = ["A project needs a manager."]
    if project.status not in ProjectStatus.values:
        errors["status"] = [f"Unknown status {project.status!r}; choose one of {', '.join(ProjectStatus.values)}."]
    try:
        # The manager and organization were checked above; the dates' order is checked below
        # with a message that names the field, rather than the constraint's generic one.
        project.full_clean(exclude=["organization", "manager", *errors], validate_constraints=False)
    except ValidationError as error:
        error.update_error_dict(errors)
    start, end = project.start_date, project.end_date
    if isinstance(start, date) and isinstance(end, date) and end < start and "end_date" not in errors:
        errors["end_date"] = ["The end date must not be before the start date."]
    if errors:
        raise ValidationError(errors)


def _lock(project: Project) -> Project:
    """Re-read the project under a row lock; call inside a transaction."""
    return Project.objects.select_for_update().select_related("manager").get(pk=project.pk)


# Side effects


def _publish(project: Project) -> None:
    """After commit: tell the organization's open pages that this project changed."""
    send_event_on_commit(
        [organization_group(project.organization_id)],
        {"type": "hub.json", "payload": {"type": "project.changed", "id": project.pk, "status": project.status}},
    )


def _notify_team(*, actor: User, project: Project, added: Iterable[User]) -> None:
    notify(
        recipients=added,
        actor=actor,
        verb="added you to",
        target=project,
        description=f"{actor.display_name} added you to the project {project.name}",
    )


def _notify_manager(*, actor: User, project: Project) -> None:
    notify(
        recipients=[project.manager],
        actor=actor,
        verb="made you the manager of",
        target=project,
        description=f"{actor.display_name} made you the manager of the project {project.name}",
    )


def _set_team(project: Project, team_members: list[User]) -> tuple[bool, list[User]]:
    """Replace the team; return whether it changed and the people who were not on it before."""
    before = set(project.team_members.values_list("pk", flat=True))
    wanted = {member.pk: member for member in team_members}
    if set(wanted) == before:
        return False, []
    project.team_members.set(list(wanted.values()))
    return True, [member for pk, member in wanted.items() if pk not in before]


def _set_activities(project: Project, activities: list[Activity]) -> bool:
    wanted = {activity.pk for activity in activities}
    if wanted == set(project.activities.values_list("pk", flat=True)):
        return False
    project.activities.set(activities)
    return True


# Projects


@transaction.atomic
def create_project(
    *,
    actor: User,
    name: str,
    start_date: date,
    end_date: date,
    manager: User,
    description: str = "",
    status: str = ProjectStatus.PLANNING,
    team_members: Iterable[User] = (),
    activities: Iterable[Activity] = (),
) -> Project:
    """Create a project in the actor's organization (managers and admins)."""
    require(actor, Action.CREATE_PROJECT)
    team_members, activities = list(team_members), list(activities)
    _check_same_organization(actor.organization_id, manager=manager, team_members=team_members, activities=activities)
    _check_newcomers_active(team_members)
    project = Project(
        organization_id=actor.organization_id,
        name=name,
        description=description,
        status=status,
        start_date=start_date,
        end_date=end_date,
        manager=manager,
    )
    _validate(project)
    project.save()
    _, added = _set_team(project, team_members)
    _set_activities(project, activities)
    _notify_manager(actor=actor, project=project)
    _notify_team(actor=actor, project=project, added=added)
    _publish(project)
    return project


@transaction.atomic
def update_project(
    *,
    actor: User,
    project: Project,
    team_members: Iterable[User] | None = None,
    activities: Iterable[Activity] | None = None,
    **fields,
) -> Project:
    """Change a project's fields; `team_members` / `activities` replace the current sets when given.

    Newly added team members are notified; people already on the team are not.
    Nothing changes when any value is refused.
    """
    require(actor, Action.CREATE_PROJECT)
    if project.organization_id != actor.organization_id:
        raise PermissionDenied("That project is not of your organization.")
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    team_members = list(team_members) if team_members is not None else None
    activities = list(activities) if activities is not None else None
    _check_same_organization(
        project.organization_id,
        manager=fields.get("manager"),
        team_members=team_members or (),
        activities=activities or (),
    )
    project = _lock(project)
    if team_members is not None:
        _check_newcomers_active(team_members, project.team_members.values_list("pk", flat=True))
    previous_manager_id = project.manager_id
    changed = [name for name, value in fields.items() if getattr(project, name) != value]
    for name in changed:
        setattr(project, name, fields[name])
    _validate(project)
    if changed:
        project.save()
    team_changed, added = _set_team(project, team_members) if team_members is not None else (False, [])
    activities_changed = activities is not None and _set_activities(project, activities)
    if not (changed or team_changed or activities_changed):
        return project
    if not changed:
        # Only the team or the activities changed: the project still counts as updated.
        project.save(update_fields=["updated_at"])
    if project.manager_id != previous_manager_id:
        _notify_manager(actor=actor, project=project)
    _notify_team(actor=actor, project=project, added=added)
    _publish(project)
    return project


def _check_link(*, actor: User, project: Project, activity: Activity) -> None:
    require(actor, Action.CREATE_PROJECT)
    if project.organization_id != actor.organization_id:
        raise PermissionDenied("That project is not of your organization.")
    _check_same_organization(project.organization_id, activities=[activity])


@transaction.atomic
def add_activity_to_project(*, actor: User, project: Project, activity: Activity) -> Project:
    """Link one activity to the project. Idempotent."""
    _check_link(actor=actor, project=project, activity=activity)
    project = _lock(project)
    if not project.activities.filter(pk=activity.pk).exists():
        project.activities.add(activity)
        project.save(update_fields=["updated_at"])
        _publish(project)
    return project


@transaction.atomic
def remove_activity_from_project(*, actor: User, project: Project, activity: Activity) -> Project:
    """Unlink one activity from the project; the activity itself stays. Idempotent."""
    _check_link(actor=actor, project=project, activity=activity)
    project = _lock(project)
    if project.activities.filter(pk=activity.pk).exists():
        project.activities.remove(activity)
        project.save(update_fields=["updated_at"])
        _publish(project)
    return project
