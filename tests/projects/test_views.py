"""The project pages: list (with its htmx partial), detail, create and edit."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import services as account_services
from projects import services
from projects.models import Project

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def _form_data(**overrides) -> dict:
    data = {
        "name": "ISO 9001 recertification",
        "description": "Close the audit findings.",
        "status": "active",
        "start_date": "2026-04-01",
        "end_date": "2026-06-30",
    }
    data.update(overrides)
    return data


# Anonymous visitors


@pytest.mark.parametrize(("name", "args"), [("list", []), ("create", []), ("detail", [1]), ("edit", [1])])
def test_it_sends_anonymous_visitors_to_the_login_page(client, name, args):
    url = reverse(f"projects:{name}", args=args)
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == f"{reverse('account_login')}?next={url}"


# The list


def test_it_lists_projects_with_status_manager_dates_progress_overdue_and_team(
    client_for, carol, bob, make_project, make_activity
):
    make_project(
        status="active",
        team_members=[bob, carol],
        activities=[
            make_activity("Done", status="completed"),
            make_activity("Late", starts_in=timedelta(days=-2), ends_in=timedelta(hours=1)),
            make_activity("Planned"),
        ],
    )
    response = client_for(carol).get(reverse("projects:list"))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Line 2 retrofit" in content
    assert "Active" in content
    assert "Maria" in content
    assert '<time datetime="2026-03-01"' in content and '<time datetime="2026-06-30"' in content
    assert "1/3 done · 33%" in content
    assert 'data-testid="project-overdue">1<' in content
    assert "2 people" in content
    # Staff may look but not create.
    assert reverse("projects:create") not in content


def test_it_shows_the_new_project_button_to_managers(client_for, maria):
    assert reverse("projects:create") in client_for(maria).get(reverse("projects:list")).content.decode()


def test_it_filters_by_status_and_search(client_for, carol, make_project):
    make_project("Line 2 retrofit", status="active")
    make_project("ISO 9001 recertification", status="active")
    make_project("Energy savings", status="planning")
    client = client_for(carol)
    names = lambda response: [p.name for p in response.context["projects"]]  # noqa: E731
    assert names(client.get(reverse("projects:list"), {"status": "active"})) == [
        "ISO 9001 recertification",
        "Line 2 retrofit",
    ]
    assert names(client.get(reverse("projects:list"), {"q": "energy"})) == ["Energy savings"]
    assert names(client.get(reverse("projects:list"), {"status": "active", "q": "iso"})) == ["ISO 9001 recertification"]


def test_it_reports_an_unknown_status_filter_and_ignores_it(client_for, carol, make_project):
    make_project()
    response = client_for(carol).get(reverse("projects:list"), {"status": "sleeping"})
    assert response.status_code == 200
    assert len(response.context["projects"]) == 1
    assert "sleeping is not one of the available choices" in response.content.decode()


def test_it_answers_htmx_with_the_results_partial_only(client_for, carol, make_project):
    make_project()
    client = client_for(carol)
    full = client.get(reverse("projects:list")).content.decode()
    partial = client.get(reverse("projects:list"), {"q": "line"}, headers=HTMX).content.decode()
    assert "<html" in full and 'id="results"' in full and 'data-testid="project-filters"' in full
    assert "<html" not in partial and 'data-testid="project-filters"' not in partial
    assert partial.lstrip().startswith('<div id="results"')
    assert "Line 2 retrofit" in partial


def test_it_lets_the_filter_form_work_with_and_without_javascript(client_for, carol):
    content = client_for(carol).get(reverse("projects:list")).content.decode()
    assert 'method="get" action="/projects/" hx-get="/projects/" hx-target="#results"' in content
    assert 'hx-push-url="true"' in content


def _add_projects(make_project, make_activity, people, count: int, start: int) -> None:
    for number in range(start, start + count):
        activities = [make_activity(f"Work {number}", status="completed" if number % 2 else "")]
        make_project(f"Project {number:03d}", team_members=people[: number % 3 + 1], activities=activities)


def _queries_for(client, url, **kwargs) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url, **kwargs)
    assert response.status_code == 200
    return len(context.captured_queries)


@pytest.mark.parametrize("headers", [{}, HTMX])
def test_it_uses_a_constant_number_of_queries_for_any_number_of_projects(
    client_for, carol, maria, bob, alice, make_project, make_activity, headers
):
    client = client_for(carol)
    url = reverse("projects:list")
    client.get(url, headers=headers)  # Warm up whatever is loaded once per process.
    people = [bob, carol, alice]
    _add_projects(make_project, make_activity, people, 3, start=1)
    with_three = _queries_for(client, url, headers=headers)
    _add_projects(make_project, make_activity, people, 27, start=4)
    with_thirty = _queries_for(client, url, headers=headers)
    assert Project.objects.count() == 30
    assert with_thirty == with_three
    assert with_three <= 10
    response = client.get(url, headers=headers)
    assert len(response.context["projects"]) == 30
    assert "Project 030" in response.content.decode()


def test_it_pages_long_lists_keeping_the_filters(client_for, carol, make_project, settings):
    for number in range(52):
        make_project(f"Project {number:03d}", status="active")
    client = client_for(carol)
    first = client.get(reverse("projects:list"), {"status": "active"})
    assert len(first.context["projects"]) == 50
    html = first.content.decode()
    # {% querystring %} writes its own "?": a pager that adds another links to "??status=...".
    assert 'href="?status=active&amp;page=2"' in html
    assert 'hx-get="?status=active&amp;page=2"' in html
    assert "??" not in html
    second = client.get(reverse("projects:list"), {"status": "active", "page": 2})
    assert [p.name for p in second.context["projects"]] == ["Project 001", "Project 000"]


# The detail page


def test_it_shows_a_project_with_its_team_progress_and_timeline(client_for, carol, bob, make_project, make_activity):
    later = make_activity("Retrofit light curtains", starts_in=timedelta(days=4), assigned_to=bob)
    sooner = make_activity("Install conveyor", starts_in=timedelta(days=1), status="completed")
    late = make_activity("Order guards", starts_in=timedelta(days=-3), ends_in=timedelta(hours=1))
    project = make_project(
        description="New conveyor and guards.", team_members=[bob, carol], activities=[later, sooner, late]
    )
    response = client_for(carol).get(reverse("projects:detail", args=[project.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    assert "New conveyor and guards." in content
    assert "Planning" in content
    assert 'title="Sun 1 Mar 2026"' in content and 'title="Tue 30 Jun 2026"' in content
    assert "Maria" in content and "Bob" in content and "Carol" in content
    assert "1/3 done · 33%" in content
    assert "1 overdue" in content
    assert [a.title for a in response.context["timeline"]] == [
        "Order guards",
        "Install conveyor",
        "Retrofit light curtains",
    ]
    for activity in (later, sooner, late):
        assert f'href="{reverse("activities:detail", args=[activity.pk])}"' in content
    assert content.index("Order guards") < content.index("Install conveyor") < content.index("Retrofit light curtains")
    assert reverse("projects:edit", args=[project.pk]) not in content


def test_it_links_the_edit_page_for_managers(client_for, maria, make_project):
    project = make_project()
    content = client_for(maria).get(reverse("projects:detail", args=[project.pk])).content.decode()
    assert reverse("projects:edit", args=[project.pk]) in content


@pytest.mark.parametrize("name", ["detail", "edit"])
def test_it_answers_404_for_another_organizations_project(client_for, mallory, make_project, name):
    project = make_project()
    assert client_for(mallory).get(reverse(f"projects:{name}", args=[project.pk])).status_code == 404
    response = client_for(mallory).post(reverse("projects:edit", args=[project.pk]), _form_data(manager=1))
    assert response.status_code == 404
    project.refresh_from_db()
    assert project.name == "Line 2 retrofit"


def test_it_answers_404_for_an_unknown_project(client_for, carol):
    assert client_for(carol).get(reverse("projects:detail", args=[999999])).status_code == 404


def test_it_does_not_list_another_organizations_projects(client_for, mallory, make_project):
    make_project()
    response = client_for(mallory).get(reverse("projects:list"))
    assert response.status_code == 200
    assert list(response.context["projects"]) == []
    assert "Line 2 retrofit" not in response.content.decode()


# Create and edit


@pytest.mark.parametrize("persona", ["bob", "carol"])
def test_it_forbids_the_create_and_edit_pages_to_technicians_and_staff(request, client_for, make_project, persona):
    project = make_project()
    client = client_for(request.getfixturevalue(persona))
    assert client.get(reverse("projects:create")).status_code == 403
    assert client.post(reverse("projects:create"), _form_data(manager=project.manager_id)).status_code == 403
    assert client.get(reverse("projects:edit", args=[project.pk])).status_code == 403
    response = client.post(reverse("projects:edit", args=[project.pk]), _form_data(manager=project.manager_id))
    assert response.status_code == 403
    assert Project.objects.count() == 1
    project.refresh_from_db()
    assert project.name == "Line 2 retrofit"


def test_it_offers_only_the_organizations_people_and_activities(
    client_for, maria, bob, mallory, globex_activity, make_activity
):
    own = make_activity("Our work")
    form = client_for(maria).get(reverse("projects:create")).context["form"]
    assert bob in form.fields["manager"].queryset and mallory not in form.fields["manager"].queryset
    assert bob in form.fields["team_members"].queryset and mallory not in form.fields["team_members"].queryset
    assert list(form.fields["activities"].queryset) == [own]
    assert form["manager"].value() == maria.pk
    content = client_for(maria).get(reverse("projects:create")).content.decode()
    assert 'type="date" name="start_date"' in content
    assert "Globex secret work" not in content


def test_it_creates_a_project_and_shows_it(client_for, maria, bob, carol, make_activity):
    activity = make_activity("Install conveyor")
    response = client_for(maria).post(
        reverse("projects:create"),
        _form_data(manager=maria.pk, team_members=[bob.pk, carol.pk], activities=[activity.pk]),
    )
    project = Project.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("projects:detail", args=[project.pk])
    assert (project.name, project.status, project.start_date) == (
        "ISO 9001 recertification",
        "active",
        date(2026, 4, 1),
    )
    assert set(project.team_members.all()) == {bob, carol}
    assert list(project.activities.all()) == [activity]
    assert bob.notifications.filter(verb="added you to").count() == 1


def test_it_shows_form_errors_and_saves_nothing(client_for, maria):
    response = client_for(maria).post(
        reverse("projects:create"), _form_data(manager=maria.pk, end_date="2026-03-01", name="")
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["end_date"] == ["The end date must not be before the start date."]
    assert "name" in form.errors
    content = response.content.decode()
    assert "The end date must not be before the start date." in content
    assert 'class="errorlist' in content
    assert not Project.objects.exists()


def test_it_refuses_a_manager_of_another_organization_in_the_form(client_for, maria, mallory):
    response = client_for(maria).post(reverse("projects:create"), _form_data(manager=mallory.pk))
    assert response.status_code == 200
    assert "manager" in response.context["form"].errors
    assert not Project.objects.exists()


def test_it_edits_a_project(client_for, alice, maria, bob, make_project, make_activity):
    project = make_project(team_members=[bob])
    activity = make_activity()
    url = reverse("projects:edit", args=[project.pk])
    client = client_for(alice)
    form = client.get(url).context["form"]
    assert form["name"].value() == "Line 2 retrofit"
    assert list(form["team_members"].value()) == [bob.pk]
    response = client.post(
        url,
        _form_data(name="Line 2 retrofit, phase 2", manager=maria.pk, team_members=[bob.pk], activities=[activity.pk]),
    )
    assert response.status_code == 302
    assert response.url == reverse("projects:detail", args=[project.pk])
    project.refresh_from_db()
    assert (project.name, project.status, project.end_date) == ("Line 2 retrofit, phase 2", "active", date(2026, 6, 30))
    assert list(project.activities.all()) == [activity]


def test_it_keeps_the_saved_name_in_the_heading_while_showing_errors(client_for, maria, make_project):
    project = make_project()
    response = client_for(maria).post(
        reverse("projects:edit", args=[project.pk]), _form_data(name="Renamed", manager=maria.pk, end_date="2020-01-01")
    )
    assert response.status_code == 200
    assert "Edit “Line 2 retrofit”" in response.content.decode()
    project.refresh_from_db()
    assert project.name == "Line 2 retrofit"


def test_it_shows_the_detail_page_in_a_constant_number_of_queries(
    client_for, carol, alice, bob, make_project, make_activity
):
    project = make_project(team_members=[carol], activities=[make_activity("First")])
    client = client_for(carol)
    url = reverse("projects:detail", args=[project.pk])
    client.get(url)  # Warm up whatever is loaded once per process.
    small = _queries_for(client, url)
    more = [make_activity(f"Work {number}", assigned_to=bob) for number in range(8)]
    services.update_project(actor=alice, project=project, team_members=[carol, bob, alice], activities=more)
    assert _queries_for(client, url) == small


def test_it_keeps_a_deactivated_team_member_selectable_on_the_edit_page(client_for, alice, maria, bob, make_project):
    project = make_project(team_members=[bob])
    account_services.set_member_active(actor=alice, member=bob, is_active=False)
    form = client_for(maria).get(reverse("projects:edit", args=[project.pk])).context["form"]
    assert bob in form.fields["team_members"].queryset
    assert bob not in form.fields["manager"].queryset
    assert list(form["team_members"].value()) == [bob.pk]
