"""The one place that answers "may this user do X".

Views, the JSON API and WebSocket consumers all ask `can()` (or `require()`),
so a role's powers are read off the table below and nowhere else. Object-level
rules (e.g. "only the author edits a message") live beside the action in the
owning service and call `can()` for the role part.
"""

from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Administrator"
    MANAGER = "manager", "Manager"
    TECHNICIAN = "technician", "Technician"
    STAFF = "staff", "Staff"


class Action(StrEnum):
    # Organization administration
    MANAGE_ORGANIZATION = "manage_organization"
    MANAGE_USERS = "manage_users"
    INVITE_USERS = "invite_users"
    RUN_POPULATE = "run_populate"
    # Coordination
    CHAT = "chat"
    USE_API = "use_api"
    VIEW_ACTIVITIES = "view_activities"
    CREATE_ACTIVITY = "create_activity"
    ASSIGN_WORK = "assign_work"
    MANAGE_TAGS = "manage_tags"
    CREATE_PROJECT = "create_project"
    BROADCAST_UPDATE = "broadcast_update"
    # The floor
    CREATE_MACHINE = "create_machine"
    CLAIM_MAINTENANCE = "claim_maintenance"
    REPORT_FAULT = "report_fault"
    RESOLVE_FAULT = "resolve_fault"
    ENTER_PRODUCTION = "enter_production"
    VIEW_REPORTS = "view_reports"


_EVERYONE = {
    Action.CHAT,
    Action.USE_API,
    Action.VIEW_ACTIVITIES,
    Action.REPORT_FAULT,
    Action.ENTER_PRODUCTION,
}
_TECHNICIAN = _EVERYONE | {Action.CLAIM_MAINTENANCE, Action.RESOLVE_FAULT}
_MANAGER = _TECHNICIAN | {
    Action.CREATE_ACTIVITY,
    Action.ASSIGN_WORK,
    Action.MANAGE_TAGS,
    Action.CREATE_PROJECT,
    Action.BROADCAST_UPDATE,
    Action.CREATE_MACHINE,
    Action.VIEW_REPORTS,
}
_ADMIN = set(Action)

ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    Role.STAFF: frozenset(_EVERYONE),
    Role.TECHNICIAN: frozenset(_TECHNICIAN),
    Role.MANAGER: frozenset(_MANAGER),
    Role.ADMIN: frozenset(_ADMIN),
}


def can(user, action: Action) -> bool:
    """True when `user` is an active member of an organization whose role allows `action`."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if getattr(user, "organization_id", None) is None:
        return False
    return Action(action) in ROLE_ACTIONS.get(user.role, frozenset())


def require(user, action: Action) -> None:
    """Raise PermissionDenied unless `can(user, action)`."""
    if not can(user, action):
        raise PermissionDenied(f"Your role may not {Action(action).value.replace('_', ' ')}.")


def actions_for(user) -> frozenset[Action]:
    """Everything `user` may do; templates use it to hide what they cannot."""
    if not can(user, Action.CHAT):
        return frozenset()
    return ROLE_ACTIONS.get(user.role, frozenset())
