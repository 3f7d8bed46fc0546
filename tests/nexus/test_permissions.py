"""The role table: who may do what, and nobody outside an organization."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from nexus.permissions import ROLE_ACTIONS, Action, Role, actions_for, can, require

pytestmark = pytest.mark.django_db


def test_it_gives_admins_every_action(alice):
    assert all(can(alice, action) for action in Action)


def test_it_lets_managers_broadcast_and_assign_but_not_administer(maria):
    assert can(maria, Action.BROADCAST_UPDATE)
    assert can(maria, Action.ASSIGN_WORK)
    assert can(maria, Action.VIEW_REPORTS)
    assert not can(maria, Action.MANAGE_USERS)
    assert not can(maria, Action.INVITE_USERS)


def test_it_lets_technicians_claim_and_resolve_but_not_broadcast(bob):
    assert can(bob, Action.CLAIM_MAINTENANCE)
    assert can(bob, Action.RESOLVE_FAULT)
    assert not can(bob, Action.BROADCAST_UPDATE)
    assert not can(bob, Action.CREATE_MACHINE)


def test_it_lets_staff_chat_report_faults_and_enter_production_only(carol):
    assert actions_for(carol) == {
        Action.CHAT,
        Action.USE_API,
        Action.VIEW_ACTIVITIES,
        Action.REPORT_FAULT,
        Action.ENTER_PRODUCTION,
    }
    with pytest.raises(PermissionDenied, match="may not claim maintenance"):
        require(carol, Action.CLAIM_MAINTENANCE)


def test_it_allows_nothing_to_anonymous_or_inactive_users(carol):
    assert not can(AnonymousUser(), Action.CHAT)
    assert actions_for(AnonymousUser()) == frozenset()
    carol.is_active = False
    assert not can(carol, Action.CHAT)


def test_it_allows_nothing_for_an_unknown_role(carol):
    carol.role = "superhero"
    assert not can(carol, Action.CHAT)


def test_it_orders_roles_by_power():
    staff, technician, manager, admin = (
        ROLE_ACTIONS[role] for role in (Role.STAFF, Role.TECHNICIAN, Role.MANAGER, Role.ADMIN)
    )
    assert staff < technician < manager < admin
