"""Project services: create and update, their checks, notifications and broadcasts."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from notifications.models import Notification

from accounts import services as account_services
from nexus.realtime import organization_group
from projects import services
from projects.models import Project

pytestmark = pytest.mark.django_db


def _notified(user) -> list[tuple[str, str]]:
    return list(Notification.objects.filter(recipient=user).values_list("verb", "description"))


def _project_events(broadcasts) -> list[tuple[str, dict]]:
    return [
        (group, event["payload"])
        for group, event in broadcasts
        if event["type"] == "hub.json" and event["payload"].get("type") == "project.changed"
    ]


# Creating


def test_it_creates_a_project_with_its_team_and_activities(acme, maria, bob, carol, make_activity, make_project):
    first, second = make_activity("Install conveyor"), make_activity("Retrofit light curtains")
    project = make_project(
        description="  New conveyor and guards.  ",
        status="active",
        team_members=[bob, carol],
        activities=[first, second],
    )
    project.refresh_from_db()
    assert (project.organization, project.name, project.status, project.manager) == (
        acme,
        "Line 2 retrofit",
        "active",
        maria,
    )
    assert project.description == "New conveyor and guards."
    assert set(project.team_members.all()) == {bob, carol}
    assert set(project.activities.all()) == {first, second}
    assert list(first.projects.all()) == [project]


def test_it_notifies_the_team_it_adds_but_not_the_actor(maria, bob, carol, make_project):
    make_project(team_members=[bob, carol, maria])
    assert _notified(bob) == [("added you to", "Maria added you to the project Line 2 retrofit")]
    assert _notified(carol) == [("added you to", "Maria added you to the project Line 2 retrofit")]
    assert _notified(maria) == []


def test_it_tells_a_manager_chosen_by_someone_else(alice, maria, make_project):
    make_project(actor=alice, manager=maria)
    assert _notified(maria) == [
        ("made you the manager of", "Alice made you the manager of the project Line 2 retrofit")
    ]


def test_it_broadcasts_the_change_to_the_organization_after_commit(
    acme, maria, make_project, broadcasts, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        project = make_project()
    assert _project_events(broadcasts) == [
        (organization_group(acme.pk), {"type": "project.changed", "id": project.pk, "status": "planning"})
    ]


def test_it_refuses_an_end_date_before_the_start_and_saves_nothing(make_project):
    with pytest.raises(ValidationError) as error:
        make_project(start_date=date(2026, 5, 2), end_date=date(2026, 5, 1))
    assert error.value.message_dict == {"end_date": ["The end date must not be before the start date."]}
    assert not Project.objects.exists()


def test_it_accepts_a_project_of_one_day(make_project):
    project = make_project(start_date=date(2026, 5, 2), end_date=date(2026, 5, 2))
    assert project.pk is not None


def test_it_names_every_bad_field_at_once(make_project):
    with pytest.raises(ValidationError) as error:
        make_project(name="   ", status="sleeping", start_date=date(2026, 5, 2), end_date=date(2026, 5, 1))
    assert set(error.value.message_dict) == {"name", "status", "end_date"}
    assert error.value.message_dict["name"] == ["A project needs a name."]
    assert not Project.objects.exists()


@pytest.mark.parametrize("field", ["manager", "team_members", "activities"])
def test_it_refuses_people_or_activities_of_another_organization(
    mallory, globex_activity, make_project, bob, make_activity, field
):
    outsiders = {"manager": mallory, "team_members": [bob, mallory], "activities": [make_activity(), globex_activity]}
    with pytest.raises(ValidationError) as error:
        make_project(**{field: outsiders[field]})
    assert list(error.value.message_dict) == [field]
    assert not Project.objects.exists()
    assert not Notification.objects.filter(verb="added you to").exists()


def test_it_refuses_an_inactive_manager(alice, bob, make_project):
    account_services.set_member_active(actor=alice, member=bob, is_active=False)
    bob.refresh_from_db()
    with pytest.raises(ValidationError) as error:
        make_project(manager=bob)
    assert "manager" in error.value.message_dict
    assert not Project.objects.exists()


@pytest.mark.parametrize("persona", ["bob", "carol"])
def test_it_lets_only_managers_and_admins_create(request, make_project, persona):
    with pytest.raises(PermissionDenied):
        make_project(actor=request.getfixturevalue(persona))
    assert not Project.objects.exists()


def test_it_lets_an_admin_create(alice, make_project):
    assert make_project(actor=alice).pk is not None


# Updating


def test_it_updates_fields_and_replaces_the_team_and_activities(maria, alice, bob, carol, make_activity, make_project):
    kept, dropped, added = make_activity("Kept"), make_activity("Dropped"), make_activity("Added")
    project = make_project(team_members=[bob], activities=[kept, dropped])
    Notification.objects.all().delete()
    updated = services.update_project(
        actor=maria,
        project=project,
        name="Line 2 retrofit, phase 2",
        status="on-hold",
        end_date=date(2026, 9, 30),
        manager=alice,
        team_members=[bob, carol],
        activities=[kept, added],
    )
    project.refresh_from_db()
    assert (project.name, project.status, project.end_date, project.manager) == (
        "Line 2 retrofit, phase 2",
        "on-hold",
        date(2026, 9, 30),
        alice,
    )
    assert updated.name == project.name
    assert set(project.team_members.all()) == {bob, carol}
    assert set(project.activities.all()) == {kept, added}
    # Only the newcomer hears about the team; bob was already on it.
    assert [verb for verb, _ in _notified(carol)] == ["added you to"]
    assert _notified(bob) == []
    assert [verb for verb, _ in _notified(alice)] == ["made you the manager of"]


def test_it_keeps_the_team_and_activities_when_they_are_not_given(maria, bob, make_activity, make_project):
    activity = make_activity()
    project = make_project(team_members=[bob], activities=[activity])
    services.update_project(actor=maria, project=project, description="Now with a description.")
    assert list(project.team_members.all()) == [bob]
    assert list(project.activities.all()) == [activity]


def test_it_changes_nothing_when_one_value_is_refused(maria, bob, carol, mallory, make_project):
    project = make_project(team_members=[bob])
    with pytest.raises(ValidationError) as error:
        services.update_project(
            actor=maria, project=project, name="Renamed", team_members=[carol, mallory], end_date=date(2020, 1, 1)
        )
    assert "team_members" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.update_project(actor=maria, project=project, name="Renamed", end_date=date(2020, 1, 1))
    assert "end_date" in error.value.message_dict
    project.refresh_from_db()
    assert (project.name, project.end_date) == ("Line 2 retrofit", date(2026, 6, 30))
    assert list(project.team_members.all()) == [bob]
    assert _notified(carol) == []


def test_it_refuses_fields_that_cannot_be_changed(maria, make_project, globex):
    project = make_project()
    with pytest.raises(ValidationError, match="organization"):
        services.update_project(actor=maria, project=project, organization=globex)
    project.refresh_from_db()
    assert project.organization_id != globex.pk


@pytest.mark.parametrize("persona", ["bob", "carol"])
def test_it_lets_only_managers_and_admins_update(request, make_project, persona):
    project = make_project()
    with pytest.raises(PermissionDenied):
        services.update_project(actor=request.getfixturevalue(persona), project=project, name="Mine now")
    project.refresh_from_db()
    assert project.name == "Line 2 retrofit"


def test_it_refuses_to_update_another_organizations_project(mallory, make_project):
    project = make_project()
    with pytest.raises(PermissionDenied):
        services.update_project(actor=mallory, project=project, name="Taken over")
    project.refresh_from_db()
    assert project.name == "Line 2 retrofit"


def test_it_broadcasts_nothing_when_nothing_changed(
    maria, bob, make_project, broadcasts, django_capture_on_commit_callbacks
):
    project = make_project(team_members=[bob])
    with django_capture_on_commit_callbacks(execute=True):
        services.update_project(actor=maria, project=project, name="Line 2 retrofit", team_members=[bob])
    assert _project_events(broadcasts) == []
    with django_capture_on_commit_callbacks(execute=True):
        services.update_project(actor=maria, project=project, status="active")
    assert [payload["status"] for _, payload in _project_events(broadcasts)] == ["active"]


# Linking single activities


def test_it_adds_and_removes_one_activity(maria, make_activity, make_project):
    project = make_project()
    activity = make_activity()
    services.add_activity_to_project(actor=maria, project=project, activity=activity)
    services.add_activity_to_project(actor=maria, project=project, activity=activity)
    assert list(project.activities.all()) == [activity]
    services.remove_activity_from_project(actor=maria, project=project, activity=activity)
    assert list(project.activities.all()) == []
    activity.refresh_from_db()  # The activity itself stays.


def test_it_refuses_to_link_another_organizations_activity(maria, bob, globex_activity, make_activity, make_project):
    project = make_project()
    with pytest.raises(ValidationError) as error:
        services.add_activity_to_project(actor=maria, project=project, activity=globex_activity)
    assert "activities" in error.value.message_dict
    with pytest.raises(PermissionDenied):
        services.add_activity_to_project(actor=bob, project=project, activity=make_activity())
    assert list(project.activities.all()) == []


def test_it_adds_only_active_people_but_keeps_someone_deactivated_later(alice, maria, bob, carol, make_project):
    project = make_project(team_members=[bob])
    account_services.set_member_active(actor=alice, member=bob, is_active=False)
    account_services.set_member_active(actor=alice, member=carol, is_active=False)
    bob.refresh_from_db()
    carol.refresh_from_db()
    with pytest.raises(ValidationError) as error:
        services.update_project(actor=maria, project=project, team_members=[bob, carol])
    assert error.value.message_dict == {"team_members": ["These people are deactivated: Carol."]}
    services.update_project(actor=maria, project=project, name="Still with bob", team_members=[bob])
    assert list(project.team_members.all()) == [bob]
    with pytest.raises(ValidationError):
        make_project("New", team_members=[bob])
