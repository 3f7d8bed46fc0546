"""Project reads: scoping, filters, progress counts in one query, members' projects and the timeline."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from activities import services as activity_services
from projects import selectors, services

pytestmark = pytest.mark.django_db

PAST = {"starts_in": timedelta(days=-3), "ends_in": timedelta(hours=2)}


@pytest.fixture
def mixed_project(make_project, make_activity):
    """A project with five activities: two completed, one marked overdue, one open past its end, one planned."""
    activities = [
        make_activity("Done 1", status="completed"),
        make_activity("Done 2", status="completed"),
        make_activity("Marked overdue", status="overdue"),
        make_activity("Open past its end", **PAST),
        make_activity("Planned"),
    ]
    return make_project(activities=activities)


def test_it_counts_progress_completed_and_overdue(maria, mixed_project):
    project = selectors.get_project_or_404(user=maria, pk=mixed_project.pk)
    assert (project.activity_count, project.completed_count, project.overdue_count) == (5, 2, 2)
    assert project.progress == 40


def test_it_does_not_count_a_closed_activity_past_its_end_as_overdue(maria, make_project, make_activity):
    project = make_project(
        activities=[
            make_activity("Done", status="completed", **PAST),
            make_activity("Dropped", status="cancelled", **PAST),
        ]
    )
    project = selectors.get_project_or_404(user=maria, pk=project.pk)
    # The cancelled one is out of scope: one of one is done.
    assert (project.activity_count, project.completed_count, project.overdue_count, project.progress) == (1, 1, 0, 100)


def test_it_reports_zero_progress_for_a_project_without_activities(maria, make_project):
    make_project()
    (project,) = selectors.projects_for(user=maria)
    assert (project.activity_count, project.completed_count, project.overdue_count, project.progress) == (0, 0, 0, 0)


def test_it_rounds_progress_down_so_100_means_all_done(maria, make_project, make_activity):
    project = make_project(
        activities=[make_activity(status="completed"), make_activity(status="completed"), make_activity()]
    )
    assert selectors.get_project_or_404(user=maria, pk=project.pk).progress == 66


def test_it_keeps_the_counts_right_with_a_team(maria, bob, carol, alice, mixed_project):
    services.update_project(actor=maria, project=mixed_project, team_members=[bob, carol, alice])
    (project,) = selectors.projects_for(user=maria)
    assert (project.activity_count, project.completed_count, project.overdue_count) == (5, 2, 2)
    assert len(project.team_members.all()) == 3


def test_it_reads_projects_counts_manager_and_team_in_a_fixed_number_of_queries(
    maria, bob, mixed_project, make_project
):
    make_project("Second", team_members=[bob])
    with CaptureQueriesContext(connection) as context:
        projects = list(selectors.projects_for(user=maria))
        for project in projects:
            (project.manager.display_name, project.activity_count, [m.display_name for m in project.team_members.all()])
    assert len(projects) == 2
    # One for the projects with their counts and manager, one for the teams.
    assert len(context.captured_queries) == 2


def test_it_scopes_projects_to_the_users_organization(maria, mallory, make_project):
    project = make_project()
    assert list(selectors.projects_for(user=mallory)) == []
    assert list(selectors.projects_of_member(user=mallory)) == []
    with pytest.raises(Http404):
        selectors.get_project_or_404(user=mallory, pk=project.pk)


def test_it_filters_by_status_and_search(maria, make_project):
    retrofit = make_project("Line 2 retrofit", status="active")
    iso = make_project("ISO 9001 recertification", status="active", description="Audit findings")
    energy = make_project("Energy savings", status="planning")
    assert list(selectors.projects_for(user=maria, status="active")) == [iso, retrofit]
    assert list(selectors.projects_for(user=maria, q="audit")) == [iso]
    assert list(selectors.projects_for(user=maria, q="LINE")) == [retrofit]
    assert list(selectors.projects_for(user=maria, status="planning", q="energy")) == [energy]
    assert list(selectors.projects_for(user=maria, status="completed")) == []


def test_it_lists_the_open_projects_a_member_is_on_or_manages(maria, alice, bob, carol, make_project):
    on_team = make_project("On the team", team_members=[bob, carol], end_date=date(2026, 5, 31))
    managed = make_project("Managed by bob", manager=bob, end_date=date(2026, 4, 30))
    make_project("Finished", team_members=[bob], status="completed")
    make_project("Dropped", team_members=[bob], status="cancelled")
    elsewhere = make_project("Someone else's", manager=alice, team_members=[carol])
    assert list(selectors.projects_of_member(user=bob)) == [managed, on_team]
    assert list(selectors.projects_of_member(user=carol)) == [on_team, elsewhere]
    # maria created them all; she is on none of the teams and manages one open project.
    assert list(selectors.projects_of_member(user=maria)) == [on_team]
    assert selectors.projects_of_member(user=maria)[0].progress == 0


def test_it_lists_a_project_once_for_a_member_who_also_manages_it(bob, make_project):
    project = make_project(manager=bob, team_members=[bob])
    assert list(selectors.projects_of_member(user=bob)) == [project]


def test_it_orders_the_timeline_by_start_time_with_assignees_and_tags(maria, bob, make_project, make_activity, acme):
    tag = activity_services.create_tag(actor=maria, organization=acme, name="Safety")
    later = make_activity("Later", starts_in=timedelta(days=5), assigned_to=bob, tags=[tag])
    sooner = make_activity("Sooner", starts_in=timedelta(days=1))
    late = make_activity("Late", **PAST)
    project = make_project(activities=[later, sooner, late])
    with CaptureQueriesContext(connection) as context:
        timeline = list(selectors.project_timeline(project=project))
        rows = [
            (a.title, a.assigned_to.username if a.assigned_to else None, [t.name for t in a.tags.all()])
            for a in timeline
        ]
    assert rows == [("Late", None, []), ("Sooner", None, []), ("Later", "bob", ["Safety"])]
    assert [a.is_late for a in timeline] == [True, False, False]
    assert len(context.captured_queries) == 2
