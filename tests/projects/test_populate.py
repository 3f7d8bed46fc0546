"""The demo projects: `populate_projects`, run after the people and their activities exist."""

import io

import pytest
from django.core.management import CommandError, call_command
from notifications.models import Notification

from accounts.models import Organization
from projects.models import Project, ProjectStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_data(settings):
    # A fast hasher: the demo people are created with real passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    quiet = {"stdout": io.StringIO(), "stderr": io.StringIO()}
    call_command("populate_users", **quiet)
    call_command("populate_activities", count=30, **quiet)


def _populate() -> str:
    out = io.StringIO()
    call_command("populate_projects", seed=1, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _snapshot() -> list:
    return [
        (
            project.pk,
            project.organization.slug,
            project.name,
            project.status,
            project.start_date,
            project.end_date,
            project.manager.username,
            sorted(project.team_members.values_list("username", flat=True)),
            sorted(project.activities.values_list("pk", flat=True)),
            project.updated_at,
        )
        for project in Project.objects.order_by("pk")
    ]


def test_it_changes_nothing_when_run_twice(demo_data):
    first_output = _populate()
    first = _snapshot()
    notifications = Notification.objects.count()
    second_output = _populate()
    assert _snapshot() == first
    assert Notification.objects.count() == notifications
    assert len(first) == 4
    assert "4 projects created, 0 already there" in first_output
    assert "created project Line 2 retrofit" in first_output
    assert "0 projects created, 4 already there" in second_output
    assert "created project" not in second_output


def test_it_creates_the_demo_projects_in_acme_with_maria_and_the_team(demo_data):
    _populate()
    acme = Organization.objects.get(slug="acme")
    projects = {project.name: project for project in Project.objects.all()}
    assert set(projects) == {
        "Line 2 retrofit",
        "ISO 9001 recertification",
        "Energy savings programme",
        "Operator skills matrix",
    }
    assert {project.organization for project in projects.values()} == {acme}
    assert {project.manager.username for project in projects.values()} == {"maria"}
    retrofit = projects["Line 2 retrofit"]
    assert retrofit.status == ProjectStatus.ACTIVE
    assert sorted(retrofit.team_members.values_list("username", flat=True)) == ["sam", "tina", "tom"]
    assert retrofit.start_date < retrofit.end_date
    # Activities of Acme, each in one demo project, chosen by type.
    linked = [pk for project in projects.values() for pk in project.activities.values_list("pk", flat=True)]
    assert len(linked) == len(set(linked)) > 0
    assert set(retrofit.activities.values_list("type", flat=True)) <= {"Projects", "Engineering", "Maintenance"}
    assert set(retrofit.activities.values_list("organization__slug", flat=True)) == {"acme"}
    # The team heard about it, through the service.
    assert Notification.objects.filter(recipient__username="tom", verb="added you to").count() == 2


def test_it_links_the_same_activities_in_a_fresh_run(demo_data):
    _populate()
    first = {p.name: sorted(p.activities.values_list("title", flat=True)) for p in Project.objects.all()}
    Project.objects.all().delete()
    _populate()
    assert {p.name: sorted(p.activities.values_list("title", flat=True)) for p in Project.objects.all()} == first


def test_it_asks_for_the_demo_people_first(db):
    with pytest.raises(CommandError, match="populate_users"):
        _populate()
